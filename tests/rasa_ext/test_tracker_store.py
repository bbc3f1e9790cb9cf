"""The caching SQL tracker store answers exactly as Rasa's SQLTrackerStore does."""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.settings import DEFAULT_POOL_SIZE as GATEWAY_POOL_SIZE
from rasa_ext.erasure import erase_conversation
from rasa_ext.tracker_store import DEFAULT_POOL_SIZE, CachedSQLTrackerStore

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
DOMAIN = Domain.from_dict({"slots": {"language": {"type": "any", "mappings": []}}})


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "rasa.db")


def stores(db: str, cache_size: int = 100) -> tuple[CachedSQLTrackerStore, SQLTrackerStore]:
    """The caching store and Rasa's own, on one database (two Rasa servers)."""
    cached = CachedSQLTrackerStore(DOMAIN, dialect="sqlite", db=db, cache_size=cache_size)
    return cached, SQLTrackerStore(DOMAIN, dialect="sqlite", db=db)


def turn(text: str, at: float) -> list[Event]:
    return [
        UserUttered(text, timestamp=at),
        SlotSet("language", "en", timestamp=at),
        BotUttered("an answer", timestamp=at + 0.1),
        ActionExecuted("action_listen", timestamp=at + 0.2),
    ]


def new_conversation(sender: str) -> DialogueStateTracker:
    at = time.time()
    return DialogueStateTracker.from_events(
        sender,
        [
            ActionExecuted("action_session_start", timestamp=at),
            SessionStarted(timestamp=at),
            ActionExecuted("action_listen", timestamp=at),
            *turn("hi", at + 1),
        ],
        DOMAIN.slots,
    )


def next_session() -> list[Event]:
    """A new session, an hour later."""
    later = time.time() + 3600
    return [
        ActionExecuted("action_session_start", timestamp=later),
        SessionStarted(timestamp=later),
    ]


async def saved_conversation(cached: CachedSQLTrackerStore) -> DialogueStateTracker:
    """A new child's first turn, saved through the caching store."""
    tracker = new_conversation(uuid.uuid4().hex)
    await cached.save(tracker)
    return tracker


def events(tracker: DialogueStateTracker | None) -> list[dict]:
    assert tracker is not None
    return [e.as_dict() for e in tracker.events]


async def answer_elsewhere(rasa: SQLTrackerStore, sender: str, more: list[Event]) -> None:
    """Another Rasa server (Rasa's own store) handles a turn of the conversation."""
    elsewhere = await rasa.retrieve(sender)
    assert elsewhere is not None
    elsewhere.update_with_events(more, DOMAIN)
    await rasa.save(elsewhere)


async def test_a_saved_conversation_comes_back_as_rasa_loads_it(db: str) -> None:
    cached, rasa = stores(db)
    tracker = await saved_conversation(cached)
    sender = tracker.sender_id
    for k in range(3):  # turns as the processor runs them: retrieve, update, save
        again = await cached.retrieve(sender)
        assert again is tracker  # nothing rebuilt
        again.update_with_events(turn(f"question {k}", time.time() + k), DOMAIN)
        await cached.save(again)
    assert events(await cached.retrieve(sender)) == events(await rasa.retrieve(sender))
    assert len(events(await rasa.retrieve(sender))) == 3 + 4 * 4  # each event stored once
    assert (await rasa.retrieve(sender)).get_slot("language") == "en"  # type: ignore[union-attr]


async def test_what_another_server_wrote_is_caught_up_with(db: str) -> None:
    cached, rasa = stores(db)
    remembered = await saved_conversation(cached)
    sender = remembered.sender_id
    for k in range(2):
        await answer_elsewhere(rasa, sender, turn(f"from the other server {k}", time.time()))

        mine = await cached.retrieve(sender)
        assert mine is remembered  # the new rows replayed on it, not rebuilt
        assert events(mine) == events(await rasa.retrieve(sender))
        assert mine.latest_message.text == f"from the other server {k}"  # type: ignore[union-attr]


async def test_a_session_started_elsewhere_is_loaded_whole(db: str) -> None:
    cached, rasa = stores(db)
    remembered = await saved_conversation(cached)
    sender = remembered.sender_id
    await answer_elsewhere(rasa, sender, next_session())

    mine = await cached.retrieve(sender)
    assert mine is not remembered
    assert events(mine) == events(await rasa.retrieve(sender))


async def test_rows_deleted_elsewhere_are_not_served_from_memory(db: str) -> None:
    cached, rasa = stores(db)
    sender = uuid.uuid4().hex
    await cached.save(new_conversation(sender))
    with rasa.session_scope() as session:
        session.query(rasa.SQLEvent).filter(rasa.SQLEvent.sender_id == sender).delete()
        session.commit()
    assert await cached.retrieve(sender) is None


async def test_rows_deleted_and_added_elsewhere_load_the_conversation_whole(db: str) -> None:
    cached, rasa = stores(db)
    remembered = await saved_conversation(cached)
    sender = remembered.sender_id
    await answer_elsewhere(rasa, sender, turn("later", time.time()))
    with rasa.session_scope() as session:  # retention took the oldest row meanwhile
        oldest = session.query(rasa.SQLEvent).order_by(rasa.SQLEvent.id).first()
        session.delete(oldest)
        session.commit()

    mine = await cached.retrieve(sender)
    assert mine is not remembered
    assert events(mine) == events(await rasa.retrieve(sender))


async def test_a_turn_that_failed_before_saving_is_not_served(db: str) -> None:
    cached, _ = stores(db)
    sender = uuid.uuid4().hex
    await cached.save(new_conversation(sender))
    half = await cached.retrieve(sender)
    assert half is not None
    half.update(UserUttered("never saved", timestamp=time.time()))

    loaded = await cached.retrieve(sender)
    assert loaded is not half
    assert loaded.latest_message.text == "hi"  # type: ignore[union-attr]


async def test_a_new_session_is_loaded_as_rasa_cuts_it(db: str) -> None:
    cached, rasa = stores(db)
    tracker = await saved_conversation(cached)
    sender = tracker.sender_id
    tracker.update_with_events(next_session(), DOMAIN)
    await cached.save(tracker)
    remembered = await cached.retrieve(sender)
    assert remembered is not tracker and sender in cached.cached()  # cut, not loaded
    assert events(remembered) == events(await rasa.retrieve(sender))
    loaded = await rasa.retrieve(sender)
    assert loaded is not None and remembered is not None
    assert remembered.current_state() == loaded.current_state()  # slots, latest message...


async def test_a_new_childs_first_turns_are_remembered_as_rasa_loads_them(db: str) -> None:
    cached, rasa = stores(db)
    sender = uuid.uuid4().hex
    assert await cached.retrieve(sender) is None
    tracker = await cached.create_tracker(sender)  # [action_listen], saved
    at = time.time()
    tracker.update_with_events(
        [
            ActionExecuted("action_session_start", timestamp=at),
            SessionStarted(timestamp=at),
            ActionExecuted("action_listen", timestamp=at),
            *turn("hi", at + 1),
        ],
        DOMAIN,
    )
    await cached.save(tracker)
    first = await cached.retrieve(sender)
    assert first is not None and sender in cached.cached()
    loaded = await rasa.retrieve(sender)
    assert loaded is not None
    assert events(first) == events(loaded) and first.current_state() == loaded.current_state()
    first.update_with_events(turn("and now?", at + 2), DOMAIN)
    await cached.save(first)
    assert await cached.retrieve(sender) is first  # no load from the database
    assert events(first) == events(await rasa.retrieve(sender))


async def test_memory_holds_the_most_recent_conversations_only(db: str) -> None:
    cached, rasa = stores(db, cache_size=2)
    senders = [uuid.uuid4().hex for _ in range(3)]
    for sender in senders:
        await cached.save(new_conversation(sender))
    assert cached.cached() == senders[1:]
    assert events(await cached.retrieve(senders[0])) == events(await rasa.retrieve(senders[0]))
    cached.forget_cached()
    assert cached.cached() == []


async def test_an_erased_conversation_is_in_no_page_of_the_files(db: str) -> None:
    cached, _ = stores(db)
    child, other = uuid.uuid4().hex, uuid.uuid4().hex
    for sender in (child, other):
        tracker = new_conversation(sender)
        tracker.update(UserUttered(f"secret of {sender}", timestamp=time.time()))
        await cached.save(tracker)

    await erase_conversation(cached, child)

    files = b"".join(p.read_bytes() for p in Path(db).parent.glob("rasa.db*"))
    assert f"secret of {child}".encode() not in files
    assert child.encode() not in files
    assert await cached.retrieve(other) is not None  # the others are still there


async def test_rows_are_written_as_rasa_writes_them(tmp_path: Path) -> None:
    sender = uuid.uuid4().hex
    tracker = new_conversation(sender)
    tracker.update(
        UserUttered("where can i sleep", {"name": "ask_shelter", "confidence": 0.9}),
    )
    tracker.update(ActionExecuted("action_answer_topic"))
    written = []
    for kind in (CachedSQLTrackerStore, SQLTrackerStore):
        store = kind(DOMAIN, dialect="sqlite", db=str(tmp_path / f"{kind.__name__}.db"))
        await store.save(tracker)
        with store.session_scope() as session:
            rows = session.query(store.SQLEvent).order_by(store.SQLEvent.id).all()
            written.append(
                [(r.sender_id, r.type_name, r.timestamp, r.intent_name, r.action_name, r.data)
                 for r in rows]
            )  # fmt: skip
    assert written[0] == written[1]
    assert ("ask_shelter", None) in [(r[3], r[4]) for r in written[0]]


@contextlib.contextmanager
def postgres_schema() -> Iterator[dict[str, Any]]:
    """Store settings for a schema of its own in PostgreSQL, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES)
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        yield {
            "dialect": "postgresql",
            "host": "127.0.0.1",
            "port": 5432,
            "db": "test",
            "username": "postgres",
            "query": {"options": f"-csearch_path={schema}"},
        }
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Store settings for a SQLite file, and for a schema of its own in PostgreSQL."""
    if request.param == "sqlite":
        yield {"dialect": "sqlite", "db": str(tmp_path / "rasa.db")}
        return
    with postgres_schema() as settings:
        yield settings


@pytest.fixture
def on_any_db(
    any_db: dict[str, Any],
) -> Iterator[tuple[CachedSQLTrackerStore, SQLTrackerStore]]:
    """The caching store and Rasa's own on one database of each kind."""
    cached, rasa = CachedSQLTrackerStore(DOMAIN, **any_db), SQLTrackerStore(DOMAIN, **any_db)
    yield cached, rasa
    cached.engine.dispose()
    rasa.engine.dispose()


def assert_rows_remembered(cached: CachedSQLTrackerStore, sender: str) -> None:
    """What the store remembers of a conversation's rows is what the database has."""
    entry = cached._cache[sender]
    with cached.engine.connect() as connection:
        assert (entry.rows, entry.last_id) == cached._rows(connection, sender)


async def test_what_is_remembered_of_the_rows_matches_the_database(
    on_any_db: tuple[CachedSQLTrackerStore, SQLTrackerStore],
) -> None:
    cached, rasa = on_any_db
    sender = uuid.uuid4().hex
    tracker = new_conversation(sender)
    for k in range(4):
        await cached.save(tracker)
        assert_rows_remembered(cached, sender)
        again = await cached.retrieve(sender)
        assert again is tracker  # the rows added up: nothing loaded
        if k == 2:
            await answer_elsewhere(rasa, sender, turn("from the other server", time.time()))
            tracker = await cached.retrieve(sender)  # type: ignore[assignment]
            assert tracker is again
        tracker.update_with_events(turn(f"question {k}", time.time() + k), DOMAIN)
    await cached.save(tracker)
    assert events(await cached.retrieve(sender)) == events(await rasa.retrieve(sender))


async def test_a_turn_of_many_events_is_stored_whole(
    on_any_db: tuple[CachedSQLTrackerStore, SQLTrackerStore],
) -> None:
    cached, rasa = on_any_db
    tracker = await saved_conversation(cached)
    sender = tracker.sender_id
    at = time.time()
    tracker.update_with_events([e for k in range(60) for e in turn(f"q{k}", at + k)], DOMAIN)
    await cached.save(tracker)  # 240 events at once
    assert_rows_remembered(cached, sender)
    assert events(await rasa.retrieve(sender)) == events(tracker)


async def test_the_full_conversation_comes_back_as_rasa_loads_it(
    on_any_db: tuple[CachedSQLTrackerStore, SQLTrackerStore],
) -> None:
    cached, rasa = on_any_db
    tracker = await saved_conversation(cached)
    sender = tracker.sender_id
    tracker.update_with_events(next_session(), DOMAIN)
    await cached.save(tracker)  # the API's /tracker shows every session
    full = await cached.retrieve_full_tracker(sender)
    assert events(full) == events(await rasa.retrieve_full_tracker(sender)) == events(tracker)


def test_a_rasa_worker_and_a_gateway_keep_as_many_connections_by_default() -> None:
    """bot/ and rasa_ext/ share no code; the documented default is one number."""
    assert DEFAULT_POOL_SIZE == GATEWAY_POOL_SIZE


@pytest.mark.parametrize(
    ("env", "pool", "overflow"),
    [
        ({}, 2, 0),
        ({"SQL_POOL_SIZE": "3"}, 3, 0),
        ({"SQL_POOL_SIZE": "6", "SQL_MAX_OVERFLOW": "3"}, 6, 3),
    ],
)
async def test_postgresql_connections_are_bounded_and_matched_by_threads(
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    pool: int,
    overflow: int,
) -> None:
    """Rasa's own default (50 kept, 100 more) would let one process take every
    connection a PostgreSQL server allows; threads beyond the pool would open and
    close connections as they went."""
    for name in ("SQL_POOL_SIZE", "SQL_MAX_OVERFLOW"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with postgres_schema() as settings:
        store = CachedSQLTrackerStore(DOMAIN, **settings)
        try:
            pool_now = store.engine.pool
            assert (pool_now.size(), pool_now._max_overflow) == (pool, overflow)
            assert store._executor is not None and store._executor._max_workers == pool
            # still on the schema Rasa's engine was built for
            tracker = await saved_conversation(store)
            store.forget_cached()
            assert events(await store.retrieve(tracker.sender_id)) == events(tracker)
        finally:
            store.engine.dispose()


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("SQL_POOL_SIZE", "four", "SQL_POOL_SIZE must be a whole number, got 'four'"),
        ("SQL_POOL_SIZE", "0", "SQL_POOL_SIZE must be at least 1, got 0"),
        ("SQL_MAX_OVERFLOW", "-1", "SQL_MAX_OVERFLOW must be at least 0, got -1"),
    ],
)
def test_a_bad_pool_variable_stops_the_start_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str
) -> None:
    """As the gateway's settings do; Rasa's own int() names only the value."""
    monkeypatch.setenv(name, value)
    with postgres_schema() as settings, pytest.raises(ValueError, match=re.escape(says)):
        CachedSQLTrackerStore(DOMAIN, **settings)
