"""Tickets and relayed messages, through SQLAlchemy (SQLite by default, PostgreSQL in production).

A ticket is one child's request for a person, from the moment the assistant
pauses until a counsellor closes it. Relays record each message carried between
the child's chat and the staff group: they dedupe a message handled again after
a restart, and let a staff reply to a relayed message find its ticket. The
child's chat ID is kept only while it is needed to deliver replies; the case ID
staff see is random, not derived from it.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine, Row
from sqlalchemy.exc import IntegrityError

from bot.store import create_tables

metadata = MetaData()

WAITING, CLAIMED, CLOSED = "waiting", "claimed", "closed"
OPEN_STATES = (WAITING, CLAIMED)
URGENT = "urgent"

tickets = Table(
    "helpline_tickets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(8), nullable=False, unique=True),
    Column("chat_id", BigInteger, nullable=True, index=True),  # None once closed
    # the Rasa sender ID (a keyed hash); "" once the ticket is anonymised
    Column("sender", String(64), nullable=False, index=True),
    Column("language", String(8), nullable=False),
    Column("country", String(8), nullable=True),
    Column("topic", String(40), nullable=True),
    Column("reason", String(20), nullable=False),
    Column("risk", String(10), nullable=False),
    Column("state", String(10), nullable=False, index=True),
    Column("thread_id", BigInteger, nullable=True, index=True),
    Column("card_message_id", BigInteger, nullable=True, index=True),
    Column("staff_id", BigInteger, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("claimed_at", Float, nullable=True),
    Column("closed_at", Float, nullable=True),
    Column("reminded_at", Float, nullable=True),
    Column("child_nudged", Boolean, nullable=False, default=False),
)

relays = Table(
    "helpline_relays",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ticket_id", Integer, nullable=False, index=True),
    Column("direction", String(8), nullable=False),  # to_staff | to_child
    # "<chat pseudonym or 'staff'>:<message_id>": unique, without the chat ID
    Column("source", String(64), nullable=False, unique=True),
    Column("target_message_id", BigInteger, nullable=True, index=True),
    Column("state", String(8), nullable=False),  # pending | sent | failed
    Column("created_at", Float, nullable=False),
)


staff_aliases = Table(
    "helpline_staff_aliases",
    metadata,
    # the name a counsellor chose to sign replies with; their Telegram name is never shown
    Column("staff_id", BigInteger, primary_key=True, autoincrement=False),
    Column("alias", String(40), nullable=False),
)


@dataclass(frozen=True)
class Ticket:
    id: int
    case_id: str
    chat_id: int | None
    sender: str
    language: str
    country: str | None
    topic: str | None
    reason: str
    risk: str
    state: str
    thread_id: int | None
    card_message_id: int | None
    staff_id: int | None
    created_at: float
    claimed_at: float | None
    closed_at: float | None
    reminded_at: float | None
    child_nudged: bool

    @property
    def urgent(self) -> bool:
        return self.risk == URGENT


def _ticket(row: Row[Any] | None) -> Ticket | None:
    return Ticket(**row._mapping) if row is not None else None


class TicketStore:
    """Blocking data access for the helpline; call it through a thread."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        create_tables(metadata, engine)

    # -- tickets --------------------------------------------------------------
    def open(
        self,
        *,
        chat_id: int,
        sender: str,
        language: str,
        country: str | None,
        topic: str | None,
        reason: str,
        risk: str,
    ) -> tuple[Ticket, bool]:
        """Open a ticket for a chat, or return the one already open (and False)."""
        existing = self.open_for_chat(chat_id)
        if existing is not None:
            return existing, False
        for _ in range(20):
            row = {
                "case_id": secrets.token_hex(2).upper(),
                "chat_id": chat_id,
                "sender": sender,
                "language": language,
                "country": country,
                "topic": topic,
                "reason": reason,
                "risk": risk,
                "state": WAITING,
                "created_at": time.time(),
                "child_nudged": False,
            }
            try:
                with self.engine.begin() as conn:
                    new_id = conn.execute(tickets.insert().values(**row)).inserted_primary_key[0]
            except IntegrityError:
                continue  # the random case ID is taken: draw again
            found = self.get(int(new_id))
            assert found is not None
            return found, True
        raise RuntimeError("no free case ID")

    def get(self, ticket_id: int) -> Ticket | None:
        with self.engine.connect() as conn:
            return _ticket(conn.execute(select(tickets).where(tickets.c.id == ticket_id)).first())

    def open_for_chat(self, chat_id: int) -> Ticket | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(tickets).where(
                    tickets.c.chat_id == chat_id, tickets.c.state.in_(OPEN_STATES)
                )
            ).first()
        return _ticket(row)

    def by_thread(self, thread_id: int) -> Ticket | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(tickets)
                .where(tickets.c.thread_id == thread_id)
                .order_by(tickets.c.id.desc())
            ).first()
        return _ticket(row)

    def by_staff_message(self, message_id: int) -> Ticket | None:
        """The ticket whose card, or one of whose relayed messages, has this ID in the group."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(tickets).where(tickets.c.card_message_id == message_id)
            ).first()
            if row is None:
                ticket_id = conn.execute(
                    select(relays.c.ticket_id).where(relays.c.target_message_id == message_id)
                ).scalar_one_or_none()
                if ticket_id is not None:
                    row = conn.execute(select(tickets).where(tickets.c.id == ticket_id)).first()
        return _ticket(row)

    def set_staff_place(
        self, ticket_id: int, *, thread_id: int | None, card_message_id: int | None
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(tickets)
                .where(tickets.c.id == ticket_id)
                .values(thread_id=thread_id, card_message_id=card_message_id)
            )

    def claim(self, ticket_id: int, staff_id: int) -> bool:
        """Claim a waiting ticket; False when it is not waiting (claimed or closed)."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(tickets)
                .where(tickets.c.id == ticket_id, tickets.c.state == WAITING)
                .values(state=CLAIMED, staff_id=staff_id, claimed_at=time.time())
            )
        return bool(result.rowcount)

    def escalate(self, ticket_id: int) -> bool:
        """Make an open ticket urgent; False when it already was, or is closed."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(tickets)
                .where(
                    tickets.c.id == ticket_id,
                    tickets.c.state.in_(OPEN_STATES),
                    tickets.c.risk != URGENT,
                )
                .values(risk=URGENT)
            )
        return bool(result.rowcount)

    def release(self, ticket_id: int) -> bool:
        """Put a claimed ticket back in the queue for a colleague."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(tickets)
                .where(tickets.c.id == ticket_id, tickets.c.state == CLAIMED)
                .values(state=WAITING, staff_id=None, reminded_at=None)
            )
        return bool(result.rowcount)

    def close(self, ticket_id: int) -> bool:
        """Close an open ticket and forget the child's chat ID; False if already closed."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(tickets)
                .where(tickets.c.id == ticket_id, tickets.c.state.in_(OPEN_STATES))
                .values(state=CLOSED, closed_at=time.time(), chat_id=None)
            )
        return bool(result.rowcount)

    # -- erasure ---------------------------------------------------------------
    def of_sender(self, sender: str) -> list[Ticket]:
        """Every ticket of one child (by Rasa sender ID), open or closed."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(tickets).where(tickets.c.sender == sender)).all()
        return [t for t in map(_ticket, rows) if t is not None]

    def closed_before(self, before: float) -> list[Ticket]:
        """Closed tickets older than ``before`` that still link to a child."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(tickets).where(
                    tickets.c.state == CLOSED, tickets.c.closed_at < before, tickets.c.sender != ""
                )
            ).all()
        return [t for t in map(_ticket, rows) if t is not None]

    def relayed_to_staff(self, ticket_id: int) -> list[int]:
        """IDs of the copies of a child's messages in the staff group."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(relays.c.target_message_id).where(
                    relays.c.ticket_id == ticket_id,
                    relays.c.direction == "to_staff",
                    relays.c.target_message_id.is_not(None),
                )
            ).all()
        return [int(r.target_message_id) for r in rows]

    def anonymise(self, ticket_ids: list[int]) -> int:
        """Keep tickets only as anonymous counts: closed, no link to the child or the chat.

        What stays (language, country, topic, reason, risk, times) feeds /stats;
        the sender, chat, topic and message IDs and every relay record go.
        """
        if not ticket_ids:
            return 0
        with self.engine.begin() as conn:
            conn.execute(delete(relays).where(relays.c.ticket_id.in_(ticket_ids)))
            conn.execute(
                update(tickets)
                .where(tickets.c.id.in_(ticket_ids), tickets.c.state.in_(OPEN_STATES))
                .values(state=CLOSED, closed_at=time.time())
            )
            result = conn.execute(
                update(tickets)
                .where(tickets.c.id.in_(ticket_ids))
                .values(sender="", chat_id=None, thread_id=None, card_message_id=None)
            )
        return int(result.rowcount or 0)

    def waiting(self) -> list[Ticket]:
        """Open tickets, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(tickets)
                .where(tickets.c.state.in_(OPEN_STATES))
                .order_by(tickets.c.created_at)
            ).all()
        return [t for t in (_ticket(r) for r in rows) if t is not None]

    def count_open(self) -> int:
        """How many cases wait for or talk with a counsellor now."""
        with self.engine.connect() as conn:
            found = conn.execute(
                select(func.count()).where(tickets.c.state.in_(OPEN_STATES))
            ).scalar_one()
        return int(found)

    def due_reminders(self, now: float, every_seconds: float) -> list[Ticket]:
        """Unclaimed tickets not announced for ``every_seconds``."""
        cutoff = now - every_seconds
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(tickets).where(
                    tickets.c.state == WAITING,
                    tickets.c.created_at <= cutoff,
                    or_(tickets.c.reminded_at.is_(None), tickets.c.reminded_at <= cutoff),
                )
            ).all()
        return [t for t in (_ticket(r) for r in rows) if t is not None]

    def mark_reminded(self, ticket_id: int, now: float) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(tickets).where(tickets.c.id == ticket_id).values(reminded_at=now))

    def due_nudges(self, now: float, after_seconds: float) -> list[Ticket]:
        """Unclaimed tickets whose child has waited ``after_seconds`` without a word."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(tickets).where(
                    tickets.c.state == WAITING,
                    tickets.c.child_nudged.is_(False),
                    tickets.c.created_at <= now - after_seconds,
                )
            ).all()
        return [t for t in (_ticket(r) for r in rows) if t is not None]

    def mark_nudged(self, ticket_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(tickets).where(tickets.c.id == ticket_id).values(child_nudged=True))

    def counts_since(self, since: float) -> dict[str, float]:
        """Today's figures for /stats: opened, claimed, closed, urgent, waiting, median wait."""
        with self.engine.connect() as conn:
            opened = conn.execute(
                select(func.count()).where(tickets.c.created_at >= since)
            ).scalar_one()
            urgent = conn.execute(
                select(func.count()).where(tickets.c.created_at >= since, tickets.c.risk == URGENT)
            ).scalar_one()
            closed = conn.execute(
                select(func.count()).where(tickets.c.closed_at >= since)
            ).scalar_one()
            waits = [
                r.claimed_at - r.created_at
                for r in conn.execute(
                    select(tickets.c.created_at, tickets.c.claimed_at).where(
                        tickets.c.claimed_at >= since
                    )
                ).all()
            ]
            waiting = conn.execute(
                select(func.count()).where(tickets.c.state == WAITING)
            ).scalar_one()
        waits.sort()
        median = waits[len(waits) // 2] if waits else 0.0
        return {
            "opened": opened,
            "urgent": urgent,
            "claimed": len(waits),
            "closed": closed,
            "waiting": waiting,
            "median_wait": median,
        }

    # -- staff ----------------------------------------------------------------
    def set_alias(self, staff_id: int, alias: str | None) -> None:
        """Sign this counsellor's replies with ``alias`` (None: no signature)."""
        with self.engine.begin() as conn:
            conn.execute(delete(staff_aliases).where(staff_aliases.c.staff_id == staff_id))
            if alias:
                conn.execute(staff_aliases.insert().values(staff_id=staff_id, alias=alias))

    def alias(self, staff_id: int) -> str | None:
        with self.engine.connect() as conn:
            alias = conn.execute(
                select(staff_aliases.c.alias).where(staff_aliases.c.staff_id == staff_id)
            ).scalar_one_or_none()
        return str(alias) if alias is not None else None

    # -- relays ---------------------------------------------------------------
    def start_relay(self, ticket_id: int, direction: str, source: str) -> bool:
        """Record a message about to be relayed; False when it was relayed before."""
        row = {
            "ticket_id": ticket_id,
            "direction": direction,
            "source": source,
            "state": "pending",
            "created_at": time.time(),
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(relays.insert().values(**row))
        except IntegrityError:
            with self.engine.connect() as conn:
                state = conn.execute(
                    select(relays.c.state).where(relays.c.source == source)
                ).scalar_one()
            return bool(state == "pending")  # cut short by a restart: try again
        return True

    def finish_relay(self, source: str, *, target_message_id: int | None, ok: bool) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(relays)
                .where(relays.c.source == source)
                .values(target_message_id=target_message_id, state="sent" if ok else "failed")
            )

    def relay_count(self, ticket_id: int, direction: str) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).where(
                        relays.c.ticket_id == ticket_id, relays.c.direction == direction
                    )
                ).scalar_one()
            )
