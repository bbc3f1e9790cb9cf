"""Clients and state shared by the gateway's handlers, created in post_init."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from telegram.ext import Application, ContextTypes

from bot.helpline.desk import Desk
from bot.logs import Pseudonyms
from bot.rasa_client import RasaClient
from bot.settings import Settings
from bot.store import LogSalts, MessageLog, UpdateInbox
from catalogue import Catalogue

SERVICES_KEY = "services"

# The gateway's application, with PTB's default context types.
App: TypeAlias = Application[Any, Any, Any, Any, Any, Any]


class RecentLanguages(OrderedDict[str, str]):
    """The last reply language per chat, for the gateway's own texts when Rasa is down.

    Bounded and in memory only: it is a hint, not data worth keeping.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        super().__init__()
        self.capacity = capacity

    def remember(self, chat_ref: str, language: str) -> None:
        self[chat_ref] = language
        self.move_to_end(chat_ref)
        while len(self) > self.capacity:
            self.popitem(last=False)


@dataclass
class Services:
    settings: Settings
    rasa: RasaClient
    inbox: UpdateInbox
    messages: MessageLog  # message IDs in children's chats, for /hide
    pseudonyms: Pseudonyms
    salts: LogSalts  # behind the pseudonyms' log references; /forget deletes the chat's
    catalogue: Catalogue
    languages: RecentLanguages = field(default_factory=RecentLanguages)
    # the helpline desk, when HELPLINE_CHAT_ID names a staff group
    desk: Desk | None = None
    # update_ids handled again after a restart: Rasa is asked to replay, not redo
    recovered: set[int] = field(default_factory=set)


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    """The gateway's shared services, from the application's bot_data."""
    found = context.bot_data[SERVICES_KEY]
    assert isinstance(found, Services)
    return found
