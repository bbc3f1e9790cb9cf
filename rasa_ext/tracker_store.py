"""Rasa's SQL tracker store, without rebuilding the conversation from its rows every turn.

Rasa's ``SQLTrackerStore`` loads every event of the session on each message,
parses each and replays them into a new tracker, and counts the stored events
again before each save to know which are new. Both grow with the conversation:
nearly a third of a turn's CPU in the Rasa server (cProfile, 10-message conversations).

This store remembers the trackers it saved (the most recent ``cache_size``
conversations) and hands the same tracker back while the database shows that
nothing changed: one indexed query for the number and the highest id of the
conversation's rows. When another Rasa server (or worker) answered the child
meanwhile, it reads only the rows added since and replays them on the
remembered tracker. A session it started itself is remembered cut as Rasa
cuts it when loading. In every other case (rows were deleted, a new session
began elsewhere, a turn failed before saving, the entry was evicted) it loads
the whole session from the database as Rasa does. Erasure and retention
(rasa_ext/erasure.py) drop what it remembers along with the rows.

A turn's events go in with one statement (Rasa's ORM sent one per event), and
the queries Rasa builds with its ORM each time are prebuilt statements.

On SQLite (the embedded profile) it also keeps a few connections open and
writes ahead (WAL, synchronous=NORMAL, as the gateway's own database): Rasa's
default opened a connection per query and waited for the disk on every
commit, with the event loop blocked. Deleted rows are overwritten with zeros
(secure_delete) and ``compact()`` empties the write-ahead log after an
erasure, so an erased conversation stays in no page of either file.

On PostgreSQL it keeps ``SQL_POOL_SIZE`` connections (2 unless set; Rasa's own
default is 50, plus 100 past the pool) and runs its queries in as many threads:
every Rasa worker of every replica holds its own pool, and they add up against
the server's ``max_connections``.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import itertools
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from rasa.core.constants import POSTGRESQL_MAX_OVERFLOW, POSTGRESQL_POOL_SIZE
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from rasa.shared.core.events import Event, SessionStarted, deserialise_events
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import QueuePool

T = TypeVar("T")

# a 10-message conversation takes about 200 KB as a tracker in memory (tracemalloc)
DEFAULT_CACHE_SIZE = 500
# PostgreSQL connections per Rasa process when SQL_POOL_SIZE and SQL_MAX_OVERFLOW
# (Rasa's own variables) are unset, as for the gateway (bot/settings.py); Rasa's
# defaults, 50 and 100, let one process hold half a server's max_connections.
DEFAULT_POOL_SIZE = 2
DEFAULT_MAX_OVERFLOW = 0


def _row(sender_id: str, event: Event) -> dict[str, Any]:
    """An event as SQLTrackerStore stores it."""
    data = event.as_dict()
    return {
        "sender_id": sender_id,
        "type_name": event.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }


def sqlite_engine(url: Any) -> Any:
    """An engine for a SQLite file: pooled connections, write-ahead log, secure delete."""
    engine = sa.create_engine(
        url,
        # any thread: erasure and retention run in worker threads
        connect_args={"check_same_thread": False},
        poolclass=QueuePool,
        pool_size=2,
        max_overflow=4,
    )

    sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _pool_variables(env: Mapping[str, str]) -> dict[str, int]:
    """Rasa's pool variables that are set, read once; fail at start-up naming the
    variable (Rasa's own ``int()`` of them fails with only the value, in the
    middle of loading the model)."""
    found: dict[str, int] = {}
    for name, least in ((POSTGRESQL_POOL_SIZE, 1), (POSTGRESQL_MAX_OVERFLOW, 0)):
        value = env.get(name)
        if value is None:
            continue
        try:
            number = int(value)
        except ValueError:
            raise ValueError(f"{name} must be a whole number, got {value!r}") from None
        if number < least:
            raise ValueError(f"{name} must be at least {least}, got {number}")
        found[name] = number
    return found


@dataclass
class _Entry:
    tracker: DialogueStateTracker
    events: int  # len(tracker.events) when saved: more means changed and not saved
    rows: int  # the conversation's rows in the table then (all sessions)
    last_id: int  # and the highest of their ids


class CachedSQLTrackerStore(SQLTrackerStore):  # type: ignore[misc]
    """``SQLTrackerStore`` that keeps saved trackers while the database agrees."""

    engine: Any  # SQLTrackerStore's, untyped there

    def __init__(self, *args: Any, cache_size: int = DEFAULT_CACHE_SIZE, **kwargs: Any) -> None:
        pool = _pool_variables(os.environ)
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite" and self.engine.url.database not in (None, ""):
            self.engine.dispose()
            self.engine = sqlite_engine(self.engine.url)
            self.sessionmaker = sessionmaker(bind=self.engine)
        elif self.engine.dialect.name == "postgresql" and not (
            {POSTGRESQL_POOL_SIZE, POSTGRESQL_MAX_OVERFLOW} <= pool.keys()
        ):
            # Rasa's defaults for what is unset replaced by Lantern's
            url = self.engine.url
            self.engine.dispose()
            options = create_engine_kwargs(url) | {
                "pool_size": pool.get(POSTGRESQL_POOL_SIZE, DEFAULT_POOL_SIZE),
                "max_overflow": pool.get(POSTGRESQL_MAX_OVERFLOW, DEFAULT_MAX_OVERFLOW),
            }
            self.engine = sa.create_engine(url, **options)
            self.sessionmaker = sessionmaker(bind=self.engine)
        self.cache_size = int(cache_size)
        # With a database server, one worker thread per pooled connection (Rasa's
        # SQL_POOL_SIZE): none waits for a connection and none is opened past the
        # pool. asyncio's default executor sizes itself by the host's CPUs, and
        # every extra thread that found the pool busy opened a connection, that
        # is a PostgreSQL server process, and closed it again.
        self._executor: ThreadPoolExecutor | None = None
        if self.engine.dialect.name != "sqlite":
            self._executor = ThreadPoolExecutor(
                max(1, self.engine.pool.size()), thread_name_prefix="tracker-store"
            )
        self._cache: OrderedDict[str, _Entry] = OrderedDict()
        # erasure runs in worker threads (asyncio.to_thread), turns in the event loop
        # (SQLite) or in the store's own threads (a database server)
        self._cache_lock = threading.Lock()
        # The hot queries as prebuilt statements on plain connections: the ORM
        # query and session around each cost about six times as much CPU.
        table = self.SQLEvent.__table__
        sender = sa.bindparam("sender_id")
        self._table = table
        self._rows_query = sa.select(sa.func.count(table.c.id), sa.func.max(table.c.id)).where(
            table.c.sender_id == sender
        )
        self._newer_query = (
            sa.select(table.c.data)
            .where(table.c.sender_id == sender, table.c.id > sa.bindparam("after"))
            .order_by(table.c.id)
        )
        # SQLTrackerStore._event_query: the rows of the latest session, in order
        session_start = (
            sa.select(sa.func.max(table.c.timestamp))
            .where(table.c.sender_id == sender, table.c.type_name == SessionStarted.type_name)
            .scalar_subquery()
        )
        in_session = sa.and_(
            table.c.sender_id == sender,
            sa.or_(table.c.timestamp >= session_start, session_start.is_(None)),
        )
        self._session_query = sa.select(table.c.data).where(in_session).order_by(table.c.id)
        self._session_count = sa.select(sa.func.count()).select_from(table).where(in_session)
        self._insert_returning = table.insert().returning(table.c.id)

    def _rows(self, connection: Any, sender_id: str) -> tuple[int, int]:
        """How many rows the conversation has, and the highest id among them."""
        count, last = connection.execute(self._rows_query, {"sender_id": sender_id}).one()
        return int(count), int(last or 0)

    async def _blocking(self, work: Callable[..., T], *args: Any) -> T:
        """Run database work: on SQLite in the event loop, as Rasa's store does; with a
        database server in one of the store's threads (one per pooled connection),
        so that the loop serves other conversations during the round trips (with
        the asyncio lock, production `bench/load.py --visit` went 83.8 → 95.1
        messages/s, single runs). On SQLite threads fought the loop for the GIL and
        each other for SQLite's lock: the embedded profile lost a quarter of its
        throughput."""
        if self._executor is None:
            return work(*args)
        call = functools.partial(contextvars.copy_context().run, work, *args)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The remembered tracker if the database has not changed since; else load it."""
        return await self._blocking(self._retrieve_latest, sender_id)

    def _retrieve_latest(self, sender_id: str) -> DialogueStateTracker | None:
        with self._cache_lock:
            entry = self._cache.get(sender_id)
        if entry is not None and len(entry.tracker.events) == entry.events:
            with self.engine.connect() as connection:
                found = self._catch_up(connection, entry)
            if found is not None:
                return found
        self.forget_cached(sender_id)
        with self.engine.connect() as connection:
            # as SQLTrackerStore.retrieve: the events of the latest session, in order
            stored = connection.execute(self._session_query, {"sender_id": sender_id})
            events = [json.loads(row.data) for row in stored]
        if not (self.domain and events):
            return None
        tracker: DialogueStateTracker = DialogueStateTracker.from_dict(
            sender_id, events, self.domain.slots
        )
        return tracker

    def _catch_up(self, connection: Any, entry: _Entry) -> DialogueStateTracker | None:
        """The remembered tracker, brought up to date with rows added since; None if
        rows went (erasure, retention) or a new session began: load it whole then."""
        sender_id = entry.tracker.sender_id
        rows, last_id = self._rows(connection, sender_id)
        added: list[Event] = []
        if (rows, last_id) != (entry.rows, entry.last_id):
            if rows <= entry.rows or last_id <= entry.last_id:
                return None
            # Another Rasa server (or worker) answered this child meanwhile: its
            # rows are the newest, and replaying them alone is what a full load
            # would do last.
            newer = connection.execute(
                self._newer_query, {"sender_id": sender_id, "after": entry.last_id}
            ).all()
            if len(newer) != rows - entry.rows:
                return None  # some rows went too
            added = deserialise_events([json.loads(row.data) for row in newer])
            if any(isinstance(event, SessionStarted) for event in added):
                return None
        with self._cache_lock:
            if self._cache.get(sender_id) is not entry:
                return None  # erased or evicted meanwhile
            for event in added:
                entry.tracker.update(event)
            entry.events, entry.rows, entry.last_id = len(entry.tracker.events), rows, last_id
            self._cache.move_to_end(sender_id)
            return entry.tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the events not stored yet, then remember the tracker."""
        await self.stream_events(tracker)  # to Rasa's event broker, if one is configured
        await self._blocking(self._save_new, tracker)

    def _save_new(self, tracker: DialogueStateTracker) -> None:
        with self._cache_lock:
            entry = self._cache.get(tracker.sender_id)
        with self.engine.begin() as connection:
            if entry is not None and entry.tracker is tracker:
                # Remembered: the new events follow those saved (events is a deque:
                # no slicing), and the rows are those known plus those inserted.
                # The lock lets no one else write this conversation between the
                # check in retrieve and here; if someone did anyway (an expired
                # lock), the next check finds the rows do not add up and loads.
                new = list(itertools.islice(tracker.events, entry.events, None))
                count, last_id = entry.rows, entry.last_id
                if new:
                    last_id = self._insert(connection, tracker.sender_id, new)
                    count += len(new)
            else:
                # as SQLTrackerStore._additional_events: past the session's stored rows
                stored = connection.execute(
                    self._session_count, {"sender_id": tracker.sender_id}
                ).scalar_one()
                new = list(itertools.islice(tracker.events, stored, None))
                if new:
                    self._insert(connection, tracker.sender_id, new)
                count, last_id = self._rows(connection, tracker.sender_id)
        if any(isinstance(event, SessionStarted) for event in new):
            # The tracker still holds the session before: remember it as retrieve
            # would load it (a child's second message was a full load before).
            if self.domain is None:
                self.forget_cached(tracker.sender_id)
                return
            tracker = self._as_loaded(tracker)
        with self._cache_lock:
            self._cache[tracker.sender_id] = _Entry(tracker, len(tracker.events), count, last_id)
            self._cache.move_to_end(tracker.sender_id)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def _insert(self, connection: Any, sender_id: str, events: list[Event]) -> int:
        """Store events with one statement (Rasa's ORM sent one per event); the last id.

        A prebuilt statement for many rows: one with the rows' values in it, which
        SQLAlchemy 1.4 does not cache, was compiled anew every time (7% of a turn).
        """
        rows = [_row(sender_id, event) for event in events]
        if connection.dialect.name == "postgresql":
            return int(max(connection.execute(self._insert_returning, rows).scalars()))
        connection.execute(self._table.insert(), rows)
        return int(connection.exec_driver_sql("SELECT last_insert_rowid()").scalar_one())

    def _as_loaded(self, tracker: DialogueStateTracker) -> DialogueStateTracker:
        """The tracker as ``retrieve`` would load it once a new session began: the
        events stamped from the latest session start on (SQLTrackerStore's cut)."""
        start = max(e.timestamp for e in tracker.events if isinstance(e, SessionStarted))
        kept = [event for event in tracker.events if event.timestamp >= start]
        if len(kept) == len(tracker.events):
            return tracker
        loaded: DialogueStateTracker = DialogueStateTracker.from_events(
            tracker.sender_id, kept, self.domain.slots
        )
        return loaded

    def forget_cached(self, sender_id: str | None = None) -> None:
        """Drop the remembered tracker of ``sender_id``, or of everyone."""
        with self._cache_lock:
            if sender_id is None:
                self._cache.clear()
            else:
                self._cache.pop(sender_id, None)

    def compact(self) -> None:
        """After an erasure: copy the write-ahead log into the database and empty it."""
        if self.engine.dialect.name == "sqlite":
            with self.engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")

    def cached(self) -> list[str]:
        """The conversations remembered now (for tests and erasure checks)."""
        with self._cache_lock:
            return list(self._cache)
