"""An action call carries the last turns; what the actions read from them is unchanged."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import transcript, two_fallbacks_in_a_row
from actions.session import first_contact
from rasa_ext import action_calls
from rasa_ext.action_calls import ACTION_TURNS, LATEST_TURN_ONLY, recent_events

DOMAIN = Domain.from_yaml(
    'version: "3.1"\nintents: [greet, nlu_fallback]\n'
    "slots:\n  country:\n    type: text\n    mappings: [{type: custom}]\n"
    "actions: [action_answer]"
)
ORIGINAL = RemoteAction._action_call_format


@pytest.fixture
def installed() -> Iterator[None]:
    action_calls.install()
    yield
    RemoteAction._action_call_format = ORIGINAL


def turn(i: int, intent: str = "greet", text: str | None = None) -> list[Event]:
    """A child's message and the assistant's answer."""
    return [
        UserUttered(
            text or f"message {i}",
            {"name": intent, "confidence": 0.9},
            message_id=f"tg:{i}",
        ),
        ActionExecuted("action_answer"),
        BotUttered(f"answer {i}"),
        ActionExecuted("action_listen"),
    ]


def conversation(turns: int, fallbacks: int = 0) -> DialogueStateTracker:
    """A session of ``turns`` messages, every third a button, the last ``fallbacks``
    not understood; the answer to the last one is being given."""
    events: list[Event] = [ActionExecuted("action_session_start"), SessionStarted()]
    events += [SlotSet("country", "IT"), ActionExecuted("action_listen")]
    for i in range(turns):
        intent = "nlu_fallback" if i >= turns - fallbacks else "greet"
        events += turn(i, intent, text=f"/button{i}" if i % 3 == 0 else None)
    return DialogueStateTracker.from_events("child", events[:-2], DOMAIN.slots)


def action() -> RemoteAction:
    return RemoteAction("action_answer", EndpointConfig("http://actions/webhook"))


def call(tracker: DialogueStateTracker) -> dict[str, Any]:
    """The JSON body of an action call, as installed."""
    return action()._action_call_format(tracker, DOMAIN)  # type: ignore[no-any-return]


def rasas_call(tracker: DialogueStateTracker) -> dict[str, Any]:
    return ORIGINAL(action(), tracker, DOMAIN)  # type: ignore[no-any-return]


@pytest.mark.parametrize("turns", [0, 1, ACTION_TURNS - 1])
def test_a_short_conversation_goes_whole(installed: None, turns: int) -> None:
    tracker = conversation(turns) if turns else DialogueStateTracker("child", DOMAIN.slots)
    assert call(tracker) == rasas_call(tracker)


def test_a_long_conversation_sends_its_last_turns_and_everything_else_as_rasa(
    installed: None,
) -> None:
    tracker = conversation(40)
    ours, rasas = call(tracker), rasas_call(tracker)
    events = ours["tracker"].pop("events")
    everything = rasas["tracker"].pop("events")
    assert ours == rasas, "slots, latest message, domain choice and the rest as Rasa sends them"
    assert events == everything[-len(events) :]
    assert sum(e["event"] == "user" for e in events) == ACTION_TURNS
    assert events[0]["event"] == "user"


def test_what_the_actions_read_is_the_same(installed: None) -> None:
    for fallbacks in (0, 1, 2):
        tracker = conversation(40, fallbacks)
        events = call(tracker)["tracker"]["events"]
        everything = rasas_call(tracker)["tracker"]["events"]
        assert transcript(events) == transcript(everything), "the handoff card's messages"
        assert two_fallbacks_in_a_row(events) == two_fallbacks_in_a_row(everything)
        assert two_fallbacks_in_a_row(events) == (fallbacks == 2)
        assert first_contact(events) == first_contact(everything)
    fresh = DialogueStateTracker.from_events("child", [ActionExecuted("action_listen")])
    assert first_contact(call(fresh)["tracker"]["events"])


def test_recent_events_counts_user_messages_from_the_end() -> None:
    events = [e for i in range(5) for e in turn(i)]
    assert recent_events(events, 2) == events[12:]
    assert recent_events(events, 5) == events
    assert recent_events(events, 6) == events
    assert recent_events([], 3) == []


# -- actions that get the latest turn only --------------------------------------

FULL_DOMAIN = Domain.load(str(Path(__file__).resolve().parents[2] / "domain.yml"))


def actions_by_name() -> dict[str, type[Action]]:
    """Every action the action server registers (concrete subclasses in actions/)."""
    import actions.content
    import actions.handoff
    import actions.language
    import actions.safety
    import actions.session  # noqa: F401

    found: dict[str, type[Action]] = {}
    todo = list(Action.__subclasses__())
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if cls.__module__.startswith("actions.") and not inspect.isabstract(cls):
            found[cls().name()] = cls
    return found


def latest_turn(i: int, intent: str, entities: list[dict[str, Any]], safety: bool) -> list[Event]:
    metadata = {"channel": "lantern", "helpline": True, "language_hint": "en"}
    parse = {
        "intent": {"name": intent, "confidence": 0.9},
        "entities": entities,
        "language_detection": {"language": "fr", "confidence": 0.6, "words": 2},
    }
    if safety:
        parse["safety"] = {"source": "check", "category": "feeling_distress"}
    return [
        UserUttered(
            f"message {i}",
            parse["intent"],
            entities,
            parse_data=parse,
            metadata=metadata,
            message_id=f"tg:{i}",
        ),
        ActionExecuted("action_validate_slot_mappings"),
        SlotSet("language", "fr"),
    ]


LATEST = [
    ("ask_guardian", [{"entity": "country", "value": "IT"}], False),
    ("ask_school", [], True),
    ("choose_language", [{"entity": "language", "value": "ti"}], False),
    ("inform_country", [{"entity": "country", "value": "DE"}], False),
    ("nlu_fallback", [], False),
    ("greet", [], False),
]


@pytest.mark.parametrize(("intent", "entities", "safety"), LATEST)
@pytest.mark.parametrize("name", sorted(LATEST_TURN_ONLY))
async def test_actions_sent_the_latest_turn_only_do_as_with_the_whole_session(
    installed: None, name: str, intent: str, entities: list[dict[str, Any]], safety: bool
) -> None:
    assert name in actions_by_name(), "LATEST_TURN_ONLY names an action that does not exist"
    events: list[Event] = [ActionExecuted("action_session_start"), SessionStarted()]
    events += [SlotSet("language", "en"), SlotSet("country", "GR"), ActionExecuted("action_listen")]
    for i in range(8):
        events += turn(i, "nlu_fallback" if i > 5 else "ask_rights")
    events += latest_turn(8, intent, entities, safety)
    tracker = DialogueStateTracker.from_events("child", events, FULL_DOMAIN.slots)
    remote = RemoteAction(name, EndpointConfig("http://actions/webhook"))
    sent = remote._action_call_format(tracker, FULL_DOMAIN)["tracker"]
    whole = ORIGINAL(remote, tracker, FULL_DOMAIN)["tracker"]
    assert sum(e["event"] == "user" for e in sent["events"]) == 1 < len(whole["events"])
    results = []
    for state in (sent, whole):
        dispatcher = CollectingDispatcher()
        action = actions_by_name()[name]()
        returned = await action.run(dispatcher, Tracker.from_dict(state), FULL_DOMAIN.as_dict())
        results.append((returned, dispatcher.messages))
    assert results[0] == results[1]
