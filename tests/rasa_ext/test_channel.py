from __future__ import annotations

from types import SimpleNamespace

from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_ext.channel import ActionServerProbe, _public, _replies_to


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
