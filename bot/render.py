"""Turn the assistant's replies into Telegram messages."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.rasa_client import Button

logger = logging.getLogger(__name__)

TELEGRAM_TEXT_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64  # bytes, set by the Bot API
SHORT_TITLE = 18  # titles up to this length sit two to a row

# What a button payload may look like: a Rasa intent, optionally with entities.
PAYLOAD = re.compile(r"^/[a-z][a-z0-9_]*(\{.*\})?$", re.DOTALL)


def split_text(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Split a long text into parts of at most ``limit`` characters.

    Cuts at the last paragraph break that fits, else the last line break, else
    the last space, and only as a last resort inside a word.
    """
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = -1
        for separator in ("\n\n", "\n", " "):
            cut = window.rfind(separator, 0, limit)
            if cut > 0:
                break
        if cut <= 0:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def valid_payload(data: str | None) -> bool:
    """Whether callback data is a payload this gateway could have sent."""
    return (
        data is not None
        and len(data.encode()) <= CALLBACK_DATA_LIMIT
        and PAYLOAD.match(data) is not None
    )


def keyboard(buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
    """Inline keyboard for Rasa buttons: two per row when the titles are short."""
    usable = []
    for button in buttons:
        if valid_payload(button.payload):
            usable.append(InlineKeyboardButton(button.title, callback_data=button.payload))
        else:
            logger.warning("render.button_dropped", extra={"payload_bytes": len(button.payload)})
    if not usable:
        return None
    per_row = 2 if all(len(b.text) <= SHORT_TITLE for b in usable) else 1
    rows = [usable[i : i + per_row] for i in range(0, len(usable), per_row)]
    return InlineKeyboardMarkup(rows)
