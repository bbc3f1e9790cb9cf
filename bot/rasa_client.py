"""HTTP client for the Lantern channel of the Rasa server."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import httpx

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/lantern/webhook"
CONVERSATIONS_PATH = "/webhooks/lantern/conversations"


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
    """Send one child's message to Rasa and return the assistant's replies."""

    def __init__(
        self,
        base_url: str,
        timeout: float,
        client: httpx.AsyncClient | None = None,
        token: str | None = None,
    ):
        self._token = token
        self._client = client or httpx.AsyncClient(
            base_url=base_url,
            timeout=httpx.Timeout(timeout, connect=5.0),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )

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
        try:
            response = await self._client.post(WEBHOOK_PATH, json=body)
        except httpx.TransportError as exc:
            raise RasaUnavailable(type(exc).__name__) from exc
        if response.status_code >= 500 or response.status_code in (404, 408, 429):
            # 404: Rasa is up but its channel is not loaded yet (still starting).
            raise RasaUnavailable(f"HTTP {response.status_code}")
        if response.status_code != 200:
            raise RasaReplyError(f"HTTP {response.status_code}")
        try:
            data = response.json()
        except ValueError as exc:
            raise RasaReplyError("reply is not JSON") from exc
        return parse_replies(data)

    async def resume(self, sender: str, *, trigger: str | None = None) -> list[Reply]:
        """End a pause (ConversationResumed), then optionally trigger an intent.

        Uses Rasa's HTTP API (``--enable-api``, authenticated with RASA_TOKEN);
        returns the replies the triggered intent produced.
        """
        params = {"include_events": "NONE"}
        if self._token:
            params["token"] = self._token
        path = f"/conversations/{sender}"
        try:
            # action_listen after the resume: the pause ended the turn without one,
            # and rules expect the child's next intent to follow a listen.
            events = [{"event": "resume"}, {"event": "action", "name": "action_listen"}]
            response = await self._client.post(f"{path}/tracker/events", params=params, json=events)
            response.raise_for_status()
            if trigger is None:
                return []
            response = await self._client.post(
                f"{path}/trigger_intent", params=params, json={"name": trigger}
            )
            response.raise_for_status()
        except httpx.TransportError as exc:
            raise RasaUnavailable(type(exc).__name__) from exc
        except httpx.HTTPStatusError as exc:
            raise RasaReplyError(f"HTTP {exc.response.status_code}") from exc
        body = response.json()
        return parse_replies(body.get("messages", []) if isinstance(body, dict) else None)

    async def forget(self, sender: str) -> int:
        """Erase the conversation from Rasa's tracker store (rasa_ext.channel); return records."""
        params = {"token": self._token} if self._token else {}
        try:
            response = await self._client.delete(f"{CONVERSATIONS_PATH}/{sender}", params=params)
        except httpx.TransportError as exc:
            raise RasaUnavailable(type(exc).__name__) from exc
        if response.status_code >= 500 or response.status_code == 404:
            raise RasaUnavailable(f"HTTP {response.status_code}")
        if response.status_code != 200:
            raise RasaReplyError(f"HTTP {response.status_code}")
        body = response.json()
        return int(body.get("deleted", 0)) if isinstance(body, dict) else 0

    async def aclose(self) -> None:
        await self._client.aclose()
