"""Handlers of the helpline: a child's chat while a ticket is open, and the staff group.

They run before the assistant's handlers (group -1): while a child's ticket is
open, everything the child sends goes to the staff and nothing to Rasa's
conversation, which is paused. Danger still comes first: the child's words go
through Rasa's NLU alone (the same safety check), and danger or a 🆘 tap brings
the card and makes the ticket urgent before the words reach the staff.
"""

from __future__ import annotations

import contextlib
import logging

from telegram import Chat, Update
from telegram.error import TelegramError
from telegram.ext import (
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.helpline.desk import END_PAYLOAD, Desk
from bot.helpline.store import CLOSED, Ticket
from bot.services import App, services
from catalogue.safety import CATEGORIES

logger = logging.getLogger(__name__)

HELPLINE_GROUP = -1  # handler group: before the assistant's handlers (group 0)
END_COMMANDS = ("/end", END_PAYLOAD)


def sos(payload: str | None) -> str | None:
    """The safety category a 🆘 button or command names ("/emergency", or
    "/feeling_distress" when distress was likeliest), if it is one."""
    name = (payload or "").removeprefix("/")
    return name if name in CATEGORIES else None


def _desk(context: ContextTypes.DEFAULT_TYPE) -> Desk:
    desk = services(context).desk
    assert desk is not None
    return desk


async def on_child_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Relay a child's message to the staff while their ticket is open."""
    message = update.message
    if message is None:
        return  # edits are not relayed: the staff already have the first version
    desk = _desk(context)
    ticket = await desk.open_ticket_for(message.chat_id)
    if ticket is None:
        return  # no ticket: the assistant handles it
    command = (
        (message.text or "").split(maxsplit=1)[0].split("@")[0].lower() if message.text else ""
    )
    if command in END_COMMANDS:
        await desk.close(ticket, None)
        raise ApplicationHandlerStop
    # danger first, as with the assistant: the card reaches the child before
    # their words reach the staff
    if (category := sos(command)) is not None:
        await desk.danger(ticket, category)
    elif message.text or message.caption:
        await desk.check_danger(ticket, message.text or message.caption or "")
    await desk.from_child(ticket, message)
    raise ApplicationHandlerStop


async def on_child_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """While a ticket is open, "End the chat" closes it and 🆘 shows the emergency card
    and makes the ticket urgent; other buttons wait."""
    query = update.callback_query
    chat = update.effective_chat
    if query is None or chat is None or chat.type != Chat.PRIVATE:
        return
    desk = _desk(context)
    ticket = await desk.open_ticket_for(chat.id)
    if ticket is None:
        return
    with contextlib.suppress(TelegramError):
        await query.answer()
    if query.data == END_PAYLOAD:
        await desk.close(ticket, None)
    elif (category := sos(query.data)) is not None:
        await desk.danger(ticket, category)
    raise ApplicationHandlerStop


async def _ticket_here(desk: Desk, update: Update) -> Ticket | None:
    """The ticket a staff message belongs to: its forum topic, or the card it replies to."""
    message = update.effective_message
    if message is None:
        return None
    if message.is_topic_message and message.message_thread_id is not None:
        return await desk.ticket_in_thread(message.message_thread_id)
    reply = message.reply_to_message
    if reply is not None:
        return await desk.ticket_of_staff_message(reply.message_id)
    return None


async def on_staff_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Relay a counsellor's message in a ticket's topic (or reply) to the child."""
    message = update.effective_message
    if message is None or update.edited_message is not None:
        raise ApplicationHandlerStop
    desk = _desk(context)
    if message.sender_chat is not None or not await desk.is_staff(message.from_user):
        logger.warning("staff.ignored", extra={"reason": "not a member"})
        raise ApplicationHandlerStop
    ticket = await _ticket_here(desk, update)
    if ticket is not None and ticket.state != CLOSED:
        await desk.from_staff(ticket, message)
    raise ApplicationHandlerStop  # talk among staff stays among staff


async def on_staff_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/claim, /close, /note, /transfer in a ticket; /queue, /stats, /alias anywhere."""
    await _staff_command(update, context)
    raise ApplicationHandlerStop


async def _staff_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None or not message.text:
        return
    desk = _desk(context)
    if message.sender_chat is not None or not await desk.is_staff(message.from_user):
        logger.warning("staff.ignored", extra={"reason": "not a member"})
        return
    name = message.text.split(maxsplit=1)[0].lstrip("/").split("@")[0].lower()
    if name == "queue":
        await desk.reply(message, await desk.queue_text())
        return
    if name == "stats":
        await desk.reply(message, await desk.stats_text())
        return
    if name == "alias":
        assert message.from_user is not None
        words = message.text.split(maxsplit=1)
        await desk.reply(
            message, await desk.set_alias(message.from_user, words[1] if len(words) > 1 else "")
        )
        return
    if name not in ("claim", "close", "note", "transfer"):
        return
    ticket = await _ticket_here(desk, update)
    if ticket is None or ticket.state == CLOSED:
        await desk.reply(message, desk.staff("staff.no_ticket"))
        return
    assert message.from_user is not None
    if name == "claim":
        await desk.claim(ticket, message.from_user)
    elif name == "close":
        await desk.close(ticket, message.from_user)
    elif name == "transfer":
        await desk.transfer(ticket)
    else:
        await desk.note(ticket)


async def on_staff_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Claim or Close from a ticket card."""
    query = update.callback_query
    assert query is not None
    desk = _desk(context)
    with contextlib.suppress(TelegramError):
        await query.answer()
    if not await desk.is_staff(query.from_user):
        logger.warning("staff.ignored", extra={"reason": "not a member"})
        return
    _, action, ticket_id = (query.data or "hl::0").split(":", 2)
    ticket = await desk.ticket(int(ticket_id)) if ticket_id.isdigit() else None
    if ticket is None:
        return
    if action == "claim":
        await desk.claim(ticket, query.from_user)
    elif action == "close":
        await desk.close(ticket, query.from_user)
    raise ApplicationHandlerStop


def register(application: App, helpline_chat_id: int) -> None:
    """Attach the helpline's handlers; they run before the assistant's."""
    private = filters.ChatType.PRIVATE
    staff = filters.Chat(chat_id=helpline_chat_id)
    application.add_handler(
        MessageHandler(private & ~filters.StatusUpdate.ALL, on_child_message), HELPLINE_GROUP
    )
    # order matters: the first handler of a group that matches an update runs
    application.add_handler(
        CallbackQueryHandler(on_staff_button, pattern=r"^hl:(claim|close):\d+$"), HELPLINE_GROUP
    )
    application.add_handler(CallbackQueryHandler(on_child_button, pattern=r"^/"), HELPLINE_GROUP)
    application.add_handler(
        MessageHandler(staff & filters.COMMAND, on_staff_command), HELPLINE_GROUP
    )
    application.add_handler(
        MessageHandler(staff & ~filters.COMMAND & ~filters.StatusUpdate.ALL, on_staff_message),
        HELPLINE_GROUP,
    )
