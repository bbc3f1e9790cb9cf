from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bot.rasa_client import Button, Reply
from bot.settings import Settings
from bot.terminal import chat, show


def test_show_numbers_buttons() -> None:
    out = io.StringIO()
    payloads = show(
        [Reply("Hi", (Button("Menu", "/help"), Button("Person", "/talk_to_human")))], out
    )
    assert payloads == ["/help", "/talk_to_human"]
    assert "[1] Menu" in out.getvalue() and "[2] Person" in out.getvalue()


@pytest.fixture
async def rasa() -> AsyncIterator[tuple[str, list[dict]]]:
    seen: list[dict] = []

    async def handle(request: web.Request) -> web.Response:
        body = await request.json()
        seen.append(body)
        return web.json_response(
            [{"text": f"got {body['message']}", "buttons": [{"title": "Menu", "payload": "/help"}]}]
        )

    app = web.Application()
    app.router.add_post("/webhooks/lantern/webhook", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}", seen  # type: ignore[union-attr]
    await runner.cleanup()


async def test_terminal_chat_talks_to_the_same_channel(
    rasa: tuple[str, list[dict]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, seen = rasa
    monkeypatch.setenv("LANG", "ar_SY.UTF-8")
    settings = Settings.from_env({"PSEUDONYM_KEY": "k" * 20, "RASA_URL": url})
    out = io.StringIO()
    assert await chat(settings, io.StringIO("hello\n1\n"), out) == 0
    assert [s["message"] for s in seen] == ["/start", "hello", "/help"]
    assert seen[0]["metadata"] == {"channel": "terminal", "input": "text", "language_hint": "ar"}
    assert "@BotFather" in out.getvalue() and "got /help" in out.getvalue()
