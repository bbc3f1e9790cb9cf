from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bot.rasa_client import (
    WEBHOOK_PATH,
    Button,
    RasaClient,
    RasaReplyError,
    RasaUnavailable,
    parse_replies,
)
from tests.e2e.local_server import serve_locally


def test_parse_replies_keeps_text_buttons_language() -> None:
    (reply,) = parse_replies(
        [
            {
                "text": "hi",
                "buttons": [{"title": "Menu", "payload": "/help"}],
                "language": "ar",
                "utter_action": "utter_greet",
            }
        ]
    )
    assert reply.text == "hi" and reply.language == "ar"
    assert reply.buttons == (Button("Menu", "/help"),)


@pytest.mark.parametrize(
    "body",
    [
        {},
        "text",
        [1],
        [{"text": 1}],
        [{"buttons": [{"title": 1, "payload": "/x"}]}],
        [{"buttons": [{"title": "t"}]}],
        [{"custom": []}],
    ],
)
def test_parse_replies_rejects_surprises(body: object) -> None:
    with pytest.raises(RasaReplyError):
        parse_replies(body)


@contextlib.asynccontextmanager
async def rasa_answering(
    status: int, body: object = None, raw: bytes | None = None
) -> AsyncIterator[tuple[RasaClient, list[web.Request]]]:
    """A real HTTP server standing in for Rasa, answering every request the same way."""
    seen: list[web.Request] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request)
        if raw is not None:
            return web.Response(status=status, body=raw)
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner, url = await serve_locally(app)
    client = RasaClient(url, 5, token="secret")
    try:
        yield client, seen
    finally:
        await client.aclose()
        await runner.cleanup()


@pytest.mark.parametrize("status", [500, 502, 503, 404, 429])
async def test_statuses_that_mean_try_again(status: int) -> None:
    async with rasa_answering(status, {}) as (client, _):
        with pytest.raises(RasaUnavailable):
            await client.send("s", "t", message_id="m", metadata={})


async def test_bad_request_and_bad_json_are_not_retried() -> None:
    async with rasa_answering(400, {}) as (client, _):
        with pytest.raises(RasaReplyError):
            await client.send("s", "t", message_id="m", metadata={})
    async with rasa_answering(200, raw=b"<html>") as (client, _):
        with pytest.raises(RasaReplyError):
            await client.send("s", "t", message_id="m", metadata={})


async def test_send_posts_the_message_and_reads_the_replies() -> None:
    async with rasa_answering(200, [{"text": "hi", "language": "ps"}]) as (client, seen):
        (reply,) = await client.send("s1", "salam", message_id="tg:7", metadata={"input": "text"})
        again = await client.send("s1", "salam", message_id="tg:7", metadata={}, replay=True)
    assert reply.text == "hi" and reply.language == "ps" and again == [reply]
    assert [r.path for r in seen] == [WEBHOOK_PATH, WEBHOOK_PATH]


async def test_resume_and_forget_use_the_token() -> None:
    async with rasa_answering(200, {"messages": [{"text": "back"}], "deleted": 3}) as (
        client,
        seen,
    ):
        await client.resume("s1")
        (reply,) = await client.trigger("s1", "talk_to_human")
        deleted = await client.forget("s1")
    assert reply.text == "back" and deleted == 3
    assert [(r.method, r.path) for r in seen] == [
        ("POST", "/conversations/s1/tracker/events"),
        ("POST", "/conversations/s1/trigger_intent"),
        ("DELETE", "/webhooks/lantern/conversations/s1"),
    ]
    assert all(r.query.get("token") == "secret" for r in seen)


async def test_parse_asks_the_nlu_alone_with_the_token() -> None:
    verdict = {"text": "x", "safety": {"source": "lexicon", "category": "emergency"}}
    async with rasa_answering(200, verdict) as (client, seen):
        assert await client.parse("x") == verdict
    (request,) = seen
    assert (request.method, request.path, request.query.get("token")) == (
        "POST",
        "/model/parse",
        "secret",
    )
    async with rasa_answering(503, {}) as (client, _):
        with pytest.raises(RasaUnavailable):
            await client.parse("x")


async def test_resume_refused_is_not_retried() -> None:
    async with rasa_answering(403, {}) as (client, _):
        with pytest.raises(RasaReplyError):
            await client.resume("s1")


async def test_a_triggered_turn_that_failed_may_be_tried_again() -> None:
    async with rasa_answering(500, {}) as (client, _):
        with pytest.raises(RasaUnavailable):
            await client.trigger("s1", "handoff_ended")


async def test_connection_refused_means_try_again() -> None:
    client = RasaClient("http://127.0.0.1:1", 1)
    with pytest.raises(RasaUnavailable):
        await client.send("s", "t", message_id="m", metadata={})
    await client.aclose()
