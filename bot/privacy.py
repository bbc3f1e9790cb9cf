"""A child's control over their traces: /hide, /forget and /privacy.

* **/hide** deletes the conversation from the phone. Every message in a
  child's chat, both ways, is noted by ID (never by text) for the 48 hours
  Telegram lets a bot delete it; /hide deletes them all, then sends one neutral
  mark that deletes itself a few seconds later: a phone picked up by someone
  else shows nothing.
* **/forget** asks once (a button), then erases everything kept about the
  child: Rasa's conversation, helpline cases (kept as anonymous counts, their
  staff topics deleted), the update inbox's records and the message IDs; the
  phone's copy goes as with /hide.
* **/privacy** says in three lines what is kept, for how long, and these two
  commands. It is also shown once, on first contact (Rasa's session start).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.conversation import (
    CHANNEL,
    fallback_language,
    remember_message,
    say,
    say_privacy_notice,
    send_text,
)
from bot.rasa_client import RasaReplyError, RasaUnavailable
from bot.sending import delete_messages
from bot.services import App, Services, services

logger = logging.getLogger(__name__)

RECORD_GROUP = -3  # before everything: every incoming message is noted
HIDE_GROUP = -2  # before the helpline relay: these commands never reach staff
DELETABLE_SECONDS = 48 * 3600 - 600  # Telegram's limit, with ten minutes to spare
DELETE_ATTEMPTS = 3
CONFIRMATION_SECONDS = 5.0
FORGET, KEEP = "pv:forget", "pv:keep"


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
    deleted = await _delete_from_phone(context.bot, svc, chat_id, chat_ref)
    logger.info(
        "hide.done", extra={"chat": await svc.pseudonyms.log_ref(chat_ref), "deleted": deleted}
    )
    language = fallback_language(svc, chat_ref, None)
    try:
        mark = await context.bot.send_message(
            chat_id, svc.catalogue.text("gateway.hidden", language)
        )
    except TelegramError:
        raise ApplicationHandlerStop from None
    context.application.create_task(_delete_later(context, chat_id, mark.message_id))
    raise ApplicationHandlerStop


async def _delete_from_phone(bot: Bot, svc: Services, chat_id: int, chat_ref: str) -> int:
    """Delete every message of the chat Telegram still lets us delete; forget their IDs."""
    ids = await asyncio.to_thread(svc.messages.recent, chat_ref, DELETABLE_SECONDS)
    deleted = await delete_messages(bot, chat_id, ids, DELETE_ATTEMPTS)
    if deleted < len(ids):
        logger.warning(
            "hide.partly_failed",
            extra={"chat": await svc.pseudonyms.log_ref(chat_ref), "left": len(ids) - deleted},
        )
    await asyncio.to_thread(svc.messages.forget, chat_ref)
    return deleted


async def on_forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Ask the child to confirm erasing everything (one tap, so a typo erases nothing)."""
    message = update.message
    assert message is not None
    svc = services(context)
    language = fallback_language(svc, svc.pseudonyms.ref(CHANNEL, message.chat_id), None)
    buttons = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    svc.catalogue.text("button.forget_yes", language), callback_data=FORGET
                )
            ],
            [
                InlineKeyboardButton(
                    svc.catalogue.text("button.forget_no", language), callback_data=KEEP
                )
            ],
        ]
    )
    await say(
        context.bot, svc, message.chat_id, "gateway.forget_confirm", language,
        markup=buttons, protect=True,
    )  # fmt: skip
    raise ApplicationHandlerStop


async def on_forget_choice(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Erase everything kept about the child, or keep it, as their button says."""
    query = update.callback_query
    assert query is not None and query.message is not None
    svc = services(context)
    chat_id = query.message.chat.id
    chat_ref = svc.pseudonyms.ref(CHANNEL, chat_id)
    language = fallback_language(svc, chat_ref, None)
    with contextlib.suppress(TelegramError):
        await query.answer()
    if query.data == KEEP:
        with contextlib.suppress(TelegramError):
            await query.edit_message_text(svc.catalogue.text("gateway.forget_kept", language))
        raise ApplicationHandlerStop
    sender = svc.pseudonyms.sender(CHANNEL, chat_id)
    try:
        # Rasa first: if it cannot erase now, nothing else is touched and the
        # child can simply ask again.
        records = await svc.rasa.forget(sender)
    except (RasaUnavailable, RasaReplyError) as exc:
        logger.warning(
            "forget.rasa_failed",
            extra={"chat": await svc.pseudonyms.log_ref(chat_ref), "reason": str(exc)},
        )
        with contextlib.suppress(TelegramError):
            await send_text(
                context.bot, chat_id, svc.catalogue.text("gateway.forget_failed", language)
            )
        raise ApplicationHandlerStop from None
    cases = await svc.desk.forget(sender) if svc.desk is not None else 0
    deleted = await _delete_from_phone(context.bot, svc, chat_id, chat_ref)
    updates = await asyncio.to_thread(svc.inbox.forget, chat_ref, update.update_id)
    svc.languages.pop(chat_ref, None)
    log_ref = await svc.pseudonyms.log_ref(chat_ref)
    # last: without the salt, no log line, this one included, leads back to the child
    await asyncio.to_thread(svc.salts.forget, chat_ref)
    svc.pseudonyms.drop(chat_ref)
    logger.info(
        "forget.done",
        extra={
            "chat": log_ref,
            "rasa_records": records,
            "cases": cases,
            "phone_messages": deleted,
            "updates": updates,
        },
    )
    # Not noted for /hide: after /forget, nothing about this chat is kept.
    with contextlib.suppress(TelegramError):
        await send_text(context.bot, chat_id, svc.catalogue.text("gateway.forgotten", language))
    raise ApplicationHandlerStop


async def on_privacy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Say what is kept, for how long, and how to hide or erase it."""
    message = update.message
    assert message is not None
    svc = services(context)
    language = fallback_language(svc, svc.pseudonyms.ref(CHANNEL, message.chat_id), None)
    await say_privacy_notice(context.bot, svc, message.chat_id, language)
    raise ApplicationHandlerStop


async def _delete_later(context: ContextTypes.DEFAULT_TYPE, chat_id: int, message_id: int) -> None:
    await asyncio.sleep(CONFIRMATION_SECONDS)
    with contextlib.suppress(TelegramError):
        await context.bot.delete_message(chat_id, message_id)


def register(application: App) -> None:
    """Attach the privacy handlers; they run before the helpline's and the assistant's."""
    private = filters.ChatType.PRIVATE
    application.add_handler(TypeHandler(Update, on_any_private_message), RECORD_GROUP)
    # one handler per group runs: these three are alternatives within HIDE_GROUP
    for command, handler in (("hide", on_hide), ("forget", on_forget), ("privacy", on_privacy)):
        application.add_handler(
            MessageHandler(private & filters.Regex(rf"^/{command}(@\w+)?(\s|$)"), handler),
            HIDE_GROUP,
        )
    application.add_handler(
        CallbackQueryHandler(on_forget_choice, pattern=rf"^({FORGET}|{KEEP})$"), HIDE_GROUP
    )
