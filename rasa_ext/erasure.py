"""Erasing conversations from Rasa's tracker store: one child on request, everyone by age.

Rasa 3.6 can save and read trackers but not delete them. These functions reach
through Rasa's wrappers (the fail-safe and awaitable stores) to the store that
holds the events and delete there: rows in SQL (and the trackers a caching SQL
store keeps in memory), keys in Redis, entries in memory; and the dialogue
states rasa_ext.states keeps.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa.core.tracker_store import InMemoryTrackerStore, RedisTrackerStore, SQLTrackerStore

from rasa_ext import states
from rasa_ext.tracker_store import CachedSQLTrackerStore

logger = logging.getLogger(__name__)


class ErasureUnsupported(Exception):
    """The configured tracker store has no erasure here: refuse rather than pretend."""


def backing_stores(store: Any) -> list[Any]:
    """The stores that really hold events, behind Rasa's wrappers (fallbacks included)."""
    found: list[Any] = []
    pending = [store]
    while pending:
        current = pending.pop()
        if current is None:
            continue
        inner = getattr(current, "_tracker_store", None)
        if inner is not None:
            pending.append(inner)
            pending.append(getattr(current, "_fallback_tracker_store", None))
        else:
            found.append(current)
    return found


def _erase_one(store: Any, sender: str) -> int:
    if isinstance(store, SQLTrackerStore):
        with store.session_scope() as session:
            deleted = (
                session.query(store.SQLEvent)
                .filter(store.SQLEvent.sender_id == sender)
                .delete(synchronize_session=False)
            )
            session.commit()
        _forget_cached(store, sender)
        return int(deleted)
    if isinstance(store, RedisTrackerStore):
        return int(store.red.delete(store.key_prefix + sender))
    if isinstance(store, InMemoryTrackerStore):
        return 0 if store.store.pop(sender, None) is None else 1
    raise ErasureUnsupported(type(store).__name__)


def _forget_cached(store: Any, sender: str | None) -> None:
    """Drop what a caching store keeps in memory and in its write-ahead log."""
    if isinstance(store, CachedSQLTrackerStore):
        store.forget_cached(sender)
        store.compact()


def _purge_one(store: Any, cutoff: float) -> int:
    if isinstance(store, SQLTrackerStore):
        # Row by row: events older than the cutoff go, a live conversation keeps
        # its recent part (slots set before the cutoff are forgotten too).
        with store.session_scope() as session:
            deleted = (
                session.query(store.SQLEvent)
                .filter(store.SQLEvent.timestamp < cutoff)
                .delete(synchronize_session=False)
            )
            session.commit()
        if deleted:
            _forget_cached(store, None)  # whose, the query does not say
        return int(deleted)
    if isinstance(store, RedisTrackerStore):
        # One key per conversation: it goes whole once its last event is old.
        gone = 0
        for key in store.red.keys(store.key_prefix + "*"):
            if _last_timestamp(store, key[len(store.key_prefix) :], store.red.get(key)) < cutoff:
                gone += int(store.red.delete(key))
        return gone
    if isinstance(store, InMemoryTrackerStore):
        old = [
            sender
            for sender, stored in list(store.store.items())
            if _last_timestamp(store, sender, stored) < cutoff
        ]
        for sender in old:
            store.store.pop(sender, None)
        return len(old)
    raise ErasureUnsupported(type(store).__name__)


def _last_timestamp(store: Any, sender: str, stored: str | None) -> float:
    if stored is None:
        return float("inf")
    tracker = store.deserialise_tracker(sender, stored)
    if tracker is None or not tracker.events:
        return 0.0
    return float(tracker.events[-1].timestamp)


async def erase_conversation(store: Any, sender: str) -> int:
    """Delete every stored event of ``sender``; return how many records went."""
    stores = backing_stores(store)
    states.forget(sender)  # the dialogue states kept in memory hold its messages too
    return sum([await asyncio.to_thread(_erase_one, s, sender) for s in stores])


async def purge_before(store: Any, cutoff: float) -> int:
    """Delete conversation data older than ``cutoff`` (a Unix time); return the count."""
    stores = backing_stores(store)
    deleted = sum([await asyncio.to_thread(_purge_one, s, cutoff) for s in stores])
    if deleted:
        states.forget(None)  # whose, the stores do not say
    return deleted
