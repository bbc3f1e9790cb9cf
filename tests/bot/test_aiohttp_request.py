from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import NetworkError, RetryAfter, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.aiohttp_request import AiohttpRequest, _body
from tests.e2e import fake_telegram as tg
from tests.e2e.local_server import serve_locally

TOKEN = "123:secret"


@contextlib.asynccontextmanager
async def bot_on(base_url: str, request: AiohttpRequest | None = None) -> AsyncIterator[Bot]:
    """A PTB bot whose every Bot API call goes through AiohttpRequest."""
    bot = Bot(
        TOKEN,
        base_url=f"{base_url}/bot",
        request=request or AiohttpRequest(),
        get_updates_request=AiohttpRequest(),
    )
    async with bot:
        yield bot


@contextlib.asynccontextmanager
async def server(handler: Any) -> AsyncIterator[str]:
    """A one-route HTTP server on a free port; yields its base URL."""
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", handler)
    runner, url = await serve_locally(app)
    try:
        yield url
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def fake_bot_api() -> AsyncIterator[tuple[tg.FakeTelegram, Bot]]:
    """The fake Bot API server, and a bot talking to it through AiohttpRequest."""
    fake = tg.FakeTelegram(TOKEN)
    url = await fake.start()
    try:
        async with bot_on(url) as bot:
            yield fake, bot
    finally:
        await fake.stop()


async def test_calls_reach_the_bot_api_with_their_parameters() -> None:
    async with fake_bot_api() as (fake, bot):
        markup = InlineKeyboardMarkup([[InlineKeyboardButton("Menu", callback_data="/help")]])
        sent = await bot.send_message(42, "سلام 116 000", reply_markup=markup)
        assert sent.text == "سلام 116 000"
        (params,) = fake.called("sendMessage")
        assert params["text"] == "سلام 116 000" and int(params["chat_id"]) == 42
        assert params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "/help"


def test_fields_go_as_the_form_aiohttp_makes_of_them() -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Menü", callback_data="/help")]])
    fields = {"chat_id": 42, "text": "سلام & 116 000 = ?", "reply_markup": markup}
    data = RequestData([RequestParameter.from_input(k, v) for k, v in fields.items()])
    ours = _body(data)
    made = aiohttp.FormData(data.json_parameters)()
    assert isinstance(ours, aiohttp.BytesPayload)
    assert (ours.content_type, ours._value) == (made.content_type, made._value)


async def test_telegram_errors_keep_their_meaning() -> None:
    async with fake_bot_api() as (fake, bot):
        fake.fail("sendMessage", status=429, retry_after=3)
        with pytest.raises(RetryAfter):
            await bot.send_message(42, "hi")


async def test_uploads_go_as_multipart() -> None:
    received: dict[str, Any] = {}

    async def handler(request: web.Request) -> web.Response:
        if request.match_info["method"] == "getMe":
            me = {"id": 1, "is_bot": True, "first_name": "Lantern", "username": "lantern_bot"}
            return web.json_response({"ok": True, "result": me})
        form = await request.post()
        received.update(form)
        return web.json_response(
            {"ok": True, "result": {"message_id": 1, "date": 0, "chat": tg.private_chat(42)}}
        )

    async with server(handler) as url, bot_on(url) as bot:
        await bot.send_document(42, b"card", filename="card.txt", caption="112")
    assert received["caption"] == "112" and int(str(received["chat_id"])) == 42
    upload = received["document"]
    assert upload.filename == "card.txt" and upload.file.read() == b"card"


async def test_a_slow_answer_times_out() -> None:
    async def handler(_: web.Request) -> web.Response:
        await asyncio.sleep(1)
        return web.json_response({"ok": True, "result": True})

    async with server(handler) as url:
        request = AiohttpRequest(read_timeout=0.2)
        await request.initialize()
        try:
            with pytest.raises(TimedOut):
                await request.post(f"{url}/bot{TOKEN}/getMe")
        finally:
            await request.shutdown()


async def test_no_server_is_a_network_error_that_does_not_show_the_token() -> None:
    request = AiohttpRequest()
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as refused:
            await request.post(f"http://127.0.0.1:1/bot{TOKEN}/getMe")
        with pytest.raises(NetworkError) as malformed:
            await request.post(f"http://[bad/bot{TOKEN}/getMe")
    finally:
        await request.shutdown()
    assert "127.0.0.1:1" in str(refused.value)
    assert all(TOKEN not in str(e.value) for e in (refused, malformed))


async def test_calls_need_initialize() -> None:
    with pytest.raises(RuntimeError):
        await AiohttpRequest().do_request("http://127.0.0.1:1/x", "POST")
