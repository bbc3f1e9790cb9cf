"""Structured, discreet logs: event names and pseudonyms, never message text or tokens."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import sys
import time
from collections import OrderedDict
from typing import Any, Protocol

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, event and the record's extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info and record.exc_info[0] is not None:
            # The exception type and where it happened, not its message, which
            # may quote a child's text.
            entry["error"] = record.exc_info[0].__name__
            entry["where"] = f"{record.pathname}:{record.lineno}"
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(level: str) -> None:
    """Send JSON logs to stderr; quieten libraries that log URLs containing the token."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    for noisy in ("httpx", "httpcore", "telegram", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


class SaltSource(Protocol):
    """Where each chat's random log salt is kept (bot.store.LogSalts)."""

    def salt(self, chat_ref: str) -> str: ...


class Pseudonyms:
    """Keyed hashes of Telegram chat IDs: stable per child, meaningless without the key.

    Stores key a chat by ``ref``, which every replica computes alike. Logs name
    it by ``log_ref`` instead: a keyed hash of a random salt kept per chat, not
    of the chat ID. Logs cannot be erased line by line once shipped, so /forget
    deletes the salt, and with it the only way, even for whoever holds the
    key, to tell which lines were the child's.
    """

    def __init__(
        self,
        key: bytes,
        salts: SaltSource | None = None,
        cache_seconds: float = 60.0,
        capacity: int = 10_000,
    ) -> None:
        self._key = key
        self._salts = salts
        # one store read per chat a minute, not per log line; after /forget on
        # another replica this one may use the old salt for up to a minute
        self._cache_seconds = cache_seconds
        self._capacity = capacity
        self._log_refs: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def sender(self, channel: str, chat_id: int | str) -> str:
        """The Rasa sender ID for a chat (never the Telegram ID itself)."""
        digest = hmac.new(self._key, f"{channel}:{chat_id}".encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    def ref(self, channel: str, chat_id: int | str) -> str:
        """A chat's key in the gateway's stores (never written to logs)."""
        return self.sender(channel, chat_id)[:12]

    async def log_ref(self, chat_ref: str) -> str:
        """How log lines name a chat, given its store key."""
        now = time.monotonic()
        cached = self._log_refs.get(chat_ref)
        if cached is not None and cached[1] > now:
            return cached[0]
        if self._salts is None:  # no store (terminal chat): keyed, like the rest
            salt = f"unsalted:{chat_ref}"
        else:
            try:
                salt = await asyncio.to_thread(self._salts.salt, chat_ref)
            except Exception:  # a log line must never fail the work it reports on
                return "unknown"
        made = hmac.new(self._key, f"log:{salt}".encode(), hashlib.sha256).hexdigest()[:12]
        self._log_refs[chat_ref] = (made, now + self._cache_seconds)
        self._log_refs.move_to_end(chat_ref)
        while len(self._log_refs) > self._capacity:
            self._log_refs.popitem(last=False)
        return made

    def drop(self, chat_ref: str) -> None:
        """Forget the cached log reference (its salt was deleted)."""
        self._log_refs.pop(chat_ref, None)
