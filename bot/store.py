"""The update inbox: every Telegram update is stored before it is confirmed to Telegram.

Telegram forgets an update once it is confirmed (the next getUpdates offset, or a
200 answer to a webhook call). Storing it first, and marking it done only after
it was handled, means a restart neither loses a child's message (pending rows
are handled again) nor repeats it (a known update_id is ignored). The message
payload is deleted as soon as the update is done; only the ID stays, for dedupe.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError

metadata = MetaData()

updates = Table(
    "gateway_updates",
    metadata,
    Column("update_id", BigInteger, primary_key=True, autoincrement=False),
    Column("chat_ref", String(32), nullable=True, index=True),
    Column("state", String(8), nullable=False),  # pending | done
    Column("payload", Text, nullable=True),  # the raw update, removed when done
    Column("received_at", Float, nullable=False),
)


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL so reads do not block the writer."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, future=True, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _wal(dbapi_connection: Any, _: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    return engine


class UpdateInbox:
    """Durable record of Telegram updates, keyed by update_id. Blocking: call via a thread."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)

    def add(self, update_id: int, chat_ref: str | None, payload: dict[str, Any]) -> bool:
        """Store a new update; return False when this update_id was seen before."""
        row = {
            "update_id": update_id,
            "chat_ref": chat_ref,
            "state": "pending",
            "payload": json.dumps(payload, ensure_ascii=False),
            "received_at": time.time(),
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(updates.insert().values(**row))
        except IntegrityError:
            return False
        return True

    def mark_done(self, update_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(updates)
                .where(updates.c.update_id == update_id)
                .values(state="done", payload=None)
            )

    def pending(self) -> list[dict[str, Any]]:
        """Updates received but not yet handled, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(updates.c.payload)
                .where(updates.c.state == "pending")
                .order_by(updates.c.update_id)
            ).all()
        return [json.loads(r.payload) for r in rows if r.payload]

    def state(self, update_id: int) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(
                select(updates.c.state).where(updates.c.update_id == update_id)
            ).scalar_one_or_none()

    def forget(self, chat_ref: str, current_update_id: int | None = None) -> int:
        """Erase a chat's handled updates (and the one being handled), for /forget.

        Pending updates of the chat stay: they are messages sent after the
        request, still to be handled, and are not lost.
        """
        condition = updates.c.state == "done"
        if current_update_id is not None:
            condition = or_(condition, updates.c.update_id == current_update_id)
        with self.engine.begin() as conn:
            result = conn.execute(delete(updates).where(updates.c.chat_ref == chat_ref, condition))
        return int(result.rowcount or 0)

    def purge_done(self, older_than_seconds: float) -> int:
        """Forget done updates older than the dedupe window."""
        cutoff = time.time() - older_than_seconds
        with self.engine.begin() as conn:
            result = conn.execute(
                delete(updates).where(updates.c.state == "done", updates.c.received_at < cutoff)
            )
        return int(result.rowcount or 0)


messages = Table(
    "gateway_messages",
    metadata,
    # IDs of the messages in a child's chat, both ways, so /hide can delete them
    # from the phone; kept as long as Telegram lets a bot delete them (48 h).
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("chat_ref", String(32), nullable=False, index=True),
    Column("message_id", BigInteger, nullable=False),
    Column("at", Float, nullable=False, index=True),
)


class MessageLog:
    """Which messages are in which child's chat (IDs only, never text). Blocking: use a thread."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        metadata.create_all(engine)

    def record(self, chat_ref: str, message_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                messages.insert().values(chat_ref=chat_ref, message_id=message_id, at=time.time())
            )

    def recent(self, chat_ref: str, within_seconds: float) -> list[int]:
        """Message IDs of a chat younger than ``within_seconds``, oldest first."""
        cutoff = time.time() - within_seconds
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(messages.c.message_id)
                .where(messages.c.chat_ref == chat_ref, messages.c.at >= cutoff)
                .order_by(messages.c.id)
            ).all()
        return [int(r.message_id) for r in rows]

    def forget(self, chat_ref: str) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(delete(messages).where(messages.c.chat_ref == chat_ref))
        return int(result.rowcount or 0)

    def purge(self, older_than_seconds: float) -> int:
        cutoff = time.time() - older_than_seconds
        with self.engine.begin() as conn:
            result = conn.execute(delete(messages).where(messages.c.at < cutoff))
        return int(result.rowcount or 0)
