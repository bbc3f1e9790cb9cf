"""The update inbox: every Telegram update is stored before it is confirmed to Telegram.

Telegram forgets an update once it is confirmed (the next getUpdates offset, or a
200 answer to a webhook call). Storing it first, and marking it done only after
it was handled, means a restart neither loses a child's message (pending rows
are handled again) nor repeats it (a known update_id is ignored). The message
payload is deleted as soon as the update is done; only the ID stays, for dedupe.

Several gateway replicas share the inbox. A chat's updates are handled by one
replica at a time, in update_id order: the one holding the chat's lease, which
expires unless renewed, so a replica that dies hands its chats on.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import QueuePool
from sqlalchemy.sql.expression import ColumnElement, Delete

from bot.settings import DEFAULT_POOL_SIZE

metadata = MetaData()

updates = Table(
    "gateway_updates",
    metadata,
    Column("update_id", BigInteger, primary_key=True, autoincrement=False),
    Column("chat_ref", String(32), nullable=True, index=True),
    # pending | active (handling started: a retry asks Rasa to replay) | done
    Column("state", String(8), nullable=False, index=True),
    Column("payload", Text, nullable=True),  # the raw update, removed when done
    Column("received_at", Float, nullable=False),
)

leases = Table(
    "gateway_leases",
    metadata,
    # which replica handles a chat's updates now, and until when unless renewed
    Column("chat_ref", String(32), primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("expires_at", Float, nullable=False),
)

UNFINISHED = ("pending", "active")


class Unfinished(NamedTuple):
    """An update stored but not handled to the end."""

    update_id: int
    payload: dict[str, Any]
    started: bool  # handling began before (and was cut short): a retry replays
    received_at: float


def make_engine(url: str, pool_size: int = DEFAULT_POOL_SIZE, max_overflow: int = 0) -> Engine:
    """Create an engine; SQLite gets WAL so reads do not block the writer.

    A database server gets ``pool_size`` connections kept open and at most
    ``max_overflow`` more: SQLAlchemy's default (5 + 10) had the gateway open and
    close a server process per connection beyond the pool whenever more threads
    than that wanted one.
    """
    parsed = make_url(url)
    options: dict[str, Any] = {"future": True, "pool_pre_ping": True}
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # SQLAlchemy 1.4 opens and closes a file database's connection for every
        # statement (NullPool); closing the last one checkpoints the WAL, which
        # was a sixth of the gateway's CPU under load (bench/load.py). Keep a
        # few open; the blocking calls run in worker threads, hence any thread.
        options |= {
            # no server that could have dropped a connection: no test query
            # before every transaction (about 8 per message)
            "pool_pre_ping": False,
            "poolclass": QueuePool,
            "pool_size": 4,
            "max_overflow": 8,
            "connect_args": {"check_same_thread": False},
        }
    elif parsed.get_backend_name() != "sqlite":
        options |= {"pool_size": pool_size, "max_overflow": max_overflow}
    engine = create_engine(url, **options)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _wal(dbapi_connection: Any, _: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    return engine


SCHEMA_LOCK = 0x4C414E54  # "LANT": one advisory lock for creating the gateway's tables


def create_tables(tables: MetaData, engine: Engine) -> None:
    """Create missing tables; replicas starting together take turns (PostgreSQL)."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
        tables.create_all(conn)


# The inbox's statements are built once, with bound parameters: built anew for
# each call, with the values in them, they cost SQLAlchemy more than the
# database work (construction, then a cache key per execution: a fifth of the
# gateway's CPU under load, py-spy). A statement built once keeps its key.


def _in_chat(has_chat: bool) -> ColumnElement[bool]:
    """The chat's rows: ``= :chat``, or the rows without a chat (SQL's IS NULL)."""
    return updates.c.chat_ref == bindparam("chat") if has_chat else updates.c.chat_ref.is_(None)


_UNFINISHED = {
    has_chat: select(updates.c.update_id, updates.c.payload, updates.c.state, updates.c.received_at)
    .where(_in_chat(has_chat), updates.c.state.in_(UNFINISHED))
    .order_by(updates.c.update_id)
    for has_chat in (True, False)
}
_HAS_UNFINISHED = {
    has_chat: select(updates.c.update_id)
    .where(_in_chat(has_chat), updates.c.state.in_(UNFINISHED))
    .limit(1)
    for has_chat in (True, False)
}
_INSERT = updates.insert()
_START = (
    update(updates)
    .where(updates.c.update_id == bindparam("id"), updates.c.state == "pending")
    .values(state="active")
)
_DONE = (
    update(updates).where(updates.c.update_id == bindparam("id")).values(state="done", payload=None)
)
_RELEASE = delete(leases).where(
    leases.c.chat_ref == bindparam("chat"), leases.c.owner == bindparam("owner")
)
# taken when free, renewed by its holder, taken over once expired
_LEASE = {
    name: insert(leases)
    .values(chat_ref=bindparam("chat"), owner=bindparam("owner"), expires_at=bindparam("until"))
    .on_conflict_do_update(
        index_elements=[leases.c.chat_ref],
        set_={"owner": bindparam("owner"), "expires_at": bindparam("until")},
        where=or_(leases.c.owner == bindparam("owner"), leases.c.expires_at < bindparam("now")),
    )
    for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}


def _chat(chat_ref: str | None) -> dict[str, Any]:
    return {} if chat_ref is None else {"chat": chat_ref}


def _unfinished(conn: Connection, chat_ref: str | None) -> list[Unfinished]:
    rows = conn.execute(_UNFINISHED[chat_ref is not None], _chat(chat_ref)).all()
    return [
        Unfinished(r.update_id, json.loads(r.payload), r.state == "active", r.received_at)
        for r in rows
        if r.payload
    ]


def _insert(
    conn: Connection, update_id: int, chat_ref: str | None, payload: dict[str, Any]
) -> None:
    row = {
        "update_id": update_id,
        "chat_ref": chat_ref,
        "state": "pending",
        "payload": json.dumps(payload, ensure_ascii=False),
        "received_at": time.time(),
    }
    conn.execute(_INSERT, row)


def _start(conn: Connection, update_id: int) -> None:
    """Note that handling began: if it is cut short, the retry is a replay."""
    conn.execute(_START, {"id": update_id})


def _done(conn: Connection, update_id: int) -> None:
    """The update is handled: keep its id (duplicates), drop its content."""
    conn.execute(_DONE, {"id": update_id})


def _has_unfinished(conn: Connection, chat_ref: str | None) -> bool:
    found = conn.execute(_HAS_UNFINISHED[chat_ref is not None], _chat(chat_ref)).first()
    return found is not None


def _release(conn: Connection, chat_ref: str, owner: str) -> None:
    conn.execute(_RELEASE, {"chat": chat_ref, "owner": owner})


class UpdateInbox:
    """Durable record of Telegram updates, keyed by update_id. Blocking: call via a thread."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_tables(metadata, engine)

    def add(self, update_id: int, chat_ref: str | None, payload: dict[str, Any]) -> bool:
        """Store a new update; return False when this update_id was seen before."""
        try:
            with self.engine.begin() as conn:
                _insert(conn, update_id, chat_ref, payload)
        except IntegrityError:
            return False
        return True

    def add_and_take(
        self,
        update_id: int,
        chat_ref: str | None,
        payload: dict[str, Any],
        owner: str,
        seconds: float,
    ) -> tuple[bool, list[Unfinished] | None]:
        """``add``, then ``take`` in the same transaction: whether the update is new, and
        the chat's unfinished updates when the lease was free (None: held by another)."""
        try:
            with self.engine.begin() as conn:
                _insert(conn, update_id, chat_ref, payload)
                return True, self._take(conn, chat_ref, owner, seconds)
        except IntegrityError:
            return False, None

    def mark_done(self, update_id: int) -> None:
        with self.engine.begin() as conn:
            _done(conn, update_id)

    def waiting_chats(self, older_than_seconds: float = 0.0) -> list[str | None]:
        """Chats with updates received before the cutoff and not yet handled."""
        cutoff = time.time() - older_than_seconds
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(updates.c.chat_ref)
                .where(updates.c.state.in_(UNFINISHED), updates.c.received_at <= cutoff)
                .group_by(updates.c.chat_ref)
                .order_by(func.min(updates.c.update_id))
            ).all()
        return [r.chat_ref for r in rows]

    def acquire(self, chat_ref: str, owner: str, seconds: float) -> bool:
        """Take (or extend) a chat's lease; False while another live replica holds it."""
        with self.engine.begin() as conn:
            return self._lease(conn, chat_ref, owner, seconds)

    # A chat is drained as take (or add_and_take) → handle each → finish: one
    # transaction at each end and one between two updates, and finish takes the
    # updates that came meanwhile (they were five per update; the inbox is most of
    # the gateway's database work). An update is marked started in the transaction
    # before it is handled, and done in the one after.

    def take(self, chat_ref: str | None, owner: str, seconds: float) -> list[Unfinished] | None:
        """Take a chat's lease and its unfinished updates, in order, and start the first;
        None if another holds it. ``started`` says whether an update was begun before."""
        with self.engine.begin() as conn:
            return self._take(conn, chat_ref, owner, seconds)

    def _take(
        self, conn: Connection, chat_ref: str | None, owner: str, seconds: float
    ) -> list[Unfinished] | None:
        if not self._lease(conn, chat_ref or "", owner, seconds):
            return None
        found = _unfinished(conn, chat_ref)
        if found:
            _start(conn, found[0].update_id)
        return found

    def advance(self, done: int, following: int, noted: Iterable[Note] = ()) -> None:
        """Mark one update done, note the message IDs its handling noted, and start the
        next update of the chat."""
        with self.engine.begin() as conn:
            _done(conn, done)
            _note(conn, noted)
            _start(conn, following)

    def give_back(
        self, chat_ref: str | None, owner: str, done: int | None = None, noted: Iterable[Note] = ()
    ) -> bool:
        """Mark the last handled update done, note the message IDs noted while handling,
        release the chat's lease, and return whether updates arrived meanwhile (to take
        again)."""
        with self.engine.begin() as conn:
            if done is not None:
                _done(conn, done)
            _note(conn, noted)
            _release(conn, chat_ref or "", owner)
            return _has_unfinished(conn, chat_ref)

    def finish(
        self,
        chat_ref: str | None,
        owner: str,
        seconds: float,
        done: int | None = None,
        noted: Iterable[Note] = (),
    ) -> list[Unfinished] | None:
        """Mark the last handled update done and note its message IDs; then keep the chat
        with the updates that arrived meanwhile (the first started), or give it back
        (an empty list) when none did. None: the lease expired and another took it."""
        with self.engine.begin() as conn:
            if done is not None:
                _done(conn, done)
            _note(conn, noted)
            found = _unfinished(conn, chat_ref)
            if not found:
                _release(conn, chat_ref or "", owner)
                return []
            if not self._lease(conn, chat_ref or "", owner, seconds):
                return None
            _start(conn, found[0].update_id)
            return found

    def _lease(self, conn: Connection, chat_ref: str, owner: str, seconds: float) -> bool:
        now = time.time()
        lease = {"chat": chat_ref, "owner": owner, "until": now + seconds, "now": now}
        dialect = "postgresql" if self.engine.dialect.name == "postgresql" else "sqlite"
        return bool(conn.execute(_LEASE[dialect], lease).rowcount)

    def ping(self) -> None:
        """Raise if the database does not answer."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

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


class Note(NamedTuple):
    """A message in a child's chat, to note in the message log."""

    chat_ref: str
    message_id: int


class Notes:
    """Message IDs noted while one update is handled, until the inbox transaction
    that marks the update done writes them (bench/load.py: each transaction of its
    own cost the gateway and PostgreSQL about 1 ms of CPU, two per message).

    Tasks the handlers start share the object and may outlive the update: once
    closed, it takes nothing more and such notes are written at once.
    """

    def __init__(self) -> None:
        self._rows: list[Note] = []
        self._closed = False
        self._lock = threading.Lock()  # MessageLog reads it from worker threads

    def add(self, chat_ref: str, message_ids: Iterable[int]) -> bool:
        """Keep the IDs for the closing transaction; False once it is written."""
        with self._lock:
            if self._closed:
                return False
            self._rows += [Note(chat_ref, i) for i in message_ids]
            return True

    def pop(self, chat_ref: str) -> list[Note]:
        """Take out the chat's notes (to write or erase them now)."""
        with self._lock:
            found = [n for n in self._rows if n.chat_ref == chat_ref]
            self._rows = [n for n in self._rows if n.chat_ref != chat_ref]
            return found

    def close(self) -> list[Note]:
        """Every note left, for the closing transaction; later ones are written at once."""
        with self._lock:
            self._closed = True
            rows, self._rows = self._rows, []
            return rows


# The notes of the update being handled, in the task handling it and those it starts
# (asyncio.to_thread carries it into worker threads too).
_notes: ContextVar[Notes | None] = ContextVar("lantern_message_notes", default=None)


@contextmanager
def noting() -> Iterator[Notes]:
    """Collect the message IDs noted in this context, for the update's closing transaction."""
    notes = Notes()
    token = _notes.set(notes)
    try:
        yield notes
    finally:
        _notes.reset(token)


def _note(conn: Connection, noted: Iterable[Note]) -> None:
    rows = [{"chat_ref": n.chat_ref, "message_id": n.message_id, "at": time.time()} for n in noted]
    if rows:
        conn.execute(messages.insert(), rows)


class MessageLog:
    """Which messages are in which child's chat (IDs only, never text). Blocking: use a thread."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_tables(metadata, engine)

    @staticmethod
    def defer(chat_ref: str, *message_ids: int) -> bool:
        """Leave the IDs to the transaction closing the update being handled, if there
        is one; False when they must be recorded now. Does not block."""
        notes = _notes.get()
        return notes is not None and notes.add(chat_ref, message_ids)

    def record(self, chat_ref: str, *message_ids: int) -> None:
        """Note messages in a chat, in one transaction."""
        if not message_ids:
            return
        with self.engine.begin() as conn:
            _note(conn, [Note(chat_ref, i) for i in message_ids])

    def recent(self, chat_ref: str, within_seconds: float) -> list[int]:
        """Message IDs of a chat younger than ``within_seconds``, oldest first, including
        those the update being handled noted so far."""
        cutoff = time.time() - within_seconds
        notes = _notes.get()
        with self.engine.begin() as conn:
            _note(conn, notes.pop(chat_ref) if notes is not None else ())
            rows = conn.execute(
                select(messages.c.message_id)
                .where(messages.c.chat_ref == chat_ref, messages.c.at >= cutoff)
                .order_by(messages.c.id)
            ).all()
        return [int(r.message_id) for r in rows]

    def forget(self, chat_ref: str) -> int:
        """Erase a chat's message IDs, those noted by the update being handled too."""
        notes = _notes.get()
        if notes is not None:
            notes.pop(chat_ref)
        return _deleted(self.engine, delete(messages).where(messages.c.chat_ref == chat_ref))

    def purge(self, older_than_seconds: float) -> int:
        cutoff = time.time() - older_than_seconds
        return _deleted(self.engine, delete(messages).where(messages.c.at < cutoff))


log_salts = Table(
    "gateway_log_salts",
    metadata,
    # a random salt per chat: logs name the chat by a hash of it (bot.logs),
    # so deleting the row cuts every log line off from the child
    Column("chat_ref", String(32), primary_key=True),
    Column("salt", String(32), nullable=False),
    Column("created_at", Float, nullable=False, index=True),
)


class LogSalts:
    """The random salt behind each chat's log reference. Blocking: call via a thread."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_tables(metadata, engine)

    def salt(self, chat_ref: str) -> str:
        """The chat's salt, made on first use; replicas making it at once agree on one."""
        find = select(log_salts.c.salt).where(log_salts.c.chat_ref == chat_ref)
        with self.engine.connect() as conn:
            found = conn.execute(find).scalar_one_or_none()
        if found is not None:
            return str(found)
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        made = (
            dialect.insert(log_salts)
            .values(chat_ref=chat_ref, salt=secrets.token_hex(16), created_at=time.time())
            .on_conflict_do_nothing(index_elements=[log_salts.c.chat_ref])
        )
        with self.engine.begin() as conn:
            conn.execute(made)
            return str(conn.execute(find).scalar_one())

    def forget(self, chat_ref: str) -> int:
        return _deleted(self.engine, delete(log_salts).where(log_salts.c.chat_ref == chat_ref))

    def purge(self, older_than_seconds: float) -> int:
        """Drop old salts: a chat's log lines stay linkable for the retention period at most."""
        cutoff = time.time() - older_than_seconds
        return _deleted(self.engine, delete(log_salts).where(log_salts.c.created_at < cutoff))


def _deleted(engine: Engine, statement: Delete) -> int:
    """Run a DELETE; how many rows it removed."""
    with engine.begin() as conn:
        return int(conn.execute(statement).rowcount or 0)
