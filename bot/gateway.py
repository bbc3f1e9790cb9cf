"""The Telegram gateway's lifecycle: build, start, serve, stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any
from urllib.parse import urlparse

from aiohttp import web
from sqlalchemy.engine import make_url
from telegram.ext import AIORateLimiter, Application

from bot.aiohttp_request import AiohttpRequest
from bot.conversation import CHANNEL, remember_message
from bot.conversation import deliver as deliver_replies
from bot.handlers import register
from bot.helpline.desk import Desk
from bot.helpline.store import TicketStore
from bot.ingress import ALLOWED_UPDATES, Ingress, http_app, poll
from bot.logs import Pseudonyms
from bot.metrics import Metrics
from bot.privacy import DELETABLE_SECONDS
from bot.rasa_client import RasaClient, Reply
from bot.services import SERVICES_KEY, App, Services
from bot.settings import Settings
from bot.store import LogSalts, MessageLog, UpdateInbox, make_engine
from catalogue import default_catalogue, staff_catalogue
from catalogue.content import default_content

logger = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 10.0
# What the Bot API answers: True, an object, or a list of objects.
ApiResult = bool | dict[str, Any] | list[dict[str, Any]]
# Bot API methods that put a message into a chat (and so count against its limit).
MESSAGE_ENDPOINTS = ("send", "copyMessage", "forwardMessage")
DEDUPE_WINDOW_SECONDS = 7 * 24 * 3600  # Telegram keeps undelivered updates 24 h
PURGE_EVERY_SECONDS = 3600
REMIND_CHECK_SECONDS = 20.0


class MessageRateLimiter(AIORateLimiter):
    """PTB's limiter, with the per-group budget spent on messages only.

    Telegram lets a bot send about 20 messages a minute into one group. PTB
    counts every request naming a group against that budget; opening, renaming
    or closing a topic and looking up a member are not messages, and counting
    them made each handoff wait seconds for nothing. It also counts the
    messages sent, for /metrics.
    """

    def __init__(self, metrics: Metrics, overall_max_rate: float, max_retries: int) -> None:
        super().__init__(overall_max_rate=overall_max_rate, max_retries=max_retries)
        self.metrics = metrics

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, ApiResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> ApiResult:
        message = endpoint.startswith(MESSAGE_ENDPOINTS)
        if not message:
            data = {key: value for key, value in data.items() if key != "chat_id"}
        result = await super().process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )
        if message:
            self.metrics.messages_out.inc()
        return result


def replica(settings: Settings) -> str:
    """This gateway's name in chat leases: stable across its restarts, unique among replicas.

    Stable, so a restarted gateway resumes its own chats at once instead of
    waiting for their leases to expire.
    """
    host = socket.gethostname()
    return f"{host}:{settings.webhook_port}" if settings.telegram_webhook_url else host


def build_application(settings: Settings) -> App:
    """Build the PTB application: updates come from our own ingress; rate limits."""
    assert settings.telegram_bot_token is not None
    api = settings.telegram_api_url
    metrics = Metrics()
    application = (
        Application.builder()
        .token(settings.telegram_bot_token)
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .request(AiohttpRequest())
        .get_updates_request(AiohttpRequest())
        # honours 429 retry_after; keeps under Telegram's overall limit
        .rate_limiter(MessageRateLimiter(metrics, settings.telegram_rate, max_retries=5))
        .updater(None)  # updates come from bot.ingress, which stores and orders them
        .post_init(_open_services)
        .post_shutdown(_close_services)
        .build()
    )
    application.bot_data["settings"] = settings
    application.bot_data["metrics"] = metrics
    register(application, settings.helpline_chat_id)
    return application


async def _open_services(application: App) -> None:
    """Create the shared clients (called once the application is initialised)."""
    settings: Settings = application.bot_data["settings"]
    engine = make_engine(
        settings.database_url, settings.database_pool_size, settings.database_max_overflow
    )
    inbox = UpdateInbox(engine)
    await asyncio.to_thread(inbox.purge_done, DEDUPE_WINDOW_SECONDS)
    salts = await asyncio.to_thread(LogSalts, engine)
    svc = Services(
        settings=settings,
        rasa=RasaClient(settings.rasa_url, settings.rasa_timeout, token=settings.rasa_token),
        inbox=inbox,
        messages=await asyncio.to_thread(MessageLog, engine),
        pseudonyms=Pseudonyms(settings.pseudonym_key, salts),
        salts=salts,
        catalogue=default_catalogue(),
    )
    if settings.helpline_chat_id is not None:
        bot = application.bot

        async def deliver(chat_id: int, replies: Sequence[Reply]) -> None:
            chat_ref = svc.pseudonyms.ref(CHANNEL, chat_id)
            await deliver_replies(bot, svc, chat_id, chat_ref, replies)

        svc.desk = Desk(
            bot,
            settings,
            await asyncio.to_thread(TicketStore, engine),
            svc.rasa,
            svc.pseudonyms,
            svc.catalogue,
            staff_catalogue(),
            default_content(),
            deliver,
            lambda chat_id, message_id: remember_message(svc, chat_id, message_id),
        )
    application.bot_data[SERVICES_KEY] = svc


async def _close_services(application: App) -> None:
    """Close the shared clients."""
    svc: Services | None = application.bot_data.get(SERVICES_KEY)
    if svc is not None:
        await svc.rasa.aclose()
        svc.inbox.engine.dispose()


async def _every(
    name: str, seconds: float, stop: asyncio.Event, job: Callable[[], Awaitable[None]]
) -> None:
    """Run ``job`` every ``seconds`` until ``stop``; a failed round does not end the loop."""
    while not stop.is_set():
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)
        if not stop.is_set():
            try:
                await job()
            except Exception:
                logger.exception("gateway.job_failed", extra={"job": name})


def _remind_every(settings: Settings) -> float:
    """Check for due reminders often enough for the shortest configured delay."""
    shortest = min(settings.helpline_remind_minutes, settings.helpline_nudge_minutes) * 60
    return max(0.5, min(REMIND_CHECK_SECONDS, shortest / 4))


async def _purge(svc: Services) -> None:
    """Forget done updates past the dedupe window, message IDs /hide can no longer use,
    the link to the child of cases closed longer than RETENTION_DAYS ago, and log
    salts older than that (older log lines then lead to no one)."""
    removed = await asyncio.to_thread(svc.inbox.purge_done, DEDUPE_WINDOW_SECONDS)
    forgotten = await asyncio.to_thread(svc.messages.purge, DELETABLE_SECONDS)
    retention = svc.settings.retention_days * 86400
    salts = await asyncio.to_thread(svc.salts.purge, retention)
    anonymised = 0
    if svc.desk is not None:
        anonymised = await svc.desk.expire(time.time() - retention)
    logger.info(
        "inbox.purged",
        extra={
            "removed": removed,
            "message_ids": forgotten,
            "tickets_anonymised": anonymised,
            "log_salts": salts,
        },
    )


def database_executor(settings: Settings) -> ThreadPoolExecutor | None:
    """Threads for blocking calls (asyncio.to_thread) with a database server: one
    per pooled connection, so that none waits for one and none is opened past the
    pool. The default, min(32, CPUs + 4), counts the host's CPUs, not a container's."""
    if make_url(settings.database_url).get_backend_name() == "sqlite":
        return None  # a file: connections cost no server process
    return ThreadPoolExecutor(settings.database_pool_size, thread_name_prefix="database")


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run the gateway until SIGINT/SIGTERM (or ``stop``)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    if executor := database_executor(settings):
        loop.set_default_executor(executor)
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    application = build_application(settings)
    await application.initialize()
    assert application.post_init is not None
    await application.post_init(application)
    svc: Services = application.bot_data[SERVICES_KEY]
    metrics: Metrics = application.bot_data["metrics"]
    ingress = Ingress(
        application, svc.inbox, svc.pseudonyms, svc.recovered, replica(settings), metrics
    )
    await application.start()
    if resumed := await ingress.resume():
        logger.info("update.resumed", extra={"chats": resumed})
    sweeper = asyncio.create_task(ingress.sweep(stop))
    purger = asyncio.create_task(_every("purge", PURGE_EVERY_SECONDS, stop, partial(_purge, svc)))
    reminder = None
    if svc.desk is not None:
        reminder = asyncio.create_task(
            _every("remind", _remind_every(settings), stop, svc.desk.remind)
        )
    poller: asyncio.Task[None] | None = None
    webhook = None
    if settings.telegram_webhook_url:
        assert settings.telegram_webhook_secret is not None
        path = urlparse(settings.telegram_webhook_url).path or "/"
        webhook = (path, settings.telegram_webhook_secret)
    # health, readiness and metrics in both modes; the webhook when there is one
    open_cases = svc.desk.store.count_open if svc.desk is not None else None
    runner = web.AppRunner(http_app(ingress, metrics, webhook, open_cases), access_log=None)
    try:
        await runner.setup()
        await web.TCPSite(runner, settings.webhook_listen, settings.webhook_port).start()
        if settings.telegram_webhook_url:
            await application.bot.set_webhook(
                settings.telegram_webhook_url,
                secret_token=settings.telegram_webhook_secret,
                allowed_updates=ALLOWED_UPDATES,
            )
            logger.info("gateway.started", extra={"mode": "webhook", "port": settings.webhook_port})
        else:
            poller = asyncio.create_task(poll(application, ingress, stop))
            logger.info("gateway.started", extra={"mode": "polling", "port": settings.webhook_port})
        await stop.wait()
    finally:
        logger.info("gateway.stopping")
        purger.cancel()
        sweeper.cancel()
        if reminder is not None:
            reminder.cancel()
        if poller is not None:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
        await runner.cleanup()
        # Handlers still waiting (e.g. for Rasa) are cut short; their updates
        # stay unfinished in the inbox and are handled after the next start,
        # or at once by another replica.
        await ingress.close(SHUTDOWN_GRACE_SECONDS)
        await application.stop()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)
        await application.shutdown()
        logger.info("gateway.stopped")
