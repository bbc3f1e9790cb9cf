"""A child's control over their traces: /hide deletes the conversation from their phone.

Every message in a child's chat, both ways, is noted by ID (never by text) for
the 48 hours Telegram lets a bot delete it. /hide deletes them all, then sends
one neutral mark that deletes itself a few seconds later: a phone picked up by
someone else shows nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes, MessageHandler, TypeHandler, filters

from bot.conversation import CHANNEL, fallback_language, remember_message
from bot.services import App, services

logger = logging.getLogger(__name__)

RECORD_GROUP = -3  # before everything: every incoming message is noted
HIDE_GROUP = -2  # before the helpline relay: /hide is never forwarded to staff
DELETABLE_SECONDS = 48 * 3600 - 600  # Telegram's limit, with ten minutes to spare
DELETE_BATCH = 100  # deleteMessages takes at most 100 IDs
CONFIRMATION_SECONDS = 5.0


async def on_any_private_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Note the ID of a message a child sent (its text is not kept)."""
    message = update.message
    if message is None or message.chat.type != message.chat.PRIVATE:
        return
    await remember_message(services(context), message.chat_id, message.message_id)


async def on_hide(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Delete the conversation from the child's phone, then confirm with a mark that vanishes."""
    message = update.message
    assert message is not None
    svc = services(context)
    chat_id = message.chat_id
    chat_ref = svc.pseudonyms.ref(CHANNEL, chat_id)
    ids = await asyncio.to_thread(svc.messages.recent, chat_ref, DELETABLE_SECONDS)
    deleted = 0
    for start in range(0, len(ids), DELETE_BATCH):
        batch = ids[start : start + DELETE_BATCH]
        try:
            await context.bot.delete_messages(chat_id, batch)
            deleted += len(batch)
        except TelegramError as exc:
            logger.warning(
                "hide.partly_failed", extra={"chat": chat_ref, "error": type(exc).__name__}
            )
    await asyncio.to_thread(svc.messages.forget, chat_ref)
    logger.info("hide.done", extra={"chat": chat_ref, "deleted": deleted})
    language = fallback_language(svc, chat_ref, None)
    try:
        mark = await context.bot.send_message(
            chat_id, svc.catalogue.text("gateway.hidden", language)
        )
    except TelegramError:
        raise ApplicationHandlerStop from None
    context.application.create_task(_delete_later(context, chat_id, mark.message_id))
    raise ApplicationHandlerStop


async def _delete_later(context: ContextTypes.DEFAULT_TYPE, chat_id: int, message_id: int) -> None:
    await asyncio.sleep(CONFIRMATION_SECONDS)
    with contextlib.suppress(TelegramError):
        await context.bot.delete_message(chat_id, message_id)


def register(application: App) -> None:
    """Attach the privacy handlers; they run before the helpline's and the assistant's."""
    private = filters.ChatType.PRIVATE
    application.add_handler(TypeHandler(Update, on_any_private_message), RECORD_GROUP)
    application.add_handler(
        MessageHandler(private & filters.Regex(r"^/hide(@\w+)?(\s|$)"), on_hide), HIDE_GROUP
    )
