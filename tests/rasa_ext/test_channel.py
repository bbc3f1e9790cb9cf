from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import pytest
from rasa.core.channels.channel import UserMessage
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_ext import turns
from rasa_ext.channel import ActionServerProbe, LanternInput, _public, _replies_to, retention_days


async def test_replay_returns_the_replies_that_followed_a_message() -> None:
    store = InMemoryTrackerStore(Domain.empty())
    tracker = DialogueStateTracker.from_events(
        "s",
        [
            UserUttered("hi", message_id="tg:1"),
            BotUttered("hello", metadata={"language": "en"}),
            ActionExecuted("action_listen"),
            UserUttered("bye", message_id="tg:2"),
            BotUttered("goodbye", {"buttons": [{"title": "Menu", "payload": "/help"}]}),
        ],
    )
    await store.save(tracker)
    agent = SimpleNamespace(tracker_store=store)
    first = await _replies_to(agent, "s", "tg:1")
    assert first is not None and [m["text"] for m in first] == ["hello"]
    assert first[0]["language"] == "en" and "timestamp" not in first[0]
    second = await _replies_to(agent, "s", "tg:2")
    assert second is not None and second[0]["buttons"][0]["payload"] == "/help"
    assert await _replies_to(agent, "s", "tg:3") is None
    assert await _replies_to(agent, "nobody", "tg:1") is None


async def test_probe_reports_a_dead_action_server_and_caches_the_answer() -> None:
    probe = ActionServerProbe(cache_seconds=60)
    assert not await probe.healthy("http://127.0.0.1:1/webhook")
    assert await probe.healthy(None), "no action server configured: nothing to wait for"


def test_public_drops_bookkeeping() -> None:
    assert _public({"text": "x", "timestamp": 1, "image": None, "language": "ar"}) == {
        "text": "x",
        "language": "ar",
    }


def test_retention_days_defaults_to_thirty_and_refuses_nonsense() -> None:
    assert retention_days({}) == 30
    assert retention_days({"RETENTION_DAYS": "7"}) == 7
    for bad in ("0", "-3", "a month", "1.5"):
        with pytest.raises(ValueError, match="RETENTION_DAYS"):
            retention_days({"RETENTION_DAYS": bad})


def test_the_erasure_endpoint_refuses_without_the_token() -> None:
    def request(token: str | None) -> Any:
        return SimpleNamespace(args={"token": token} if token else {})

    guarded = LanternInput(token="secret")
    assert guarded.authorised(request("secret"))
    assert not guarded.authorised(request("wrong")) and not guarded.authorised(request(None))
    assert not LanternInput(token=None).authorised(request("anything"))


def webhook(
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
) -> Callable[[Any], Awaitable[Any]]:
    """The channel's POST /webhook handler, to call with a stand-in request."""
    hook = LanternInput().blueprint(on_new_message)
    (route,) = [r for r in hook._future_routes if r.uri == "/webhook"]
    return route.handler  # type: ignore[no-any-return]


def request(agent: Any, **body: Any) -> Any:
    return SimpleNamespace(json=body, app=SimpleNamespace(ctx=SimpleNamespace(agent=agent)))


async def test_a_turn_stopped_by_a_failed_action_answers_503() -> None:
    async def failing(_: UserMessage) -> None:
        raise turns.TurnAbandoned("action_answer")

    agent = SimpleNamespace(action_endpoint=None)
    answer = await webhook(failing)(request(agent, sender="s", message="hi", message_id="tg:1"))
    assert answer.status == 503, "the gateway retries; nothing of the turn was saved"


async def test_a_replay_waits_for_an_attempt_still_running() -> None:
    """The gateway gave up waiting, but Rasa is still on the first attempt."""
    store, locks = InMemoryTrackerStore(Domain.empty()), InMemoryLockStore()
    agent = SimpleNamespace(tracker_store=store, lock_store=locks, action_endpoint=None)
    processed: list[str | None] = []

    async def on_new_message(message: UserMessage) -> None:
        processed.append(message.message_id)

    handler = webhook(on_new_message)
    retry = request(agent, sender="s", message="hi", message_id="tg:1", replay=True)
    async with locks.lock("s"):  # the first attempt holds the conversation
        replay = asyncio.create_task(handler(retry))
        await asyncio.sleep(0.3)
        assert not replay.done()
        first = [UserUttered("hi", message_id="tg:1"), BotUttered("hello")]
        await store.save(DialogueStateTracker.from_events("s", first))
    answer = await replay
    assert [m["text"] for m in json.loads(answer.body)] == ["hello"]
    assert processed == [], "not processed a second time"
