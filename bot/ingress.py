"""How updates reach the application: stored first, confirmed to Telegram after.

Both modes feed the same path. In polling mode an update is confirmed by the
next getUpdates offset, which is only sent once the update is in the inbox;
in webhook mode it is confirmed by the 200 answer, which is only sent once the
update is in the inbox. It is marked done after handling.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from telegram import Update
from telegram.error import NetworkError, RetryAfter, TelegramError, TimedOut

from bot.logs import Pseudonyms
from bot.metrics import Metrics, update_kind
from bot.services import App
from bot.store import Note, Unfinished, UpdateInbox, noting

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member", "channel_post"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
POLL_TIMEOUT = 30


PARSED_KEPT = 1000
LEASE_SECONDS = 30.0  # a replica that stops renewing hands its chats on after this
SWEEP_SECONDS = 5.0  # how often a replica looks for chats nobody is handling


class Ingress:
    """Store each new update, then handle each chat's updates in order, one replica at a time.

    Different chats are handled at once. A chat is drained by whichever replica
    holds its lease in the shared inbox: the one that stored the update, unless
    another is already busy with that chat and picks the update up itself. An
    update is marked done only when its handlers finished; one cut short (a
    shutdown, a crash) stays unfinished and is handled again, as a replay.
    """

    def __init__(
        self,
        application: App,
        inbox: UpdateInbox,
        pseudonyms: Pseudonyms,
        recovered: set[int],
        owner: str,
        metrics: Metrics,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self.application = application
        self.metrics = metrics
        self.inbox = inbox
        self.pseudonyms = pseudonyms
        self.recovered = recovered
        self.owner = owner
        self.lease_seconds = lease_seconds
        self._draining: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        # updates parsed when they came in here, until handled (not parsed twice)
        self._parsed: OrderedDict[int, Update] = OrderedDict()

    async def accept(self, data: object) -> None:
        """Take one raw update from Telegram; raises only if it could not be stored."""
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            logger.warning("update.malformed", extra={"reason": "no update_id"})
            return
        update = self._parse(data)
        if update is not None:
            self._parsed[update.update_id] = update
            while len(self._parsed) > PARSED_KEPT:  # handled by another replica
                self._parsed.popitem(last=False)
        chat = update.effective_chat if update else None
        chat_ref = self.pseudonyms.ref("telegram", chat.id) if chat else None
        if update is not None and (chat_ref or "") not in self._draining:
            await self._accept_and_take(data, chat_ref)
            return
        if not await asyncio.to_thread(self.inbox.add, data["update_id"], chat_ref, data):
            logger.info("update.duplicate", extra={"update_id": data["update_id"]})
            return
        self.metrics.updates_in.labels(update_kind(data)).inc()
        if update is None:
            await asyncio.to_thread(self.inbox.mark_done, data["update_id"])
            return
        self.schedule(chat_ref)

    async def _accept_and_take(self, data: dict[str, Any], chat_ref: str | None) -> None:
        """Store an update of a chat nobody here drains, and take the chat, in one transaction.

        The drain is registered before that transaction, so updates of the chat
        arriving meanwhile leave their handling to it (and flag it to look again).
        """
        key = chat_ref or ""
        self._again.discard(key)
        taken: asyncio.Future[list[Unfinished] | None] = asyncio.get_running_loop().create_future()
        self._draining[key] = asyncio.create_task(self._drain(chat_ref, taken), name=f"drain-{key}")
        try:
            stored, batch = await asyncio.to_thread(
                self.inbox.add_and_take,
                data["update_id"], chat_ref, data, self.owner, self.lease_seconds,
            )  # fmt: skip
        except BaseException:
            taken.set_result(None)
            raise
        taken.set_result(batch)
        if stored:
            self.metrics.updates_in.labels(update_kind(data)).inc()
        else:
            logger.info("update.duplicate", extra={"update_id": data["update_id"]})

    def schedule(self, chat_ref: str | None) -> None:
        """Make sure this chat's unfinished updates get handled (here, or by the lease holder)."""
        key = chat_ref or ""
        if key in self._draining:
            self._again.add(key)  # the running drain looks once more before it ends
            return
        self._draining[key] = asyncio.create_task(self._drain(chat_ref), name=f"drain-{key}")

    async def resume(self, older_than_seconds: float = 0.0) -> int:
        """Schedule every chat with updates stored before then and not finished."""
        chats = await asyncio.to_thread(self.inbox.waiting_chats, older_than_seconds)
        for chat_ref in chats:
            self.schedule(chat_ref)
        return len(chats)

    async def sweep(self, stop: asyncio.Event) -> None:
        """Pick up chats left by a replica that stopped, until ``stop``."""
        while not stop.is_set():
            await _sleep_or_stop(stop, SWEEP_SECONDS)
            try:
                await self.resume(SWEEP_SECONDS)
            except Exception:
                logger.exception("update.sweep_failed")

    async def close(self, grace: float) -> None:
        """Let running drains finish for ``grace`` seconds, then cut them short."""
        tasks = list(self._draining.values())
        if not tasks:
            return
        _, running = await asyncio.wait(tasks, timeout=grace)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    async def _drain(
        self, chat_ref: str | None, taken: asyncio.Future[list[Unfinished] | None] | None = None
    ) -> None:
        """Handle the chat's unfinished updates while this replica can take the chat.

        ``taken``: the first round's batch, taken by ``accept`` with the update
        it stored (None: not stored, or another replica holds the chat).
        """
        key = chat_ref or ""
        try:
            batch = await (taken if taken is not None else self._take(chat_ref))
            while True:
                if batch is not None:  # the chat is ours (even with nothing to do)
                    batch = await self._handle_and_finish(chat_ref, batch)
                    if batch:
                        continue  # updates that came meanwhile: kept with the chat
                # Nothing left, or another replica holds the chat: it looks again
                # after releasing, so nothing is stranded. An update stored here
                # meanwhile may have come after that look: look once more.
                if key not in self._again:
                    return
                batch = await self._take(chat_ref)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The inbox is unreachable: the updates stay unfinished for the sweep.
            logger.exception("update.drain_failed", extra={"chat": await self._log_ref(chat_ref)})
        finally:
            self._draining.pop(key, None)

    async def _take(self, chat_ref: str | None) -> list[Unfinished] | None:
        self._again.discard(chat_ref or "")
        return await asyncio.to_thread(self.inbox.take, chat_ref, self.owner, self.lease_seconds)

    async def _handle_and_finish(
        self, chat_ref: str | None, batch: list[Unfinished]
    ) -> list[Unfinished] | None:
        """Handle a batch; then the updates stored meanwhile, if the chat is still ours."""
        handled: list[int] = []  # the last one is not marked done yet
        noted: list[Note] = []  # message IDs noted and not written yet
        try:
            await self._handle_batch(chat_ref or "", batch, handled, noted)
        except BaseException:
            # cut short: mark what was handled, and let the chat go
            await asyncio.to_thread(
                self.inbox.give_back,
                chat_ref, self.owner, handled[-1] if handled else None, noted,
            )  # fmt: skip
            raise
        self._again.discard(chat_ref or "")  # finish looks for them
        return await asyncio.to_thread(
            self.inbox.finish,
            chat_ref, self.owner, self.lease_seconds, handled[-1] if handled else None, noted,
        )  # fmt: skip

    async def _handle_batch(
        self, key: str, batch: list[Unfinished], handled: list[int], noted: list[Note]
    ) -> None:
        """Handle a chat's updates in order; each one handled is appended to ``handled``,
        and the message IDs noted meanwhile to ``noted``.

        take() started the first; each next one is started as the one before is
        marked done (its notes written), and finish() marks the last done.
        """
        if not batch:
            return
        renewer = asyncio.create_task(self._renew(key))
        try:
            for item in batch:
                if handled:
                    await asyncio.to_thread(
                        self.inbox.advance, handled[-1], item.update_id, list(noted)
                    )
                    noted.clear()
                await self._handle(item, noted)
                handled.append(item.update_id)
        finally:
            renewer.cancel()

    async def _handle(self, item: Unfinished, noted: list[Note]) -> None:
        update = self._parsed.pop(item.update_id, None) or self._parse(item.payload)
        self.metrics.queue_seconds.observe(max(0.0, time.time() - item.received_at))
        if update is not None:
            if item.started:
                self.recovered.add(item.update_id)  # cut short before: Rasa replays, not redoes
            with noting() as notes:
                try:
                    await self.application.process_update(update)
                finally:
                    noted += notes.close()
        self.metrics.handled_seconds.observe(max(0.0, time.time() - item.received_at))

    async def _renew(self, key: str) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                kept = await asyncio.to_thread(
                    self.inbox.acquire, key, self.owner, self.lease_seconds
                )
            except Exception:
                kept = False
            if not kept:
                # Expired while the inbox was out of reach: another replica may take the chat.
                logger.warning(
                    "update.lease_not_renewed", extra={"chat": await self._log_ref(key or None)}
                )

    async def _log_ref(self, chat_ref: str | None) -> str | None:
        return await self.pseudonyms.log_ref(chat_ref) if chat_ref else None

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


def http_app(
    ingress: Ingress,
    metrics: Metrics,
    webhook: tuple[str, str] | None = None,
    open_cases: Callable[[], int] | None = None,
) -> web.Application:
    """aiohttp app: /healthz (alive), /readyz (the inbox answers), /metrics, and the
    Telegram webhook at ``webhook = (path, secret)``, the secret checked on every call."""

    async def receive(request: web.Request) -> web.Response:
        assert webhook is not None
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), webhook[1].encode()):
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

    async def readyz(_: web.Request) -> web.Response:
        try:
            await asyncio.to_thread(ingress.inbox.ping)
        except Exception:
            logger.warning("gateway.not_ready", extra={"reason": "inbox unreachable"})
            return web.json_response({"status": "inbox unreachable"}, status=503)
        return web.json_response({"status": "ok"})

    async def expose(_: web.Request) -> web.Response:
        if open_cases is not None:
            try:
                metrics.open_handoffs.set(await asyncio.to_thread(open_cases))
            except Exception:
                logger.warning("metrics.open_cases_failed")
        return web.Response(body=metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application(client_max_size=1024 * 1024)
    if webhook is not None:
        app.router.add_post(webhook[0], receive)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", expose)
    return app
