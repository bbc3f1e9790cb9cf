"""Danger wins: the emergency card first, in the child's language, then an urgent ticket."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

import pytest

from catalogue import default_catalogue
from catalogue.content import default_content
from tests.e2e import fake_telegram as tg
from tests.e2e.conftest import Gateway, RasaStack
from tests.e2e.fake_telegram import FakeTelegram

pytestmark = pytest.mark.e2e
CAT = default_catalogue()
CONTENT = default_content()
GROUP = -100999


def card(topic: str, language: str) -> str:
    answer = CONTENT.answer(topic, language, None)
    assert answer is not None
    return str(CONTENT.messages(answer, CAT)[0]["text"])


@pytest.mark.parametrize(
    ("chat", "language", "text", "topic"),
    [
        (8001, "ti", "ሰላም፣ ፓስፖርተይ ወሲዶም ክወጽእ ኣይፍቀደለይን", "emergency"),
        (8002, "ps", "زه په خطر کې یم مرسته", "emergency"),
        (8003, "ar", "بدي موت ما في أمل", "feeling_distress"),
    ],
)
async def test_danger_gets_the_card_first_then_an_urgent_ticket(
    telegram: FakeTelegram, gateway: Gateway, chat: int, language: str, text: str, topic: str
) -> None:
    await telegram.push(tg.text(chat, text, language=None))
    sent = await telegram.wait_sent(chat, 3)
    assert sent[0]["text"] == card(topic, language)
    assert all(str(m.get("protect_content")).lower() == "true" for m in sent[:3])
    assert sent[1]["text"] == CAT.text("utter_handoff_requested", language)
    await telegram.wait_for(lambda: bool(telegram.called("pinChatMessage")))
    title = telegram.called("createForumTopic")[-1]["name"]
    assert title.endswith("URGENT") and f"· {language} ·" in title


async def test_out_of_hours_danger_still_opens_an_urgent_ticket_without_repeating_the_card(
    telegram: FakeTelegram, rasa_stack: RasaStack, gateway_factory: Callable[..., Gateway]
) -> None:
    chat = 8004
    tomorrow = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1)).strftime("%a")
    gateway_factory(
        telegram.url, rasa_stack.url, HELPLINE_HOURS=f"{tomorrow} 09:00-17:00 UTC"
    ).start()
    await telegram.push(tg.text(chat, "they took my passport and i cannot leave"))
    sent = await telegram.wait_sent(chat, 3)
    assert sent[0]["text"] == card("emergency", "en")
    assert sent[2]["text"].startswith(
        CAT.text("handoff.closed_now", "en", {"opens": "|"}).split("|")[0]
    )
    await telegram.wait_for(lambda: bool(telegram.called("pinChatMessage")))
    await asyncio.sleep(1)
    assert len(telegram.sent(chat)) == 3


async def test_a_message_that_sounds_somewhat_like_danger_asks_once_if_the_child_is_safe(
    telegram: FakeTelegram, gateway: Gateway
) -> None:
    chat = 8005
    await telegram.push(tg.text(chat, "i do not like the staff at the shelter"))
    sent = await telegram.wait_sent(chat, 2)
    assert sent[0]["text"] == CAT.text("utter_safety_check", "en")
    buttons = [
        b["callback_data"] for row in sent[0]["reply_markup"]["inline_keyboard"] for b in row
    ]
    assert buttons == ["/emergency", "/talk_to_human"]
    # the question the child asked is still answered, after the check
    assert all(m["text"] != card("emergency", "en") for m in sent)
    before = len(telegram.sent(chat))
    await telegram.push(tg.text(chat, "i do not like the staff at the shelter"))
    await telegram.wait_for(lambda: len(telegram.sent(chat)) > before)
    await asyncio.sleep(1)
    again = telegram.sent(chat)[before:]
    assert all(m["text"] != CAT.text("utter_safety_check", "en") for m in again)
    # 🆘 is danger: the card first, then a person
    await telegram.push(tg.button(chat, "/emergency"))
    await telegram.wait_for(
        lambda: any(m["text"] == card("emergency", "en") for m in telegram.sent(chat))
    )
    await telegram.wait_for(lambda: bool(telegram.called("pinChatMessage")))
