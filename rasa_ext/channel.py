"""The input channel the gateway and the terminal chat talk to.

Rasa's REST channel answers 200 with an empty list when anything fails, and
drops every key of a reply it does not know. The gateway needs three more
things, so this channel adds them on the same request shape:

* **Failures are visible**: 503 when the action server is down, before the
  message touches the tracker, so the gateway can say "one moment" and retry.
* **Retries are idempotent**: a request with ``replay: true`` whose
  ``message_id`` is already in the tracker gets back the replies that followed
  it, instead of the message being processed a second time.
* **Replies keep their metadata** (``language``, ``direction``, ``utter_action``),
  which the gateway uses for its own fallback texts and for logs.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

# Keys of a bot message that are Rasa bookkeeping, not something to send.
_INTERNAL_KEYS = {"timestamp", "recipient_id", "template_name", "response_ids", "id"}
HEALTH_CACHE_SECONDS = 2.0


class LanternOutputChannel(CollectingOutputChannel):  # type: ignore[misc]
    """Collect replies whole, metadata included."""

    @classmethod
    def name(cls) -> str:
        return "lantern"

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        self.messages.append(_public(message))


def _public(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if v is not None and k not in _INTERNAL_KEYS}


class ActionServerProbe:
    """Tell whether the action server answers, at most one request every few seconds."""

    def __init__(self, cache_seconds: float = HEALTH_CACHE_SECONDS) -> None:
        self._cache_seconds = cache_seconds
        self._checked_at = 0.0
        self._healthy = False
        self._lock = asyncio.Lock()

    async def healthy(self, webhook_url: str | None) -> bool:
        if not webhook_url:
            return True  # no action server configured: nothing to wait for
        async with self._lock:
            now = time.monotonic()
            if now - self._checked_at < self._cache_seconds:
                return self._healthy
            self._healthy = await _probe(webhook_url.rsplit("/", 1)[0] + "/health")
            self._checked_at = now
            return self._healthy


async def _probe(url: str) -> bool:
    try:
        timeout = aiohttp.ClientTimeout(total=2)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as r:
            return r.status == 200
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return False


class LanternInput(RestInput):  # type: ignore[misc]
    """``POST /webhooks/lantern/webhook`` with ``sender``, ``message``, ``message_id``,
    ``metadata`` and optional ``replay``; answers a JSON list of messages."""

    def __init__(self) -> None:
        self.probe = ActionServerProbe()

    @classmethod
    def name(cls) -> str:
        return "lantern"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> LanternInput:
        return cls()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint("lantern_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.json if isinstance(request.json, dict) else {}
            sender, text = body.get("sender"), body.get("message")
            message_id = body.get("message_id")
            metadata = body.get("metadata") or {}
            if not isinstance(sender, str) or not sender or not isinstance(text, str):
                return response.json({"error": "sender and message are required"}, status=400)
            if not isinstance(metadata, dict) or (
                message_id is not None and not isinstance(message_id, str)
            ):
                return response.json({"error": "malformed metadata or message_id"}, status=400)

            agent = request.app.ctx.agent
            if body.get("replay") and message_id:
                replies = await _replies_to(agent, sender, message_id)
                if replies is not None:
                    logger.info("lantern.replay", extra={"message_id": message_id})
                    return response.json(replies)

            endpoint = getattr(agent, "action_endpoint", None)
            if not await self.probe.healthy(getattr(endpoint, "url", None)):
                return response.json({"error": "action server unavailable"}, status=503)

            collector = LanternOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        text,
                        collector,
                        sender,
                        input_channel=self.name(),
                        metadata=metadata,
                        message_id=message_id,
                    )
                )
            except Exception:
                # Logged without the text: it is a child's message.
                logger.exception("lantern.message_failed", extra={"message_id": message_id})
                return response.json({"error": "processing failed"}, status=500)
            return response.json(collector.messages)

        return hook


async def _replies_to(agent: Any, sender: str, message_id: str) -> list[dict[str, Any]] | None:
    """Return the bot messages that answered ``message_id``, or None if it is unknown."""
    tracker = await agent.tracker_store.retrieve(sender)
    if tracker is None:
        return None
    found = False
    replies: list[dict[str, Any]] = []
    for event in tracker.events:
        if isinstance(event, UserUttered):
            if found:
                break
            found = event.message_id == message_id
        elif found and isinstance(event, BotUttered):
            replies.append(_public(event.message()))
    return replies if found else None
