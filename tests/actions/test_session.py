from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.session import ActionSessionStart, first_contact


def tracker(events: list[dict[str, Any]], **slots: Any) -> Tracker:
    return Tracker("s1", slots, {}, events, False, None, {}, "action_listen")


async def run(events: list[dict[str, Any]], **slots: Any) -> tuple[list[Any], list[Any]]:
    dispatcher = CollectingDispatcher()
    result = await ActionSessionStart().run(dispatcher, tracker(events, **slots), {})
    return dispatcher.messages, result


async def test_first_contact_asks_for_the_privacy_notice() -> None:
    messages, events = await run([])
    assert [m["custom"] for m in messages] == [{"privacy_notice": True}]
    assert events == [SessionStarted(), ActionExecuted("action_listen")]


async def test_a_new_session_of_a_known_child_keeps_its_slots_and_shows_nothing() -> None:
    earlier = [{"event": "user", "text": "salam"}, {"event": "bot", "text": "..."}]
    messages, events = await run(
        earlier, language="fa", country="IT", topic=None, safety_checked=True
    )
    assert messages == []
    assert events == [
        SessionStarted(),
        SlotSet("language", "fa"),
        SlotSet("country", "IT"),
        ActionExecuted("action_listen"),
    ]  # "are you safe right now?" may be asked again in the new session


def test_only_a_childs_message_counts_as_contact() -> None:
    assert first_contact([{"event": "action", "name": "action_listen"}])
    assert not first_contact([{"event": "user", "text": "hi"}])
