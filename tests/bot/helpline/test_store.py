"""The ticket store on SQLite and PostgreSQL."""

from __future__ import annotations

import time

import pytest
from sqlalchemy.engine import Engine

from bot.helpline.store import CLAIMED, CLOSED, WAITING, TicketStore


@pytest.fixture
def store(engine: Engine) -> TicketStore:
    return TicketStore(engine)


def open_one(store: TicketStore, chat_id: int = 11, risk: str = "normal") -> int:
    ticket, new = store.open(
        chat_id=chat_id, sender="s" * 32, language="ps", country="IT",
        topic="ask_guardian", reason="asked", risk=risk,
    )  # fmt: skip
    assert new
    return ticket.id


def test_one_open_ticket_per_chat(store: TicketStore) -> None:
    first = open_one(store)
    again, new = store.open(
        chat_id=11, sender="s", language="ps", country=None, topic=None, reason="asked",
        risk="normal",
    )  # fmt: skip
    assert not new and again.id == first
    ticket = store.open_for_chat(11)
    assert ticket is not None and ticket.state == WAITING and len(ticket.case_id) == 4


def test_claim_release_close(store: TicketStore) -> None:
    ticket_id = open_one(store)
    assert store.claim(ticket_id, 901)
    assert not store.claim(ticket_id, 902)  # already claimed
    ticket = store.get(ticket_id)
    assert ticket is not None and ticket.state == CLAIMED and ticket.staff_id == 901
    assert store.release(ticket_id)
    assert store.claim(ticket_id, 902)
    assert store.close(ticket_id)
    assert not store.close(ticket_id)
    closed = store.get(ticket_id)
    assert closed is not None and closed.state == CLOSED
    assert closed.chat_id is None  # the child's chat ID is forgotten on closing
    assert store.open_for_chat(11) is None


def test_an_open_ticket_becomes_urgent_once(store: TicketStore) -> None:
    ticket_id = open_one(store)
    assert store.claim(ticket_id, 901)
    assert store.escalate(ticket_id)
    assert not store.escalate(ticket_id)  # urgent already
    ticket = store.get(ticket_id)
    assert ticket is not None and ticket.urgent and ticket.state == CLAIMED
    closed = open_one(store, chat_id=12)
    assert store.close(closed)
    assert not store.escalate(closed)  # closed: nothing to alarm
    assert store.counts_since(0)["urgent"] == 1


def test_found_by_topic_card_and_relayed_message(store: TicketStore) -> None:
    ticket_id = open_one(store)
    store.set_staff_place(ticket_id, thread_id=77, card_message_id=500)
    assert store.start_relay(ticket_id, "to_staff", "ref:1")
    store.finish_relay("ref:1", target_message_id=501, ok=True)
    for found in (store.by_thread(77), store.by_staff_message(500), store.by_staff_message(501)):
        assert found is not None and found.id == ticket_id
    assert store.by_staff_message(999) is None


def test_a_relay_is_done_once_but_retried_when_cut_short(store: TicketStore) -> None:
    ticket_id = open_one(store)
    assert store.start_relay(ticket_id, "to_child", "staff:1")
    assert store.start_relay(ticket_id, "to_child", "staff:1")  # pending: a restart retries
    store.finish_relay("staff:1", target_message_id=9, ok=True)
    assert not store.start_relay(ticket_id, "to_child", "staff:1")
    assert store.relay_count(ticket_id, "to_child") == 1


def test_reminders_and_nudges_fall_due_once(store: TicketStore) -> None:
    ticket_id = open_one(store)
    later = time.time() + 600
    assert [t.id for t in store.due_reminders(later, 300)] == [ticket_id]
    store.mark_reminded(ticket_id, later)
    assert store.due_reminders(later + 10, 300) == []
    assert [t.id for t in store.due_nudges(later, 600)] == [ticket_id]
    store.mark_nudged(ticket_id)
    assert store.due_nudges(later, 600) == []
    store.claim(ticket_id, 901)
    assert store.due_reminders(later + 1000, 300) == []


def test_counts_for_the_day(store: TicketStore) -> None:
    a = open_one(store, 1, risk="urgent")
    open_one(store, 2)
    store.claim(a, 901)
    store.close(a)
    counts = store.counts_since(time.time() - 60)
    assert counts["opened"] == 2 and counts["urgent"] == 1
    assert counts["claimed"] == 1 and counts["closed"] == 1 and counts["waiting"] == 1


def test_an_alias_is_set_changed_and_cleared(store: TicketStore) -> None:
    assert store.alias(901) is None
    store.set_alias(901, "Amina")
    store.set_alias(901, "Sara")
    assert store.alias(901) == "Sara"
    store.set_alias(901, None)
    assert store.alias(901) is None


def test_anonymised_tickets_keep_counts_and_lose_every_link(store: TicketStore) -> None:
    mine = open_one(store, chat_id=11)
    store.set_staff_place(mine, thread_id=77, card_message_id=78)
    assert store.start_relay(mine, "to_staff", "ref:1")
    store.finish_relay("ref:1", target_message_id=79, ok=True)
    other, _ = store.open(
        chat_id=12, sender="o" * 32, language="fa", country=None, topic=None, reason="asked",
        risk="urgent",
    )  # fmt: skip
    assert [t.id for t in store.of_sender("s" * 32)] == [mine]
    assert store.relayed_to_staff(mine) == [79]

    assert store.anonymise([mine]) == 1

    ticket = store.get(mine)
    assert ticket is not None
    assert (ticket.sender, ticket.chat_id, ticket.thread_id, ticket.card_message_id) == (
        "", None, None, None,
    )  # fmt: skip
    assert ticket.state == CLOSED and ticket.closed_at is not None
    assert (ticket.language, ticket.country, ticket.topic) == ("ps", "IT", "ask_guardian")
    assert store.relay_count(mine, "to_staff") == 0 and store.by_staff_message(79) is None
    assert store.of_sender("s" * 32) == [] and store.open_for_chat(11) is None
    assert store.counts_since(0)["opened"] == 2
    assert store.get(other.id) == other  # someone else's case is untouched


def test_closed_tickets_past_retention_are_found_once(store: TicketStore) -> None:
    old = open_one(store, chat_id=11)
    store.close(old)
    fresh = open_one(store, chat_id=12)
    later = time.time() + 1
    assert [t.id for t in store.closed_before(later)] == [old]  # open ones wait
    store.anonymise([old])
    assert store.closed_before(later) == [] and store.get(fresh) is not None
