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
    Detected,
    choose_language,
    chosen_language,
    language_buttons,
    negated,
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


@pytest.mark.parametrize(
    ("current", "source", "detected", "hint", "expected"),
    [
        # the first typed message decides when the detection is sure
        (None, None, Detected("ar", 0.9, 3), "en", ("ar", "detected")),
        # a weak detection that Telegram's hint confirms is enough
        (None, None, Detected("ar", 0.3, 1), "ar", ("ar", "detected")),
        # a weak detection alone is not: the hint, and the picker (unsure)
        (None, None, Detected("ar", 0.3, 1), "en", ("en", "hint")),
        # "ok", "Germany", a name: one word never flips the language
        ("ar", "detected", Detected("en", 0.95, 1), None, ("ar", "detected")),
        # a confident message of two words or more does
        ("ar", "detected", Detected("en", 0.9, 5), None, ("en", "detected")),
        # but an unsure one does not
        ("ar", "detected", Detected("en", 0.6, 5), None, ("ar", "detected")),
        # an explicit choice is never overridden by detection
        ("ar", "explicit", Detected("en", 0.99, 9), None, ("ar", "explicit")),
        # a hint gives way to a reasonably sure detection
        ("en", "hint", Detected("ar", 0.6, 2), "en", ("ar", "detected")),
        # and a text in the hinted language confirms it, however short
        ("en", "hint", Detected("en", 0.3, 1), "en", ("en", "detected")),
        # a language the assistant cannot speak yet changes nothing
        ("ar", "detected", Detected("xx", 0.99, 9), None, ("ar", "detected")),
    ],
)
def test_detection_policy(
    current: str | None,
    source: str | None,
    detected: Detected,
    hint: str | None,
    expected: tuple[str, str],
) -> None:
    choice = choose_language(
        current=current, source=source, chosen=None, hint=hint, catalogue=CAT, detected=detected
    )
    assert (choice.language, choice.source) == expected


async def test_picker_is_offered_once_when_unsure_from_typed_text() -> None:
    unsure = tracker(metadata={"language_hint": "xx"})
    unsure.latest_message["language_detection"] = {"language": None, "confidence": 0.0, "words": 1}
    dispatcher = CollectingDispatcher()
    events = await ActionValidateSlotMappings().run(dispatcher, unsure, {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_choose_language"]
    assert dispatcher.messages[0]["language"] == "en"
    assert SlotSet("language_picker_shown", True) in events
    unsure.slots["language_picker_shown"] = True
    dispatcher = CollectingDispatcher()
    await ActionValidateSlotMappings().run(dispatcher, unsure, {})
    assert dispatcher.messages == []


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
    assert await ActionLanguagePicker().run(dispatcher, tracker(), {}) == [
        SlotSet("language_picker_shown", True)
    ]
    assert dispatcher.messages[0]["response"] == "utter_choose_language"
    assert dispatcher.messages[0]["buttons"] == language_buttons(CAT)

    dispatcher = CollectingDispatcher()
    await ActionChooseLanguage().run(dispatcher, tracker(intent="choose_language"), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_choose_language"]

    dispatcher = CollectingDispatcher()
    chosen = tracker(intent="choose_language", entities=[{"entity": "language", "value": "ar"}])
    await ActionChooseLanguage().run(dispatcher, chosen, {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_language_set", "utter_menu"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("i speak pashto", False),
        ("i don't understand english", True),
        ("I dont speak English", True),
        ("je ne parle pas anglais", True),
        ("ما بفهم انكليزي", True),
        ("بدي عربي", False),
        ("انګلیسي نه پوهېږم", True),
        ("እንግሊዝኛ ኣይፈልጥን", True),
        ("ኣነ ትግርኛ እዛረብ", False),
        ("انگلیسی نمی‌فهمم", True),
    ],
)
def test_negated(text: str, expected: bool) -> None:
    assert negated(text) is expected


def test_a_named_language_is_a_choice_unless_negated() -> None:
    named = [{"entity": "language", "value": "ps"}]
    assert chosen_language(tracker(intent="choose_language", entities=named)) == "ps"
    negative = tracker(intent="choose_language", entities=[{"entity": "language", "value": "en"}])
    negative.latest_message["text"] = "i don't understand english"
    assert chosen_language(negative) is None
    assert chosen_language(tracker(intent="greet", entities=named)) is None
