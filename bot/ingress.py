"""How updates reach the application: stored first, confirmed to Telegram after.

Both modes feed the same path. In polling mode an update is confirmed by the
next getUpdates offset, which is only sent once the update is in the inbox;
in webhook mode it is confirmed by the 200 answer, which is only sent once the
update is in the inbox. The per-chat processor marks it done after handling.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections import Counter
from collections.abc import Awaitable
from typing import Any

from aiohttp import web
from telegram import Update
from telegram.error import NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import BaseUpdateProcessor

from bot.logs import Pseudonyms
from bot.services import App
from bot.store import UpdateInbox

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member", "channel_post"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
POLL_TIMEOUT = 30


class PerChatProcessor(BaseUpdateProcessor):
    """Handle different chats at once and one chat's updates in arrival order.

    An update is marked done in the inbox only when its handlers finished; one
    cut short by a shutdown stays pending and is handled after the restart.
    """

    def __init__(self, max_concurrent_updates: int = 4096) -> None:
        # Waiting updates of a busy chat are cheap coroutines, so the global
        # bound is generous; HTTP connection limits bound the real work.
        super().__init__(max_concurrent_updates)
        self.inbox: UpdateInbox | None = None
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: Counter[int] = Counter()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _chat_id(update)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] += 1
        try:
            async with lock:
                await coroutine
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key]
                self._locks.pop(key, None)
        if isinstance(update, Update) and self.inbox is not None:
            await asyncio.to_thread(self.inbox.mark_done, update.update_id)

    async def initialize(self) -> None:
        """Nothing to set up: locks are made on demand."""

    async def shutdown(self) -> None:
        """Nothing to release."""


def _chat_id(update: object) -> int:
    if isinstance(update, Update) and update.effective_chat is not None:
        return update.effective_chat.id
    return 0


class Ingress:
    """Store each new update, then hand it to the application."""

    def __init__(
        self,
        application: App,
        inbox: UpdateInbox,
        pseudonyms: Pseudonyms,
        recovered: set[int],
    ) -> None:
        self.application = application
        self.inbox = inbox
        self.pseudonyms = pseudonyms
        self.recovered = recovered

    async def accept(self, data: object) -> None:
        """Take one raw update from Telegram; raises only if it could not be stored."""
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            logger.warning("update.malformed", extra={"reason": "no update_id"})
            return
        update = self._parse(data)
        chat = update.effective_chat if update else None
        chat_ref = self.pseudonyms.ref("telegram", chat.id) if chat else None
        if not await asyncio.to_thread(self.inbox.add, data["update_id"], chat_ref, data):
            logger.info("update.duplicate", extra={"update_id": data["update_id"]})
            return
        if update is None:
            await asyncio.to_thread(self.inbox.mark_done, data["update_id"])
            return
        await self.application.update_queue.put(update)

    async def resume(self) -> int:
        """Queue the updates a previous run stored but did not finish."""
        pending = await asyncio.to_thread(self.inbox.pending)
        for data in pending:
            update = self._parse(data)
            if update is None:
                await asyncio.to_thread(self.inbox.mark_done, data["update_id"])
                continue
            self.recovered.add(update.update_id)
            await self.application.update_queue.put(update)
        if pending:
            logger.info("update.resumed", extra={"count": len(pending)})
        return len(pending)

    def _parse(self, data: dict[str, Any]) -> Update | None:
        try:
            return Update.de_json(data, self.application.bot)
        except Exception:  # any shape Telegram never sends
            logger.warning("update.malformed", extra={"update_id": data.get("update_id")})
            return None


async def poll(application: App, ingress: Ingress, stop: asyncio.Event) -> None:
    """Long-poll getUpdates until ``stop`` is set."""
    bot = application.bot
    await bot.delete_webhook(drop_pending_updates=False)
    # Start without an offset: Telegram then returns every update it has not
    # seen confirmed, and the inbox drops the ones already stored. Seeding the
    # offset from the largest stored update_id would lose updates, because
    # after a week without updates Telegram numbers the next one at random.
    offset: int | None = None
    backoff = 1.0
    while not stop.is_set():
        try:
            batch = await bot.do_api_request(
                "getUpdates",
                api_kwargs={
                    "offset": offset,
                    "timeout": POLL_TIMEOUT,
                    "allowed_updates": ALLOWED_UPDATES,
                },
                read_timeout=POLL_TIMEOUT + 10,
            )
            backoff = 1.0
        except RetryAfter as exc:
            await _sleep_or_stop(stop, _seconds(exc.retry_after))
            continue
        except (TimedOut, NetworkError, TelegramError) as exc:
            logger.warning("poll.failed", extra={"error": type(exc).__name__})
            await _sleep_or_stop(stop, backoff)
            backoff = min(backoff * 2, 30.0)
            continue
        for data in batch if isinstance(batch, list) else []:
            await ingress.accept(data)
            if isinstance(data, dict) and isinstance(data.get("update_id"), int):
                offset = max(offset or 0, data["update_id"] + 1)


def _seconds(value: object) -> float:
    """RetryAfter.retry_after is an int or a timedelta, depending on PTB settings."""
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else float(value)  # type: ignore[arg-type]


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


def webhook_app(ingress: Ingress, secret: str, path: str) -> web.Application:
    """aiohttp app: the Telegram webhook (secret checked on every call) and /healthz."""

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            logger.warning("webhook.bad_secret")
            return web.Response(status=403)
        try:
            data = await request.json()
        except ValueError:
            return web.Response(status=400)
        await ingress.accept(data)  # a storage failure answers 500: Telegram retries
        return web.Response(status=200)

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post(path, receive)
    app.router.add_get("/healthz", healthz)
    return app
