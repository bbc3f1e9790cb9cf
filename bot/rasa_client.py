"""HTTP client for the Lantern channel of the Rasa server."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import aiohttp

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/lantern/webhook"
CONVERSATIONS_PATH = "/webhooks/lantern/conversations"
KEEPALIVE_SECONDS = 2.0


class RasaUnavailable(Exception):
    """Rasa or its action server cannot answer now; the same message may be retried."""


class RasaReplyError(Exception):
    """Rasa answered something the gateway cannot use; retrying will not help."""


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class Reply:
    """One message of the assistant, in the shape the gateway renders."""

    text: str | None
    buttons: tuple[Button, ...] = ()
    language: str | None = None
    custom: dict[str, Any] = field(default_factory=dict)
    protect: bool = False  # send with protect_content: no forwarding or saving


def parse_replies(body: Any) -> list[Reply]:
    """Check and convert Rasa's JSON answer; raise RasaReplyError on any surprise."""
    if not isinstance(body, list):
        raise RasaReplyError(f"expected a list, got {type(body).__name__}")
    replies = []
    for item in body:
        if not isinstance(item, dict):
            raise RasaReplyError(f"expected a message object, got {type(item).__name__}")
        text = item.get("text")
        if text is not None and not isinstance(text, str):
            raise RasaReplyError("message text is not a string")
        buttons = []
        for b in item.get("buttons") or []:
            if not isinstance(b, dict) or not isinstance(b.get("title"), str):
                raise RasaReplyError("malformed button")
            if not isinstance(b.get("payload"), str):
                raise RasaReplyError("malformed button payload")
            buttons.append(Button(b["title"], b["payload"]))
        custom = item.get("custom")
        custom = {} if custom is None else custom
        if not isinstance(custom, dict):
            raise RasaReplyError("custom payload is not an object")
        language = item.get("language")
        replies.append(
            Reply(
                text=text,
                buttons=tuple(buttons),
                language=language if isinstance(language, str) else None,
                custom=custom,
                protect=item.get("protect") is True,
            )
        )
    return replies


class RasaClient:
    """Send one child's message to Rasa and return the assistant's replies.

    On aiohttp, like the Bot API calls (bot.aiohttp_request): httpx's pool cost
    several times more CPU per call under load.
    """

    def __init__(self, base_url: str, timeout: float, token: str | None = None):
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=5.0)
        self._token = token
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        """The session, opened on first use: aiohttp wants the running event loop."""
        if self._session is None or self._session.closed:
            # idle connections close before Sanic's keep-alive (5 s) could drop one
            # under a request
            connector = aiohttp.TCPConnector(limit=100, keepalive_timeout=KEEPALIVE_SECONDS)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
        return self._session

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
    ) -> tuple[int, bytes]:
        """One request to Rasa; RasaUnavailable when it cannot be made or answered."""
        try:
            async with self._http().request(
                method, self._base_url + path, params=params, json=body
            ) as response:
                return response.status, await response.read()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise RasaUnavailable(type(exc).__name__) from exc

    async def send(
        self,
        sender: str,
        text: str,
        *,
        message_id: str,
        metadata: dict[str, Any],
        replay: bool = False,
    ) -> list[Reply]:
        """Deliver a message; raise RasaUnavailable (retry) or RasaReplyError (do not)."""
        body = {
            "sender": sender,
            "message": text,
            "message_id": message_id,
            "metadata": metadata,
            "replay": replay,
        }
        status, content = await self._call("POST", WEBHOOK_PATH, body=body)
        _raise_for(status)
        return parse_replies(_json(content))

    async def resume(self, sender: str) -> None:
        """End a pause (ConversationResumed), through Rasa's HTTP API (``--enable-api``,
        authenticated with RASA_TOKEN)."""
        # action_listen after the resume: the pause ended the turn without one,
        # and rules expect the child's next intent to follow a listen.
        events = [{"event": "resume"}, {"event": "action", "name": "action_listen"}]
        status, _ = await self._call(
            "POST", f"/conversations/{sender}/tracker/events", params=self._api(), body=events
        )
        if status >= 400:
            raise RasaReplyError(f"HTTP {status}")

    async def trigger(self, sender: str, intent: str) -> list[Reply]:
        """Run an intent as if the child had sent it; the replies it produced.

        RasaUnavailable when it may be tried again: a custom action that fails
        makes Rasa answer 500, and the turn is not saved (rasa_ext/turns.py).
        """
        status, content = await self._call(
            "POST", f"/conversations/{sender}/trigger_intent", params=self._api(),
            body={"name": intent},
        )  # fmt: skip
        _raise_for(status)
        body = _json(content)
        return parse_replies(body.get("messages", []) if isinstance(body, dict) else None)

    async def parse(self, text: str) -> dict[str, Any]:
        """What the assistant's NLU makes of a text (Rasa's ``/model/parse``), safety
        verdict included, without touching any conversation: for a child's messages
        while a person has the conversation and Rasa is paused."""
        status, content = await self._call(
            "POST", "/model/parse", params=self._auth(), body={"text": text}
        )
        _raise_for(status)
        body = _json(content)
        return body if isinstance(body, dict) else {}

    def _auth(self) -> dict[str, str]:
        return {"token": self._token} if self._token else {}

    def _api(self) -> dict[str, str]:
        return {"include_events": "NONE", **self._auth()}

    async def forget(self, sender: str) -> int:
        """Erase the conversation from Rasa's tracker store (rasa_ext.channel); return records."""
        status, content = await self._call(
            "DELETE", f"{CONVERSATIONS_PATH}/{sender}", params=self._auth()
        )
        if status >= 500 or status == 404:
            raise RasaUnavailable(f"HTTP {status}")
        if status != 200:
            raise RasaReplyError(f"HTTP {status}")
        body = _json(content)
        return int(body.get("deleted", 0)) if isinstance(body, dict) else 0

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


def _raise_for(status: int) -> None:
    """RasaUnavailable for an answer worth trying again, RasaReplyError for any other
    that is not 200."""
    if status >= 500 or status in (404, 408, 429):
        # 404: Rasa is up but its channel is not loaded yet (still starting).
        raise RasaUnavailable(f"HTTP {status}")
    if status != 200:
        raise RasaReplyError(f"HTTP {status}")


def _json(content: bytes) -> Any:
    """Rasa's JSON answer; RasaReplyError when it is not JSON."""
    try:
        return json.loads(content)
    except ValueError as exc:
        raise RasaReplyError("reply is not JSON") from exc
