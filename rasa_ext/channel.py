"""The input channel the gateway and the terminal chat talk to.

Rasa's REST channel answers 200 with an empty list when anything fails, and
drops every key of a reply it does not know. The gateway needs three more
things, so this channel adds them on the same request shape:

* **Failures are visible**: 503 when the action server is down, before the
  message touches the tracker, and when a custom action fails during the turn,
  which is then not saved (rasa_ext.turns); the gateway says "one moment" and
  retries.
* **Retries are idempotent**: a request with ``replay: true`` whose
  ``message_id`` is already in the tracker gets back the replies that followed
  it, instead of the message being processed a second time. It looks under the
  conversation's lock, so an earlier attempt still running finishes first.
* **Replies keep their metadata** (``language``, ``direction``, ``utter_action``),
  which the gateway uses for its own fallback texts and for logs.

It also owns what Rasa's HTTP API lacks for children's data: ``DELETE
/webhooks/lantern/conversations/<sender>`` erases one conversation (/forget,
authenticated with ``RASA_TOKEN``), and a background job deletes conversation
data older than ``RETENTION_DAYS`` every hour.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
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

from rasa_ext import action_calls, forking, speedups, turns
from rasa_ext.erasure import ErasureUnsupported, erase_conversation, purge_before

logger = logging.getLogger(__name__)

# Keys of a bot message that are Rasa bookkeeping, not something to send.
_INTERNAL_KEYS = {"timestamp", "recipient_id", "template_name", "response_ids", "id"}
HEALTH_CACHE_SECONDS = 2.0
DEFAULT_RETENTION_DAYS = 30
RETENTION_CHECK_SECONDS = 3600.0


def retention_days(env: dict[str, str] | os._Environ[str] = os.environ) -> int:
    """RETENTION_DAYS, a whole number of days (default 30); fail fast on anything else."""
    raw = env.get("RETENTION_DAYS") or str(DEFAULT_RETENTION_DAYS)
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError("RETENTION_DAYS must be a whole number of days, at least 1")
    return int(raw)


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

    def __init__(self, token: str | None = None, retention: int = DEFAULT_RETENTION_DAYS) -> None:
        self.probe = ActionServerProbe()
        self.token = token  # None: the erasure endpoint refuses every request
        self.retention_seconds = retention * 86400.0

    @classmethod
    def name(cls) -> str:
        return "lantern"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> LanternInput:
        # once per Rasa server, before the first message (and before Sanic forks)
        forking.share_imports_with_workers()
        forking.load_shared_models()
        speedups.install()
        turns.install()
        action_calls.install()
        # The same RASA_TOKEN as Rasa's own API (scripts/run exports it).
        return cls(os.environ.get("RASA_TOKEN") or None, retention_days())

    def authorised(self, request: Request) -> bool:
        provided = request.args.get("token") or ""
        return self.token is not None and hmac.compare_digest(provided, self.token)

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
                # The gateway gave up waiting on an earlier attempt, which may
                # still be running: wait for it (and its save) before looking.
                async with agent.lock_store.lock(sender):
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
            except turns.TurnAbandoned:
                return response.json({"error": "custom action failed"}, status=503)
            except Exception:
                # Logged without the text: it is a child's message.
                logger.exception("lantern.message_failed", extra={"message_id": message_id})
                return response.json({"error": "processing failed"}, status=500)
            return response.json(collector.messages)

        @hook.route("/conversations/<sender>", methods=["DELETE"])
        async def forget(request: Request, sender: str) -> HTTPResponse:
            if not self.authorised(request):
                return response.json({"error": "unauthorised"}, status=401)
            agent = request.app.ctx.agent
            try:
                # Under the conversation's lock: a message in flight finishes first,
                # so nothing it writes survives the erasure.
                async with agent.lock_store.lock(sender):
                    deleted = await erase_conversation(agent.tracker_store, sender)
            except ErasureUnsupported as exc:
                logger.error("lantern.erase_unsupported", extra={"store": str(exc)})
                return response.json({"error": "tracker store cannot erase"}, status=501)
            logger.info("lantern.conversation_erased", extra={"records": deleted})
            return response.json({"deleted": deleted})

        @hook.listener("after_server_start")
        async def start_retention(app: Any, _: Any) -> None:
            app.add_task(self._retention_loop(app))

        @hook.listener("after_server_stop")
        async def close_sessions(_: Any, __: Any) -> None:
            await speedups.close_sessions()  # the action server connections kept open

        return hook

    async def _retention_loop(self, app: Any) -> None:
        """Delete conversation data older than RETENTION_DAYS, now and every hour."""
        while True:
            agent = getattr(app.ctx, "agent", None)
            store = getattr(agent, "tracker_store", None)
            if store is not None:
                try:
                    deleted = await purge_before(store, time.time() - self.retention_seconds)
                except ErasureUnsupported as exc:
                    logger.error("lantern.retention_unsupported", extra={"store": str(exc)})
                    return
                except Exception:
                    logger.exception("lantern.retention_failed")
                else:
                    if deleted:
                        logger.info("lantern.retention_purged", extra={"records": deleted})
            await asyncio.sleep(RETENTION_CHECK_SECONDS)


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
