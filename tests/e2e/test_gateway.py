"""The gateway end to end: fake Bot API server, real gateway process, real Rasa."""

from __future__ import annotations

import asyncio
import json
import re

import httpx
import pytest

from catalogue import default_catalogue
from tests.e2e import fake_telegram as tg
from tests.e2e.conftest import TOKEN, Gateway
from tests.e2e.fake_telegram import FakeTelegram

pytestmark = pytest.mark.e2e
CAT = default_catalogue()


def texts(messages: list[dict]) -> list[str]:
    return [m["text"] for m in messages]


def button_rows(message: dict) -> list[list[dict]]:
    return message.get("reply_markup", {}).get("inline_keyboard", [])


async def test_start_greets_in_the_hinted_language_with_picker_and_menu(
    telegram: FakeTelegram, gateway: Gateway
) -> None:
    await telegram.push(tg.text(101, "/start", language="ar"))
    welcome, picker, menu = await telegram.wait_sent(101, 3)
    assert welcome["text"] == CAT.text("utter_welcome", "ar")
    titles = [b["text"] for row in button_rows(picker) for b in row]
    assert "العربية" in titles and "English" in titles
    menu_buttons = [b for row in button_rows(menu) for b in row]
    assert {
        "text": CAT.text("button.person", "ar"),
        "callback_data": "/talk_to_human",
    } in menu_buttons


async def test_a_button_press_is_acknowledged_and_switches_language(
    telegram: FakeTelegram, gateway: Gateway
) -> None:
    await telegram.push(tg.text(102, "hello", language="en"))
    await telegram.wait_sent(102, 1)
    await telegram.push(tg.button(102, '/choose_language{"language":"ar"}'))
    sent = await telegram.wait_sent(102, 3)
    assert telegram.called("answerCallbackQuery")
    assert sent[1]["text"] == CAT.text("utter_language_set", "ar")
    await telegram.push(tg.text(102, "thanks"))
    sent = await telegram.wait_sent(102, 4)
    assert sent[3]["text"] == CAT.text("utter_thank", "ar"), "choice sticks over the hint"


@pytest.mark.parametrize(
    "kind", ["sticker", "photo", "voice", "video", "document", "location", "contact"]
)
async def test_non_text_gets_a_kind_answer_in_the_childs_language(
    telegram: FakeTelegram, gateway: Gateway, kind: str
) -> None:
    await telegram.push(tg.attachment(103, kind, language="ar"))
    (reply,) = await telegram.wait_sent(103, 1)
    assert reply["text"] == CAT.text("utter_unsupported_input", "ar")


async def test_unknown_command_and_unknown_button(telegram: FakeTelegram, gateway: Gateway) -> None:
    await telegram.push(tg.text(104, "/teleport now"))
    (reply,) = await telegram.wait_sent(104, 1)
    assert reply["text"] == CAT.text("utter_unknown_command", "en")
    await telegram.push(tg.button(104, "not-a-payload"))
    sent = await telegram.wait_sent(104, 2)
    assert sent[1]["text"] == CAT.text("utter_help", "en")
    assert len(telegram.called("answerCallbackQuery")) == 1


async def test_a_blank_message_gets_a_kind_answer_and_holds_nothing_up(
    telegram: FakeTelegram, gateway: Gateway
) -> None:
    # spaces Telegram keeps (no-break, ideographic) but Python and Rasa strip: an empty text
    await telegram.push(tg.text(110, "\u00a0\u3000", language="fr"))
    (reply,) = await telegram.wait_sent(110, 1)
    assert reply["text"] == CAT.text("utter_unsupported_input", "fr")
    await telegram.push(tg.text(110, "bonjour"))
    sent = await telegram.wait_sent(110, 2)
    assert sent[1]["text"] == CAT.text("utter_greet", "fr")


async def test_long_and_edited_messages_are_answered(
    telegram: FakeTelegram, gateway: Gateway
) -> None:
    await telegram.push(tg.text(105, ("where can i sleep tonight " * 200)[:4000]))
    await telegram.wait_sent(105, 1)
    await telegram.push(tg.edited(105, "hello"))
    sent = await telegram.wait_sent(105, 2)
    assert sent[1]["text"] == CAT.text("utter_greet", "en")


async def test_a_flood_is_answered_completely_and_in_order(
    telegram: FakeTelegram, gateway: Gateway
) -> None:
    words = ["hello", "bye", "thanks"] * 8
    for word in words:
        await telegram.push(tg.text(106, word))
    sent = await telegram.wait_sent(106, len(words), timeout=90)
    expected = {"hello": "utter_greet", "bye": "utter_goodbye", "thanks": "utter_thank"}
    assert texts(sent) == [CAT.text(expected[w], "en") for w in words]


async def test_leaves_foreign_groups_but_stays_in_the_helpline_group(
    telegram: FakeTelegram, gateway: Gateway
) -> None:
    await telegram.push(tg.added_to_group(-555))
    await telegram.wait_for(lambda: telegram.called("leaveChat"))
    assert [int(p["chat_id"]) for p in telegram.called("leaveChat")] == [-555]
    assert telegram.sent(-555)[0]["text"] == CAT.text("gateway.leave_group", "en")
    await telegram.push(tg.group_text(-100999, "hello staff"))
    await telegram.push(tg.text(107, "hello"))
    await telegram.wait_sent(107, 1)
    assert [int(p["chat_id"]) for p in telegram.called("leaveChat")] == [-555]
    assert telegram.sent(-100999) == []


async def test_a_429_from_telegram_is_waited_out(telegram: FakeTelegram, gateway: Gateway) -> None:
    telegram.fail("sendMessage", status=429, retry_after=1, times=1)
    await telegram.push(tg.text(108, "hello"))
    (reply,) = await telegram.wait_sent(108, 1)
    assert reply["text"] == CAT.text("utter_greet", "en")
    attempts = [c for c in telegram.calls if c.method == "sendMessage"]
    assert attempts[-1].at - attempts[0].at >= 0.9, "retry_after was honoured"


async def test_logs_carry_no_message_text_token_or_chat_id(
    telegram: FakeTelegram, gateway: Gateway
) -> None:
    await telegram.push(tg.text(987654321, "my secret question about asylum"))
    await telegram.wait_sent(987654321, 2, notices=True)  # the answer, then the privacy notice
    gateway.stop()
    logs = gateway.logs()
    assert "secret question" not in logs
    assert TOKEN.split(":")[1] not in logs
    assert "987654321" not in logs
    events = [json.loads(line)["event"] for line in logs.splitlines() if line.startswith("{")]
    assert "reply.sent" in events


async def test_a_telegram_5xx_on_send_is_retried(telegram: FakeTelegram, gateway: Gateway) -> None:
    telegram.fail("sendMessage", status=502, retry_after=None, times=2)
    await telegram.push(tg.text(109, "hello"))
    (reply,) = await telegram.wait_sent(109, 1)
    assert reply["text"] == CAT.text("utter_greet", "en")


async def test_health_readiness_and_metrics_without_who_or_what(
    telegram: FakeTelegram, gateway: Gateway
) -> None:
    await telegram.push(tg.text(131, "where can i sleep tonight"))
    await telegram.wait_sent(131, 1)
    base = f"http://127.0.0.1:{gateway.env['WEBHOOK_PORT']}"
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{base}/healthz")).status_code == 200
        assert (await client.get(f"{base}/readyz")).status_code == 200
        for _ in range(50):  # the handled-update timing lands just after the reply
            metrics = (await client.get(f"{base}/metrics")).text
            if "lantern_update_seconds_count 1.0" in metrics:
                break
            await asyncio.sleep(0.1)
    assert 'lantern_updates_in_total{kind="message"} 1.0' in metrics
    assert "lantern_update_seconds_count 1.0" in metrics
    assert "lantern_queue_wait_seconds_count 1.0" in metrics
    sent = re.search(r"^lantern_messages_out_total (\S+)$", metrics, re.MULTILINE)
    assert sent is not None and float(sent.group(1)) >= 1
    assert "lantern_open_handoffs 0.0" in metrics
    assert "chat=" not in metrics and "sleep" not in metrics  # no one, nothing said
