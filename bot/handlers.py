"""python-telegram-bot handlers: what the gateway does with each kind of update."""

from __future__ import annotations

import contextlib
import json
import logging

from telegram import Chat, ChatMember, Message, Update
from telegram.error import TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import privacy
from bot.conversation import CHANNEL, fallback_language, forward, say
from bot.helpline import handlers as helpline
from bot.rasa_client import RasaReplyError
from bot.render import valid_payload
from bot.services import App, services

logger = logging.getLogger(__name__)

# Telegram commands and the Rasa intent each one stands for.
COMMANDS = {
    "start": "/start",
    "help": "/help",
    "menu": "/help",
    "language": "/choose_language",
    "human": "/talk_to_human",
    "end": "/help",  # with a person, /end closes the ticket (bot/helpline); without, the menu
}
UNKNOWN_COMMAND = "/unknown_command"
# Attachments the assistant cannot read yet, in the order Telegram documents them.
ATTACHMENTS = (
    "animation",
    "audio",
    "document",
    "photo",
    "sticker",
    "video",
    "video_note",
    "voice",
    "contact",
    "dice",
    "game",
    "poll",
    "venue",
    "location",
)
MAX_TEXT = 4096  # Telegram's own limit; anything longer is not from Telegram


def input_kind(message: Message) -> str:
    """Name what a non-text message carries: sticker, photo, voice…"""
    return next((kind for kind in ATTACHMENTS if getattr(message, kind, None)), "other")


def unsupported_input(kind: str) -> str:
    """The payload that tells the assistant the child sent something it cannot read."""
    return "/unsupported_input" + json.dumps({"input_kind": kind}, separators=(",", ":"))


def _hint(update: Update) -> str | None:
    user = update.effective_user
    return user.language_code if user else None


async def _forward(
    update: Update, context: ContextTypes.DEFAULT_TYPE, text: str, kind: str
) -> None:
    chat = update.effective_chat
    assert chat is not None
    svc = services(context)
    try:
        await forward(
            context.bot,
            svc,
            chat.id,
            text[:MAX_TEXT],
            update_id=update.update_id,
            hint=_hint(update),
            kind=kind,
        )
    except RasaReplyError as exc:
        chat_ref = svc.pseudonyms.ref(CHANNEL, chat.id)
        logger.error(
            "rasa.bad_reply",
            extra={"chat": await svc.pseudonyms.log_ref(chat_ref), "reason": str(exc)},
        )
        language = fallback_language(svc, chat_ref, _hint(update))
        await say(context.bot, svc, chat.id, "gateway.error", language)


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Forward a child's text, new or edited, to the assistant."""
    message = update.effective_message
    assert message is not None and message.text is not None
    if not message.text.strip():
        # Only spaces Telegram keeps (no-break, ideographic): Rasa strips them and
        # its NLU fails on the empty text, so this is answered as unreadable input.
        await _forward(update, context, unsupported_input("blank"), "blank")
        return
    kind = "edited" if update.edited_message else "text"
    await _forward(update, context, message.text, kind)


async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Forward a command as the Rasa intent it stands for."""
    message = update.effective_message
    assert message is not None and message.text is not None
    name = message.text.split()[0].lstrip("/").split("@")[0].lower()
    await _forward(update, context, COMMANDS.get(name, UNKNOWN_COMMAND), "command")


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Acknowledge a button press and forward its payload like a typed message."""
    query = update.callback_query
    assert query is not None
    with contextlib.suppress(TelegramError):  # a stale query must not stop the answer
        await query.answer()
    if update.effective_chat is None or update.effective_chat.type != Chat.PRIVATE:
        return
    data = query.data
    if not valid_payload(data):
        logger.warning("button.unknown_data", extra={"bytes": len((data or "").encode())})
        data = "/help"
    assert data is not None
    await _forward(update, context, data, "button")


async def on_non_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Tell the child, in their language, that the assistant reads text only."""
    message = update.effective_message
    assert message is not None
    kind = input_kind(message)
    await _forward(update, context, unsupported_input(kind), kind)


async def on_foreign_chat(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Leave a group or channel the bot was added to, politely, unless it is the helpline's."""
    chat = update.effective_chat
    if chat is None or chat.type == Chat.PRIVATE:
        return
    svc = services(context)
    if chat.id == svc.settings.helpline_chat_id:
        return
    member = update.my_chat_member
    if member is not None and member.new_chat_member.status in (
        ChatMember.LEFT,
        ChatMember.BANNED,
    ):
        return  # we are already out
    logger.info("chat.leaving", extra={"chat_type": chat.type})
    if chat.type != Chat.CHANNEL:
        language = svc.catalogue.resolve((_hint(update) or "").split("-")[0] or None)
        with contextlib.suppress(TelegramError):
            await say(context.bot, svc, chat.id, "gateway.leave_group", language)
    with contextlib.suppress(TelegramError):
        await context.bot.leave_chat(chat.id)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log what failed, without message text, and answer the child kindly."""
    logger.error(
        "gateway.handler_failed",
        exc_info=(type(context.error), context.error, context.error.__traceback__)
        if context.error
        else None,
    )
    if not isinstance(update, Update):
        return
    chat = update.effective_chat
    if chat is None or chat.type != Chat.PRIVATE:
        return
    svc = services(context)
    language = fallback_language(svc, svc.pseudonyms.ref(CHANNEL, chat.id), _hint(update))
    with contextlib.suppress(TelegramError):
        await say(context.bot, svc, chat.id, "gateway.error", language)


def register(application: App, helpline_chat_id: int | None) -> None:
    """Attach the handlers; order matters: foreign chats are dealt with first."""
    privacy.register(application)  # groups -3 and -2: note every message, /hide
    if helpline_chat_id is not None:
        helpline.register(application, helpline_chat_id)  # group -1: before the assistant
    private = filters.ChatType.PRIVATE
    application.add_handler(ChatMemberHandler(on_foreign_chat, ChatMemberHandler.MY_CHAT_MEMBER))
    foreign = ~private
    if helpline_chat_id is not None:
        foreign = foreign & ~filters.Chat(chat_id=helpline_chat_id)
    application.add_handler(MessageHandler(foreign, on_foreign_chat))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_handler(MessageHandler(private & filters.COMMAND, on_command))
    application.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND, on_text))
    application.add_handler(
        MessageHandler(private & ~filters.TEXT & ~filters.StatusUpdate.ALL, on_non_text)
    )
    application.add_error_handler(on_error)
