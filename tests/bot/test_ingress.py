"""Ingress: each chat's updates handled once and in order, by one replica at a time."""

from __future__ import annotations

import asyncio
import random
from typing import Any, cast

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from telegram import Bot, Update

from bot.ingress import Ingress
from bot.logs import Pseudonyms
from bot.metrics import Metrics
from bot.services import App
from bot.store import MessageLog, UpdateInbox


class RecordingApplication:
    """Stands in for PTB's Application: records what it was given to handle, slowly."""

    def __init__(self, handled: list[tuple[int, int]], delay: float = 0.002) -> None:
        self.bot = Bot("123:TEST")
        self.handled = handled
        self.delay = delay
        self.busy: set[int] = set()

    async def process_update(self, update: Update) -> None:
        assert update.effective_chat is not None
        chat = update.effective_chat.id
        assert chat not in self.busy, "two updates of one chat handled at once"
        self.busy.add(chat)
        try:
            await asyncio.sleep(random.uniform(0, self.delay))
            self.handled.append((chat, update.update_id))
        finally:
            self.busy.discard(chat)


def message(update_id: int, chat: int) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 0,
            "chat": {"id": chat, "type": "private"},
            "from": {"id": chat, "is_bot": False, "first_name": "x"},
            "text": f"message {update_id}",
        },
    }


def replica(engine: Engine, name: str, handled: list[tuple[int, int]]) -> Ingress:
    app = cast(App, RecordingApplication(handled))
    return Ingress(app, UpdateInbox(engine), Pseudonyms(b"k" * 16), set(), name, Metrics(), 3.0)


async def settle(*replicas: Ingress, timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while any(r._draining for r in replicas) or await asyncio.to_thread(
        replicas[0].inbox.waiting_chats
    ):
        assert loop.time() < deadline, "updates left unhandled"
        for r in replicas:
            await r.resume()  # what the periodic sweep does
        await asyncio.sleep(0.05)


async def test_two_replicas_handle_each_chats_updates_once_and_in_order(engine: Engine) -> None:
    handled: list[tuple[int, int]] = []
    a, b = replica(engine, "a", handled), replica(engine, "b", handled)
    chats, per_chat = 12, 15
    updates = [message(n * chats + c + 1, 1000 + c) for n in range(per_chat) for c in range(chats)]
    # Telegram gives one chat's updates in order; any replica may receive any of them.
    for data in updates:
        await random.choice((a, b)).accept(data)
    await settle(a, b)
    assert len(handled) == len(updates)
    for c in range(chats):
        mine = [u for chat, u in handled if chat == 1000 + c]
        assert mine == sorted(mine) and len(mine) == per_chat


async def test_a_chat_left_by_a_stopped_replica_is_taken_over_as_a_replay(
    engine: Engine,
) -> None:
    handled: list[tuple[int, int]] = []
    b = replica(engine, "b", handled)
    inbox = b.inbox
    # Replica "a" stored two updates, began the first, and died holding the lease.
    inbox.add(1, "chat-ref", message(1, 7))
    inbox.add(2, "chat-ref", message(2, 7))
    assert inbox.take("chat-ref", "a", 0.3) is not None
    await b.resume()
    await asyncio.sleep(0.1)
    assert handled == []  # a's lease still holds
    await asyncio.sleep(0.3)
    await b.resume()
    await settle(b)
    assert handled == [(7, 1), (7, 2)]
    assert b.recovered == {1}  # Rasa is asked to replay the one already begun
    assert inbox.state(1) == inbox.state(2) == "done"


async def test_a_chat_taken_with_nothing_left_to_do_is_let_go(engine: Engine) -> None:
    handled: list[tuple[int, int]] = []
    a = replica(engine, "a", handled)
    await a.accept(message(1, 5))
    await settle(a)
    a.schedule(a.pseudonyms.ref("telegram", 5))  # as the sweep might, after it was done
    await settle(a)
    assert a.inbox.acquire(a.pseudonyms.ref("telegram", 5), "b", 3.0)
    assert handled == [(5, 1)]


async def test_a_duplicate_update_is_handled_once(engine: Engine) -> None:
    handled: list[tuple[int, int]] = []
    a, b = replica(engine, "a", handled), replica(engine, "b", handled)
    await a.accept(message(5, 9))
    await b.accept(message(5, 9))
    await settle(a, b)
    assert handled == [(9, 5)]


async def test_closing_cuts_a_slow_update_short_and_leaves_it_for_later(engine: Engine) -> None:
    handled: list[tuple[int, int]] = []
    a = replica(engine, "a", handled)
    cast(RecordingApplication, a.application).delay = 60.0
    random.seed(1)
    await a.accept(message(3, 4))
    await asyncio.sleep(0.1)
    await a.close(grace=0.1)
    assert handled == [] and not a._draining
    assert a.inbox.state(3) == "active"
    # and the lease was released: another replica takes the chat at once
    assert a.inbox.acquire(a.pseudonyms.ref("telegram", 4), "b", 3.0)


async def test_a_flood_accepted_at_once_is_handled_once_per_update(engine: Engine) -> None:
    handled: list[tuple[int, int]] = []
    a, b = replica(engine, "a", handled), replica(engine, "b", handled)
    updates = [message(n + 1, 2000 + n % 3) for n in range(45)]
    # webhook calls overlap: a chat's next update arrives while the last is being stored
    await asyncio.gather(*(random.choice((a, b)).accept(data) for data in updates))
    await settle(a, b)
    assert sorted(u for _, u in handled) == [u["update_id"] for u in updates]


class ChattyApplication(RecordingApplication):
    """A child who writes again as soon as the answer is out, before it is marked done."""

    def __init__(self, handled: list[tuple[int, int]], last: int) -> None:
        super().__init__(handled, delay=0)
        self.last = last
        self.ingress: Ingress | None = None

    async def process_update(self, update: Update) -> None:
        await super().process_update(update)
        if update.update_id < self.last:
            assert self.ingress is not None
            await self.ingress.accept(message(update.update_id + 1, 8))


async def test_a_child_writing_back_at_once_costs_two_transactions_a_message(
    engine: Engine,
) -> None:
    handled: list[tuple[int, int]] = []
    app = ChattyApplication(handled, last=20)
    a = Ingress(cast(App, app), UpdateInbox(engine), Pseudonyms(b"k" * 16), set(), "a", Metrics())
    app.ingress = a
    commits = 0

    def count(*_: Any) -> None:
        nonlocal commits
        commits += 1

    event.listen(engine, "commit", count)
    try:
        await a.accept(message(1, 8))
        for _ in range(600):  # no sweeping here: it would add looks of its own
            if len(handled) == 20 and not a._draining:
                break
            await asyncio.sleep(0.01)
    finally:
        event.remove(engine, "commit", count)
    assert [u for _, u in handled] == list(range(1, 21))
    # stored (with the chat taken, the first time), then done with the next one taken
    assert commits <= 2 * 20 + 1


class NotingApplication(RecordingApplication):
    """Notes each update's message, and a reply sent by a task that outlives the update."""

    def __init__(self, handled: list[tuple[int, int]], log: MessageLog) -> None:
        super().__init__(handled)
        self.log = log
        self.late: list[asyncio.Task[None]] = []

    async def process_update(self, update: Update) -> None:
        await super().process_update(update)
        assert update.effective_chat is not None
        ref = f"chat-{update.effective_chat.id}"
        assert MessageLog.defer(ref, update.update_id)

        async def reply_later() -> None:
            await asyncio.sleep(0.2)
            if not MessageLog.defer(ref, 1000 + update.update_id):
                await asyncio.to_thread(self.log.record, ref, 1000 + update.update_id)

        self.late.append(asyncio.create_task(reply_later()))


async def test_message_ids_noted_while_handling_are_written_when_the_update_is_done(
    engine: Engine,
) -> None:
    handled: list[tuple[int, int]] = []
    log = MessageLog(engine)
    app = NotingApplication(handled, log)
    a = Ingress(cast(App, app), UpdateInbox(engine), Pseudonyms(b"k" * 16), set(), "a", Metrics())
    assert not MessageLog.defer("chat-7", 1)  # no update being handled: record at once
    for update_id in (1, 2, 3):
        await a.accept(message(update_id, 7))
    await settle(a)
    assert log.recent("chat-7", 60) == [1, 2, 3]
    # after their update was done: written on their own, from threads that race each other
    await asyncio.gather(*app.late)
    assert sorted(log.recent("chat-7", 60)) == [1, 2, 3, 1001, 1002, 1003]


@pytest.fixture(autouse=True)
def _seeded() -> None:
    random.seed(42)
