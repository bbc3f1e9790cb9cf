"""The cheap versions of Rasa's hot spots answer exactly as Rasa's own do."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered
from rasa.shared.utils.common import all_subclasses

from rasa_ext import speedups

ORIGINAL_VALIDATE = RemoteAction._validate_action_result
ORIGINAL_RESOLVE = Event.resolve_by_type


@pytest.fixture
def installed() -> Iterator[None]:
    speedups.install()
    yield
    RemoteAction._validate_action_result = ORIGINAL_VALIDATE
    Event.resolve_by_type = ORIGINAL_RESOLVE


GOOD: list[dict[str, Any]] = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "country", "value": "IT"}], "responses": []},
    {"responses": [{"response": "utter_greet"}]},
]
BAD: list[dict[str, Any]] = [
    {"events": "not a list"},
    {"events": [{"no_event_key": 1}]},
    {"responses": [42]},
]


@pytest.mark.parametrize("result", GOOD + BAD)
def test_action_answers_are_judged_as_rasa_judges_them(
    installed: None, result: dict[str, Any]
) -> None:
    action = RemoteAction("action_x", None)

    def outcome(validate: Any) -> str:
        try:
            validate(action, result)
        except ValidationError as exc:
            return f"invalid: {exc.message.split('. Failed')[0]}"
        return "valid"

    assert outcome(RemoteAction._validate_action_result) == outcome(ORIGINAL_VALIDATE)
    assert outcome(RemoteAction._validate_action_result).startswith(
        "valid" if result in GOOD else "invalid"
    )


def test_every_event_type_resolves_to_rasas_class(installed: None) -> None:
    for cls in all_subclasses(Event):
        if cls.type_name != "event":
            assert Event.resolve_by_type(cls.type_name) is ORIGINAL_RESOLVE(cls.type_name)
    assert Event.resolve_by_type("user") is UserUttered  # now remembered
    assert Event.resolve_by_type("slot") is SlotSet
    assert Event.resolve_by_type("nonsense", ActionExecuted) is ActionExecuted
    assert Event.resolve_by_type("topic") is None  # Rasa's legacy name, still ignored
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("nonsense")
