from __future__ import annotations

import httpx
import pytest

from bot.rasa_client import Button, RasaClient, RasaReplyError, RasaUnavailable, parse_replies


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


def client_answering(status: int, body: object = None, raw: bytes | None = None) -> RasaClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if raw is not None:
            return httpx.Response(status, content=raw)
        return httpx.Response(status, json=body)

    transport = httpx.MockTransport(handler)
    return RasaClient(
        "http://rasa", 5, httpx.AsyncClient(base_url="http://rasa", transport=transport)
    )


@pytest.mark.parametrize("status", [500, 502, 503, 404, 429])
async def test_statuses_that_mean_try_again(status: int) -> None:
    with pytest.raises(RasaUnavailable):
        await client_answering(status, {}).send("s", "t", message_id="m", metadata={})


async def test_bad_request_and_bad_json_are_not_retried() -> None:
    with pytest.raises(RasaReplyError):
        await client_answering(400, {}).send("s", "t", message_id="m", metadata={})
    with pytest.raises(RasaReplyError):
        await client_answering(200, raw=b"<html>").send("s", "t", message_id="m", metadata={})


async def test_connection_refused_means_try_again() -> None:
    client = RasaClient("http://127.0.0.1:1", 1)
    with pytest.raises(RasaUnavailable):
        await client.send("s", "t", message_id="m", metadata={})
    await client.aclose()
