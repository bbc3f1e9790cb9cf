from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.store import (
    LogSalts,
    MessageLog,
    Note,
    UpdateInbox,
    log_salts,
    make_engine,
    noting,
    updates,
)
from tests.bot.conftest import POSTGRES


@pytest.fixture
def inbox(engine: Engine) -> UpdateInbox:
    return UpdateInbox(engine)


def test_an_update_is_stored_once(inbox: UpdateInbox) -> None:
    assert inbox.add(10, "ref", {"update_id": 10, "message": {"text": "hi"}})
    assert not inbox.add(10, "ref", {"update_id": 10})
    assert inbox.state(10) == "pending"


def ids(inbox: UpdateInbox, chat_ref: str | None) -> list[tuple[int, bool]]:
    """The chat's unfinished updates (taken, which starts the first, and given back)."""
    taken = inbox.take(chat_ref, "reader", 30) or []
    inbox.give_back(chat_ref, "reader")
    return [(u.payload["update_id"], u.started) for u in taken]


def test_unfinished_updates_come_back_per_chat_in_order_until_done(inbox: UpdateInbox) -> None:
    for update_id in (3, 1, 2):
        inbox.add(update_id, "child", {"update_id": update_id})
    inbox.add(4, None, {"update_id": 4})
    assert ids(inbox, "child") == [(1, False), (2, False), (3, False)]  # 1 is started now
    inbox.mark_done(2)
    assert ids(inbox, "child") == [(1, True), (3, False)]
    assert ids(inbox, None) == [(4, False)]
    assert inbox.state(2) == "done" and inbox.state(1) == "active"
    assert inbox.waiting_chats() == ["child", None]
    assert inbox.waiting_chats(older_than_seconds=3600) == []


def test_a_chats_lease_has_one_holder_until_released_or_expired(inbox: UpdateInbox) -> None:
    assert inbox.acquire("child", "replica-a", 30)
    assert not inbox.acquire("child", "replica-b", 30)
    assert inbox.acquire("child", "replica-a", 30)  # renewing, or resuming after a restart
    assert inbox.acquire("other", "replica-b", 30)
    inbox.give_back("child", "replica-b")  # not the holder: nothing changes
    assert not inbox.acquire("child", "replica-b", 30)
    inbox.give_back("child", "replica-a")
    assert inbox.acquire("child", "replica-b", -1)  # taken, but already expired
    assert inbox.acquire("child", "replica-a", 30)


def test_a_chat_is_taken_with_its_updates_and_given_back(inbox: UpdateInbox) -> None:
    inbox.add(1, "child", {"update_id": 1})
    inbox.add(2, None, {"update_id": 2})
    taken = inbox.take("child", "replica-a", 30)
    assert taken is not None and [u.payload["update_id"] for u in taken] == [1]
    assert inbox.take("child", "replica-b", 30) is None  # held by replica-a
    inbox.mark_done(1)
    assert not inbox.give_back("child", "replica-a")  # nothing new: done
    inbox.add(3, "child", {"update_id": 3})
    assert inbox.take("child", "replica-b", 30) is not None  # released: anyone may take it
    inbox.add(4, "child", {"update_id": 4})  # arrives while replica-b drains
    inbox.mark_done(3)
    assert inbox.give_back("child", "replica-b")  # 4 is waiting: take again
    taken = inbox.take(None, "replica-a", 30)  # updates without a chat have a lease too
    assert taken is not None and [u.payload["update_id"] for u in taken] == [2]
    assert inbox.take(None, "replica-b", 30) is None


def test_updates_are_started_and_done_in_the_drains_transactions(inbox: UpdateInbox) -> None:
    for update_id in (1, 2, 3):
        inbox.add(update_id, "child", {"update_id": update_id})
    taken = inbox.take("child", "replica-a", 30)
    assert taken is not None and [u.update_id for u in taken] == [1, 2, 3]
    assert [inbox.state(i) for i in (1, 2, 3)] == ["active", "pending", "pending"]
    inbox.advance(1, 2)
    assert [inbox.state(i) for i in (1, 2, 3)] == ["done", "active", "pending"]
    assert inbox.give_back("child", "replica-a", done=2)  # 3 still waits
    assert [inbox.state(i) for i in (1, 2, 3)] == ["done", "done", "pending"]
    assert inbox.acquire("child", "replica-b", 30)  # released


def test_an_update_is_stored_and_its_chat_taken_in_one_go(inbox: UpdateInbox) -> None:
    inbox.add(1, "child", {"update_id": 1})
    stored, taken = inbox.add_and_take(2, "child", {"update_id": 2}, "replica-a", 30)
    assert stored and taken is not None and [u.update_id for u in taken] == [1, 2]
    assert [inbox.state(i) for i in (1, 2)] == ["active", "pending"]
    # held by replica-a: stored, not taken
    assert inbox.add_and_take(3, "child", {"update_id": 3}, "replica-b", 30) == (True, None)
    # seen before: neither stored again nor taken
    assert inbox.add_and_take(2, "child", {"update_id": 2}, "replica-a", 30) == (False, None)
    assert inbox.state(3) == "pending"


def test_finishing_keeps_the_chat_with_the_updates_that_came_meanwhile(
    inbox: UpdateInbox,
) -> None:
    inbox.add(1, "child", {"update_id": 1})
    inbox.take("child", "replica-a", 30)
    inbox.add(2, "child", {"update_id": 2})  # came while 1 was handled
    following = inbox.finish("child", "replica-a", 30, done=1)
    assert following is not None and [u.update_id for u in following] == [2]
    assert [inbox.state(i) for i in (1, 2)] == ["done", "active"]
    assert not inbox.acquire("child", "replica-b", 30)  # still ours
    assert inbox.finish("child", "replica-a", 30, done=2) == []  # nothing more: given back
    assert inbox.acquire("child", "replica-b", -1)  # taken, but already expired
    inbox.add(3, "child", {"update_id": 3})
    inbox.add(4, "child", {"update_id": 4})
    inbox.take("child", "replica-c", -1)  # c took 3 and its lease expired meanwhile
    assert inbox.acquire("child", "replica-b", 30)
    assert inbox.finish("child", "replica-c", 30, done=3) is None  # b has the chat now
    assert inbox.state(4) == "pending"


def test_noted_message_ids_are_written_with_the_drains_transactions(
    engine: Engine, inbox: UpdateInbox
) -> None:
    log = MessageLog(engine)
    for update_id in (1, 2):
        inbox.add(update_id, "child", {"update_id": update_id})
    inbox.take("child", "replica-a", 30)
    inbox.advance(1, 2, [Note("child", 11), Note("other", 12)])
    inbox.give_back("child", "replica-a", done=2, noted=[Note("child", 13)])
    assert log.recent("child", 60) == [11, 13] and log.recent("other", 60) == [12]


def test_ids_noted_by_the_update_being_handled_count_for_hide_and_forget(engine: Engine) -> None:
    log = MessageLog(engine)
    log.record("child", 1)
    with noting() as notes:
        assert log.defer("child", 2) and log.defer("other", 3)
        assert log.recent("child", 60) == [1, 2]  # /hide sees its own command's message
        assert log.defer("child", 4)
        assert log.forget("child") == 2  # /forget leaves nothing to write later
        assert notes.close() == [Note("other", 3)]
        assert not log.defer("child", 5)  # closed: the caller records it itself
    assert not log.defer("child", 6)


def test_done_updates_keep_no_message_and_are_purged(inbox: UpdateInbox) -> None:
    inbox.add(5, "ref", {"update_id": 5, "message": {"text": "private words"}})
    inbox.mark_done(5)
    with inbox.engine.connect() as conn:
        payload = conn.execute(select(updates.c.payload)).scalar()
    assert payload is None
    assert inbox.purge_done(older_than_seconds=3600) == 0
    assert inbox.purge_done(older_than_seconds=-1) == 1
    assert inbox.state(5) is None


def test_message_ids_are_kept_per_chat_until_forgotten(engine: Engine) -> None:
    log = MessageLog(engine)
    for message_id in (5, 6, 7):
        log.record("child-a", message_id)
    log.record("child-b", 9)
    assert log.recent("child-a", 60) == [5, 6, 7]
    assert log.forget("child-a") == 3
    assert log.recent("child-a", 60) == [] and log.recent("child-b", 60) == [9]
    assert log.purge(-1) == 1  # everything is older than "one second in the future"


def test_forget_erases_a_chats_handled_updates_but_not_later_pending_ones(
    inbox: UpdateInbox,
) -> None:
    for update_id in (1, 2, 3, 4):
        inbox.add(update_id, "child", {"update_id": update_id})
    inbox.add(5, "other", {"update_id": 5})
    for update_id in (1, 2, 5):
        inbox.mark_done(update_id)
    # 3 is the /forget being handled; 4 came after it and still waits
    assert inbox.forget("child", current_update_id=3) == 3
    assert ids(inbox, "child") == [(4, False)]
    inbox.mark_done(3)  # the dispatcher marks the /forget done afterwards: nothing comes back
    assert inbox.state(3) is None and inbox.state(1) is None
    assert inbox.state(5) == "done"


def test_a_chats_log_salt_is_random_stable_and_erasable(engine: Engine) -> None:
    salts = LogSalts(engine)
    first = salts.salt("child")
    assert first == salts.salt("child") != salts.salt("other")
    assert len(first) == 32
    assert salts.forget("child") == 1
    assert salts.salt("child") != first  # after /forget the child starts unlinked


def test_replicas_making_a_salt_together_agree_on_one(engine: Engine) -> None:
    from concurrent.futures import ThreadPoolExecutor

    replicas = [LogSalts(engine) for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        made = set(pool.map(lambda r: r.salt("child"), replicas))
    assert len(made) == 1


def test_old_log_salts_are_purged(engine: Engine) -> None:
    salts = LogSalts(engine)
    salts.salt("old")
    with engine.begin() as conn:
        conn.execute(log_salts.update().values(created_at=0.0))
    salts.salt("new")
    assert salts.purge(3600) == 1
    with engine.connect() as conn:
        assert conn.execute(select(log_salts.c.chat_ref)).scalars().all() == ["new"]


def test_a_database_server_gets_the_connections_asked_for_and_no_more() -> None:
    """SQLAlchemy's default pool (5 kept, 10 more) opened and closed a PostgreSQL
    server process for each connection past the pool."""
    engine = make_engine(POSTGRES, pool_size=3, max_overflow=1)
    try:
        assert (engine.pool.size(), engine.pool._max_overflow) == (3, 1)  # type: ignore[attr-defined]
        with engine.connect() as conn:
            assert conn.execute(select(1)).scalar_one() == 1
    finally:
        engine.dispose()
