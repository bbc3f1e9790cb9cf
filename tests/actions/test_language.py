from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.language import (
    ActionChooseLanguage,
    ActionLanguagePicker,
    ActionValidateSlotMappings,
    choose_language,
    language_buttons,
    normalise_code,
)
from catalogue import default_catalogue

CAT = default_catalogue()


def tracker(
    slots: dict[str, Any] | None = None,
    intent: str = "greet",
    entities: list[dict[str, Any]] | None = None,
    metadata: dict[str, Any] | None = None,
) -> Tracker:
    return Tracker(
        sender_id="s1",
        slots=slots or {},
        latest_message={
            "text": "x",
            "intent": {"name": intent, "confidence": 1.0},
            "entities": entities or [],
            "metadata": metadata or {},
        },
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


@pytest.mark.parametrize(
    ("current", "source", "chosen", "hint", "expected"),
    [
        (None, None, None, None, ("en", "default")),
        (None, None, None, "ar", ("ar", "hint")),
        (None, None, None, "ar-EG", ("ar", "hint")),
        (None, None, None, "xx", ("en", "default")),
        ("en", "default", None, "ar", ("ar", "hint")),
        ("ar", "hint", None, "en", ("ar", "hint")),  # a hint does not flip a hint
        ("ar", "explicit", None, "en", ("ar", "explicit")),  # a choice sticks
        ("ar", "explicit", "en", "ar", ("en", "explicit")),  # a new choice wins
        ("ar", "hint", "zz", None, ("ar", "hint")),  # an unknown choice is ignored
    ],
)
def test_choose_language_policy(
    current: str | None,
    source: str | None,
    chosen: str | None,
    hint: str | None,
    expected: tuple[str, str],
) -> None:
    choice = choose_language(
        current=current, source=source, chosen=chosen, hint=hint, catalogue=CAT
    )
    assert (choice.language, choice.source) == expected


def test_normalise_code() -> None:
    assert normalise_code("AR_sy") == "ar"
    assert normalise_code(" ") is None and normalise_code(5) is None


async def test_validate_slot_mappings_sets_language_from_hint_then_choice() -> None:
    action = ActionValidateSlotMappings()
    events = await action.run(CollectingDispatcher(), tracker(metadata={"language_hint": "ar"}), {})
    assert events == [SlotSet("language", "ar"), SlotSet("language_source", "hint")]
    picked = tracker(
        slots={"language": "ar", "language_source": "hint"},
        intent="choose_language",
        entities=[{"entity": "language", "value": "en"}],
    )
    events = await action.run(CollectingDispatcher(), picked, {})
    assert events == [SlotSet("language", "en"), SlotSet("language_source", "explicit")]


async def test_validate_slot_mappings_is_silent_when_nothing_changes() -> None:
    same = tracker(slots={"language": "ar", "language_source": "explicit"})
    assert await ActionValidateSlotMappings().run(CollectingDispatcher(), same, {}) == []


def test_language_buttons_name_each_language_in_its_own_script() -> None:
    buttons = language_buttons(CAT)
    assert {"title": "العربية", "payload": '/choose_language{"language":"ar"}'} in buttons
    assert buttons[0]["title"] == "English"


async def test_picker_and_choose_language_actions() -> None:
    dispatcher = CollectingDispatcher()
    await ActionLanguagePicker().run(dispatcher, tracker(), {})
    assert dispatcher.messages[0]["response"] == "utter_choose_language"
    assert dispatcher.messages[0]["buttons"] == language_buttons(CAT)

    dispatcher = CollectingDispatcher()
    await ActionChooseLanguage().run(dispatcher, tracker(intent="choose_language"), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_choose_language"]

    dispatcher = CollectingDispatcher()
    chosen = tracker(intent="choose_language", entities=[{"entity": "language", "value": "ar"}])
    await ActionChooseLanguage().run(dispatcher, chosen, {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_language_set", "utter_menu"]
