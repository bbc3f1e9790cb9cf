"""Structured, discreet logs: event names and pseudonyms, never message text or tokens."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import sys
from typing import Any

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


class Pseudonyms:
    """Keyed hashes of Telegram chat IDs: stable per child, meaningless without the key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def sender(self, channel: str, chat_id: int | str) -> str:
        """The Rasa sender ID for a chat (never the Telegram ID itself)."""
        digest = hmac.new(self._key, f"{channel}:{chat_id}".encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    def ref(self, channel: str, chat_id: int | str) -> str:
        """A short reference for logs."""
        return self.sender(channel, chat_id)[:12]
