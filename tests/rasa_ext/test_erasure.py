"""Erasure and retention in Rasa's tracker stores: SQLite, PostgreSQL, Redis and memory."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa.core.tracker_store import (
    AwaitableTrackerStore,
    FailSafeTrackerStore,
    InMemoryTrackerStore,
    RedisTrackerStore,
    SQLTrackerStore,
    TrackerStore,
)
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_ext.erasure import ErasureUnsupported, backing_stores, erase_conversation, purge_before
from rasa_ext.tracker_store import CachedSQLTrackerStore

OLD, RECENT = 1_000.0, time.time()  # OLD is 1970: no real conversation is that old


def conversation(sender: str, at: float) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(
        sender,
        [
            ActionExecuted("action_listen", timestamp=at),
            UserUttered("someone keeps my passport", timestamp=at + 1),
            BotUttered("Call 112", timestamp=at + 2),
        ],
    )


@pytest.fixture(
    params=["sqlite", "postgresql", "cached-sqlite", "cached-postgresql", "redis", "memory"]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TrackerStore]:
    """Each tracker store the project configures, wrapped as Rasa's agent wraps it."""
    domain = Domain.empty()
    inner: Any
    sql = CachedSQLTrackerStore if request.param.startswith("cached-") else SQLTrackerStore
    if request.param.endswith("sqlite"):
        inner = sql(domain, dialect="sqlite", db=str(tmp_path / "rasa.db"))
    elif request.param.endswith("postgresql"):
        inner = sql(
            domain, dialect="postgresql", host="127.0.0.1", port=5432, db="test",
            username="postgres",
        )  # fmt: skip
    elif request.param == "redis":
        inner = RedisTrackerStore(domain, host="127.0.0.1", key_prefix=f"t{uuid.uuid4().hex}")
    else:
        inner = InMemoryTrackerStore(domain)
    yield AwaitableTrackerStore(FailSafeTrackerStore(inner))
    if request.param == "redis":
        for key in inner.red.keys(inner.key_prefix + "*"):
            inner.red.delete(key)


def sender() -> str:
    return uuid.uuid4().hex


async def test_one_conversation_is_erased_and_the_others_stay(store: TrackerStore) -> None:
    child, other = sender(), sender()
    await store.save(conversation(child, RECENT))
    await store.save(conversation(other, RECENT))

    assert await erase_conversation(store, child) > 0

    assert await store.retrieve(child) is None
    kept = await store.retrieve(other)
    assert kept is not None and kept.latest_message is not None
    assert kept.latest_message.text == "someone keeps my passport"
    assert await erase_conversation(store, child) == 0  # twice is harmless
    for inner in backing_stores(store):
        if isinstance(inner, CachedSQLTrackerStore):
            assert child not in inner.cached() and other in inner.cached()


async def test_retention_deletes_old_conversations_only(store: TrackerStore) -> None:
    old, recent = sender(), sender()
    await store.save(conversation(old, OLD))
    await store.save(conversation(recent, RECENT))

    assert await purge_before(store, OLD + 100) >= 1

    assert await store.retrieve(old) is None
    assert await store.retrieve(recent) is not None


def test_the_wrappers_are_seen_through() -> None:
    inner = InMemoryTrackerStore(Domain.empty())
    fallback = InMemoryTrackerStore(Domain.empty())
    wrapped = AwaitableTrackerStore(FailSafeTrackerStore(inner, None, fallback))
    assert set(map(id, backing_stores(wrapped))) == {id(inner), id(fallback)}


async def test_an_unknown_store_is_refused_not_ignored() -> None:
    class Elsewhere(TrackerStore):  # type: ignore[misc]
        pass

    with pytest.raises(ErasureUnsupported):
        await erase_conversation(Elsewhere(Domain.empty()), "x")
