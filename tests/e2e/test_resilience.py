"""Failure paths end to end: Rasa down, odd replies, restarts, webhook checks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from catalogue import default_catalogue
from tests.e2e import fake_telegram as tg
from tests.e2e.conftest import (
    RASA_TOKEN,
    TOKEN,
    Gateway,
    StubRasa,
    free_port,
    rasa_with_failing_actions,
    reply_text,
    start_actions,
    start_rasa,
    status,
    stop,
    tracker_of,
    wait_http,
    write_endpoints,
)
from tests.e2e.fake_telegram import FakeTelegram

pytestmark = pytest.mark.e2e
CAT = default_catalogue()


async def test_rasa_down_gets_one_moment_then_the_answer(
    telegram: FakeTelegram, stub_rasa: StubRasa, gateway_factory: Callable[..., Gateway]
) -> None:
    stub_rasa.script = [status(503), status(503), reply_text("answer")]
    gateway_factory(telegram.url, stub_rasa.url).start()
    await telegram.push(tg.text(201, "hello", language="ar"))
    sent = await telegram.wait_sent(201, 2)
    assert [m["text"] for m in sent] == [CAT.text("gateway.one_moment", "ar"), "answer"]
    assert [r["replay"] for r in stub_rasa.requests] == [False, True, True]
    assert len({r["message_id"] for r in stub_rasa.requests}) == 1


async def test_typing_shows_only_while_an_answer_takes_noticeable_time(
    telegram: FakeTelegram, stub_rasa: StubRasa, gateway_factory: Callable[..., Gateway]
) -> None:
    async def slow(_: dict[str, Any]) -> web.Response:
        await asyncio.sleep(1.5)
        return web.json_response([{"text": "slow answer"}])

    stub_rasa.script = [reply_text("quick answer"), slow]
    gateway_factory(telegram.url, stub_rasa.url).start()
    await telegram.push(tg.text(209, "hello"))
    await telegram.wait_sent(209, 1)
    assert not telegram.called("sendChatAction")
    await telegram.push(tg.text(209, "and now?"))
    await telegram.wait_sent(209, 2)
    actions = telegram.called("sendChatAction")
    assert actions and actions[0]["action"] == "typing"
    assert [m["text"] for m in telegram.sent(209)] == ["quick answer", "slow answer"]


async def test_rasa_unreachable_for_too_long_is_said_honestly(
    telegram: FakeTelegram, gateway_factory: Callable[..., Gateway]
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    gateway_factory(telegram.url, dead, RASA_RETRY_SECONDS="3").start()
    await telegram.push(tg.text(202, "hello"))
    sent = await telegram.wait_sent(202, 2)
    assert [m["text"] for m in sent] == [
        CAT.text("gateway.one_moment", "en"),
        CAT.text("gateway.still_down", "en"),
    ]


@pytest.mark.parametrize(
    "body", [{"not": "a list"}, [1, 2], [{"text": 5}], [{"text": "x", "buttons": "nope"}]]
)
async def test_an_unexpected_rasa_reply_is_answered_kindly(
    telegram: FakeTelegram, stub_rasa: StubRasa, gateway_factory: Callable[..., Gateway], body: Any
) -> None:
    stub_rasa.script = [lambda _: web.json_response(body), reply_text("fine")]
    gw = gateway_factory(telegram.url, stub_rasa.url).start()
    await telegram.push(tg.text(203, "hello"))
    await telegram.push(tg.text(203, "again"))
    sent = await telegram.wait_sent(203, 2)
    assert [m["text"] for m in sent] == [CAT.text("gateway.error", "en"), "fine"]
    assert gw.alive


async def test_a_restart_neither_loses_nor_repeats_a_message(
    telegram: FakeTelegram, stub_rasa: StubRasa, gateway_factory: Callable[..., Gateway]
) -> None:
    async def slow(_: dict[str, Any]) -> web.Response:
        # Never answers in time: the gateway is killed while waiting for this.
        await stub_rasa.released.wait()
        return web.json_response([{"text": "late"}])

    stub_rasa.script = [slow, reply_text("the answer")]
    first = gateway_factory(telegram.url, stub_rasa.url).start()
    update = await telegram.push(tg.text(204, "hello"))
    await telegram.wait_for(lambda: len(stub_rasa.requests) == 1)
    # The update was stored and confirmed; the process dies mid-answer.
    await telegram.wait_for(lambda: telegram.confirmed_up_to >= update["update_id"])
    first.kill()
    gateway_factory(telegram.url, stub_rasa.url).start()
    sent = await telegram.wait_sent(204, 1)
    await asyncio.sleep(2)
    assert [m["text"] for m in telegram.sent(204)] == ["the answer"]
    assert [r["replay"] for r in stub_rasa.requests] == [False, True]
    assert sent


async def test_a_lower_update_id_after_a_restart_is_not_lost(
    telegram: FakeTelegram, stub_rasa: StubRasa, gateway_factory: Callable[..., Gateway]
) -> None:
    """After a week without updates Telegram numbers the next one at random."""
    first = gateway_factory(telegram.url, stub_rasa.url).start()
    await telegram.push(tg.text(207, "hello"))
    await telegram.wait_sent(207, 1)
    first.stop()
    await telegram.push(tg.text(207, "hello again"), update_id=7)
    gateway_factory(telegram.url, stub_rasa.url).start()
    await telegram.wait_sent(207, 2)
    assert [r["message"] for r in stub_rasa.requests] == ["hello", "hello again"]


async def test_webhook_checks_the_secret_and_drops_duplicates(
    telegram: FakeTelegram, stub_rasa: StubRasa, gateway_factory: Callable[..., Gateway]
) -> None:
    port = free_port()
    gateway_factory(
        telegram.url,
        stub_rasa.url,
        TELEGRAM_WEBHOOK_URL="https://lantern.example/telegram/hook",
        TELEGRAM_WEBHOOK_SECRET="s3cret-value",
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=str(port),
    ).start()
    await telegram.wait_for(lambda: telegram.webhook_url is not None)
    assert telegram.called("setWebhook")[0]["secret_token"] == "s3cret-value"
    url = f"http://127.0.0.1:{port}/telegram/hook"
    update = {"update_id": 7001, **tg.text(205, "hello")}
    async with httpx.AsyncClient() as client:
        for _ in range(50):
            try:
                health = await client.get(f"http://127.0.0.1:{port}/healthz")
                break
            except httpx.TransportError:
                await asyncio.sleep(0.2)
        assert health.status_code == 200
        assert (await client.post(url, json=update)).status_code == 403
        wrong = {"X-Telegram-Bot-Api-Secret-Token": "guess"}
        assert (await client.post(url, json=update, headers=wrong)).status_code == 403
        right = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-value"}
        assert (await client.post(url, json=update, headers=right)).status_code == 200
        assert (await client.post(url, json=update, headers=right)).status_code == 200
        assert (await client.post(url, content=b"{nope", headers=right)).status_code == 400
        malformed = {"update_id": 7002, "message": "garbage"}
        assert (await client.post(url, json=malformed, headers=right)).status_code == 200
    await telegram.wait_sent(205, 1)
    await asyncio.sleep(1)
    assert len(telegram.sent(205)) == 1, "the duplicate update was not handled twice"
    assert len(stub_rasa.requests) == 1


async def test_bad_configuration_stops_with_one_line(
    telegram: FakeTelegram, gateway_factory: Callable[..., Gateway]
) -> None:
    gw = gateway_factory(telegram.url, "not a url").start()
    assert gw.proc is not None and gw.proc.wait(30) == 2
    assert (
        gw.logs().strip() == "configuration error: RASA_URL must be an http(s) URL, got 'not a url'"
    )
    assert TOKEN not in gw.logs()


async def test_action_server_down_then_up_with_the_real_rasa(
    telegram: FakeTelegram,
    model: str,
    tmp_path: Path,
    gateway_factory: Callable[..., Gateway],
) -> None:
    """The Lantern channel answers 503 before touching the tracker; nothing is doubled."""
    rasa_port, action_port = free_port(), free_port()
    rasa = start_rasa(model, write_endpoints(tmp_path, action_port), rasa_port, tmp_path / "r.log")
    actions = None
    try:
        await asyncio.to_thread(
            wait_http, f"http://127.0.0.1:{rasa_port}/status?token={RASA_TOKEN}", 180, rasa
        )
        gateway_factory(telegram.url, f"http://127.0.0.1:{rasa_port}").start()
        await telegram.push(tg.text(206, "hello", language="ar"))
        (first,) = await telegram.wait_sent(206, 1)
        assert first["text"] == CAT.text("gateway.one_moment", "ar")
        actions = start_actions(action_port, tmp_path / "a.log")
        sent = await telegram.wait_sent(206, 3, timeout=90)
        # "hello" from a phone set to Arabic: unsure, so the picker first, in
        # Arabic (Telegram's hint), then the greeting
        assert sent[1]["text"] == CAT.text("utter_choose_language", "ar")
        assert sent[2]["text"] == CAT.text("utter_greet", "ar")
        tracker = await tracker_of(f"http://127.0.0.1:{rasa_port}", 206)
        users = [e for e in tracker["events"] if e["event"] == "user"]
        assert [e["text"] for e in users] == ["hello"], "the message reached Rasa exactly once"
        assert tracker["slots"]["language"] == "ar"
    finally:
        stop(*(p for p in (rasa, actions) if p is not None))


async def test_a_custom_action_failing_mid_turn_is_retried_not_lost(
    telegram: FakeTelegram,
    model: str,
    tmp_path: Path,
    gateway_factory: Callable[..., Gateway],
) -> None:
    """Rasa alone would save the turn without the failed action's answer; here the
    turn is not saved, the gateway retries, and the child gets the whole answer once."""
    calls: list[str] = []

    def second_action_call_fails(request: web.Request) -> bool:
        if request.path != "/webhook":
            return False  # health probes pass
        calls.append(request.path)
        return len(calls) == 2

    async with rasa_with_failing_actions(model, tmp_path, second_action_call_fails) as rasa_url:
        gateway_factory(telegram.url, rasa_url).start()
        await telegram.push(tg.text(207, "i need a doctor", language="en"))
        sent = await telegram.wait_sent(207, 2, timeout=90)
        assert sent[0]["text"] == CAT.text("gateway.one_moment", "en")
        assert len(calls) > 2, "the turn failed at the second action call and was run again"
        # the same message from another child, with nothing failing: the same answer
        await telegram.push(tg.text(208, "i need a doctor", language="en"))
        expected = await telegram.wait_sent(208, 1, timeout=60)
        await asyncio.sleep(1)  # anything more for either child would have arrived by now
        answer = telegram.sent(207)[1:]
        assert [m["text"] for m in answer] == [m["text"] for m in telegram.sent(208)]
        assert answer[-1].get("reply_markup") == expected[-1].get("reply_markup")
        tracker = await tracker_of(rasa_url, 207)
        users = [e for e in tracker["events"] if e["event"] == "user"]
        assert [e["text"] for e in users] == ["i need a doctor"], "in the tracker exactly once"
