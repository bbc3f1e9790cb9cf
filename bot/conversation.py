"""Carry one child's message to the assistant and its replies back."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot.rasa_client import RasaUnavailable, Reply
from bot.render import keyboard, split_text
from bot.sending import FIRST_RETRY_SECONDS, with_retries
from bot.services import Services

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
TYPING_REFRESH_SECONDS = 4.5  # Telegram shows "typing…" for about 5 s
# Telegram asks bots to show "typing…" only when an answer takes noticeable time.
# Most answers come sooner, and each indicator is a Bot API call: 12% of the
# gateway's CPU when it was sent for every message (py-spy, bench/load.py).
TYPING_AFTER_SECONDS = 0.4
MAX_RETRY_SECONDS = 30.0
SEND_ATTEMPTS = 4  # a reply survives a few seconds of Telegram 5xx or network trouble


@contextlib.asynccontextmanager
async def typing(bot: Bot, chat_id: int) -> AsyncIterator[None]:
    """Show "typing…" in the chat if the block lasts noticeably, until it ends."""

    async def keep_typing() -> None:
        await asyncio.sleep(TYPING_AFTER_SECONDS)
        while True:
            with contextlib.suppress(TelegramError):
                await bot.send_chat_action(chat_id, ChatAction.TYPING)
            await asyncio.sleep(TYPING_REFRESH_SECONDS)

    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def fallback_language(svc: Services, chat_ref: str, hint: str | None) -> str:
    """Language for the gateway's own texts: the last reply's, else Telegram's hint."""
    return svc.languages.get(chat_ref) or svc.catalogue.resolve(
        (hint or "").split("-")[0].lower() or None
    )


async def send_text(
    bot: Bot,
    chat_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    protect: bool = False,
) -> Message:
    """Send a message, retrying transient failures (429 is retried by the rate limiter)."""
    return await with_retries(
        lambda: bot.send_message(chat_id, text, reply_markup=markup, protect_content=protect),
        SEND_ATTEMPTS,
    )


async def remember_message(svc: Services, chat_id: int, *message_ids: int) -> None:
    """Note messages in a child's chat, so /hide can delete them later (IDs only)."""
    if not message_ids:
        return
    chat_ref = svc.pseudonyms.ref(CHANNEL, chat_id)
    # written with the update being handled, when it is marked done
    if not svc.messages.defer(chat_ref, *message_ids):
        await asyncio.to_thread(svc.messages.record, chat_ref, *message_ids)


async def say(
    bot: Bot,
    svc: Services,
    chat_id: int,
    key: str,
    language: str,
    values: Mapping[str, Any] | None = None,
    *,
    markup: InlineKeyboardMarkup | None = None,
    protect: bool = False,
) -> None:
    """Send one of the gateway's own catalogue texts and note it for /hide."""
    text = svc.catalogue.text(key, language, values)
    sent = await send_text(bot, chat_id, text, markup, protect=protect)
    await remember_message(svc, chat_id, sent.message_id)


async def say_privacy_notice(bot: Bot, svc: Services, chat_id: int, language: str) -> None:
    """The three-line privacy notice in the child's language, with the configured retention."""
    days = {"days": svc.settings.retention_days}
    await say(bot, svc, chat_id, "gateway.privacy_notice", language, days)


async def forward(
    bot: Bot,
    svc: Services,
    chat_id: int,
    text: str,
    *,
    update_id: int,
    hint: str | None,
    kind: str,
) -> None:
    """Send a child's message to Rasa, patiently, and deliver the replies in order."""
    sender = svc.pseudonyms.sender(CHANNEL, chat_id)
    chat_ref = sender[:12]
    metadata: dict[str, Any] = {"channel": CHANNEL, "input": kind, "helpline": svc.desk is not None}
    if hint:
        metadata["language_hint"] = hint
    loop = asyncio.get_running_loop()
    deadline = loop.time() + svc.settings.rasa_retry_seconds
    delay, told, attempt = FIRST_RETRY_SECONDS, False, 0
    replay = update_id in svc.recovered
    async with typing(bot, chat_id):
        while True:
            try:
                replies = await svc.rasa.send(
                    sender,
                    text,
                    message_id=f"tg:{update_id}",
                    metadata=metadata,
                    replay=replay or attempt > 0,
                )
                break
            except RasaUnavailable as exc:
                attempt += 1
                logger.warning(
                    "rasa.unavailable",
                    extra={
                        "chat": await svc.pseudonyms.log_ref(chat_ref),
                        "attempt": attempt,
                        "reason": str(exc),
                    },
                )
                language = fallback_language(svc, chat_ref, hint)
                if loop.time() + delay > deadline:
                    await say(bot, svc, chat_id, "gateway.still_down", language)
                    logger.error(
                        "rasa.gave_up",
                        extra={"chat": await svc.pseudonyms.log_ref(chat_ref), "attempts": attempt},
                    )
                    return
                if not told:
                    await say(bot, svc, chat_id, "gateway.one_moment", language)
                    told = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_RETRY_SECONDS)
    svc.recovered.discard(update_id)
    await deliver(bot, svc, chat_id, chat_ref, replies)


async def deliver(
    bot: Bot, svc: Services, chat_id: int, chat_ref: str, replies: Sequence[Reply]
) -> None:
    """Send replies in order; buttons go under the last part of a long text.

    Sensitive answers, and everything around a handoff, are sent protected.
    A first contact's privacy notice comes last: the answer (the emergency
    card, if it is one) always comes first.
    """
    sent: list[int] = []
    around_handoff = any(isinstance(r.custom.get("handoff"), dict) for r in replies)
    notice = any(r.custom.get("privacy_notice") is True for r in replies)
    try:
        for reply in replies:
            if reply.language:
                svc.languages.remember(chat_ref, reply.language)
            handoff = reply.custom.get("handoff")
            if isinstance(handoff, dict) and svc.desk is not None:
                sender = svc.pseudonyms.sender(CHANNEL, chat_id)
                language = reply.language or fallback_language(svc, chat_ref, None)
                await svc.desk.open(chat_id, sender, handoff, language)
            elif reply.custom and not notice:
                logger.info(
                    "reply.custom_ignored",
                    extra={
                        "chat": await svc.pseudonyms.log_ref(chat_ref),
                        "keys": sorted(reply.custom),
                    },
                )
            if not reply.text:
                continue
            parts = split_text(reply.text)
            for i, part in enumerate(parts):
                markup = keyboard(reply.buttons) if i == len(parts) - 1 else None
                message = await send_text(
                    bot, chat_id, part, markup, protect=reply.protect or around_handoff
                )
                sent.append(message.message_id)
    finally:
        # one transaction for the turn's replies, even when a later one failed
        await remember_message(svc, chat_id, *sent)
    if notice:
        await say_privacy_notice(bot, svc, chat_id, fallback_language(svc, chat_ref, None))
    logger.info(
        "reply.sent",
        extra={"chat": await svc.pseudonyms.log_ref(chat_ref), "messages": len(sent) + int(notice)},
    )
