from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.store import MessageLog, UpdateInbox, updates


@pytest.fixture
def inbox(engine: Engine) -> UpdateInbox:
    return UpdateInbox(engine)


def test_an_update_is_stored_once(inbox: UpdateInbox) -> None:
    assert inbox.add(10, "ref", {"update_id": 10, "message": {"text": "hi"}})
    assert not inbox.add(10, "ref", {"update_id": 10})
    assert inbox.state(10) == "pending"


def test_pending_updates_come_back_in_order_until_done(inbox: UpdateInbox) -> None:
    for update_id in (3, 1, 2):
        inbox.add(update_id, None, {"update_id": update_id})
    assert [u["update_id"] for u in inbox.pending()] == [1, 2, 3]
    inbox.mark_done(2)
    assert [u["update_id"] for u in inbox.pending()] == [1, 3]
    assert inbox.state(2) == "done"


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
    assert [u["update_id"] for u in inbox.pending()] == [4]
    inbox.mark_done(3)  # the dispatcher marks the /forget done afterwards: nothing comes back
    assert inbox.state(3) is None and inbox.state(1) is None
    assert inbox.state(5) == "done"
