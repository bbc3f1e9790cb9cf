"""Which language the assistant speaks, turn by turn, and the language picker."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.safety import ask_if_safe
from catalogue import ROOT, Catalogue, default_catalogue

LANGUAGE_SLOT = "language"
SOURCE_SLOT = "language_source"
CHOOSE_INTENT = "choose_language"


# A language change mid-conversation needs a confident detection of a message
# of at least two words: "ok", "👍", "Germany" or a name never flip it.
SWITCH_CONFIDENCE = 0.8
MIN_WORDS_TO_SWITCH = 2
# The first typed message decides the language when the detection is at least
# this sure; below it, Telegram's hint (a weak prior) or the picker.
START_CONFIDENCE = 0.5
DETECTION_KEY = "language_detection"
PICKER_SLOT = "language_picker_shown"


@dataclass(frozen=True)
class LanguageChoice:
    language: str
    source: str  # explicit | detected | hint | default

    @property
    def unsure(self) -> bool:
        return self.source in ("hint", "default")


@dataclass(frozen=True)
class Detected:
    """What the NLU's language detection said about the latest message."""

    language: str | None
    confidence: float
    words: int


def normalise_code(code: object) -> str | None:
    """Turn "ar-EG", "AR" or "pt_BR" into a bare lower-case language code."""
    if not isinstance(code, str) or not code.strip():
        return None
    return code.strip().replace("_", "-").split("-")[0].lower()


def choose_language(
    *,
    current: str | None,
    source: str | None,
    chosen: str | None,
    hint: str | None,
    catalogue: Catalogue,
    detected: Detected | None = None,
) -> LanguageChoice:
    """Decide the conversation's language for this turn.

    An explicit choice (picker, /language, "I speak Pashto") wins and sticks.
    Otherwise a confident, long-enough message in another language switches;
    Telegram's ``language_code`` is only a first guess.
    """
    chosen, hint = normalise_code(chosen), normalise_code(hint)
    if chosen and catalogue.supports(chosen):
        return LanguageChoice(chosen, "explicit")
    usable = (
        detected
        if detected is not None and detected.language and catalogue.supports(detected.language)
        else None
    )
    if current and catalogue.supports(current) and source in ("explicit", "detected", "hint"):
        if usable is not None and usable.language == current and source == "hint":
            return LanguageChoice(current, "detected")  # the text confirms the hint
        if source == "explicit" or usable is None or usable.language == current:
            return LanguageChoice(current, source)
        if usable.confidence >= SWITCH_CONFIDENCE and usable.words >= MIN_WORDS_TO_SWITCH:
            return LanguageChoice(str(usable.language), "detected")
        if source == "hint" and usable.confidence >= START_CONFIDENCE:
            return LanguageChoice(str(usable.language), "detected")
        return LanguageChoice(current, source)
    if usable is not None and (usable.confidence >= START_CONFIDENCE or usable.language == hint):
        # a sure detection, or a weaker one that Telegram's hint agrees with
        return LanguageChoice(str(usable.language), "detected")
    if hint and catalogue.supports(hint):
        return LanguageChoice(hint, "hint")
    return LanguageChoice(catalogue.default, "default")


def detected_language(tracker: Tracker) -> Detected | None:
    """The NLU's detection for the latest message (None for button payloads)."""
    found = tracker.latest_message.get(DETECTION_KEY)
    if not isinstance(found, dict):
        return None
    return Detected(
        language=found.get("language"),
        confidence=float(found.get("confidence") or 0.0),
        words=int(found.get("words") or 0),
    )


def language_buttons(catalogue: Catalogue) -> list[dict[str, str]]:
    """One button per language, each written in its own script."""
    return [
        {"title": lang.name, "payload": f'/{CHOOSE_INTENT}{{"language":"{lang.code}"}}'}
        for lang in catalogue.languages
    ]


NEGATIONS_FILE = ROOT / "data" / "language" / "negations.txt"


@functools.cache
def negation_words() -> tuple[frozenset[str], tuple[str, ...]]:
    """Whole negation words, and negation prefixes (listed with a trailing *)."""
    lines = NEGATIONS_FILE.read_text(encoding="utf-8").splitlines()
    entries = [w.strip().casefold() for w in lines if w.strip() and not w.startswith("#")]
    return (
        frozenset(w for w in entries if not w.endswith("*")),
        tuple(w[:-1] for w in entries if w.endswith("*")),
    )


def negated(text: str) -> bool:
    """Whether a message negates ("I don't understand English" chooses nothing)."""
    words, prefixes = negation_words()
    folded = text.casefold()
    tokens = [t.strip(".,!?؟،።") for t in folded.split()]
    return any(t in words or t.startswith(prefixes) for t in tokens if t) or any(
        w in folded for w in words if " " in w or "'" in w
    )


def chosen_language(tracker: Tracker) -> str | None:
    """The language the child picked in this message, if any."""
    if (tracker.latest_message.get("intent") or {}).get("name") != CHOOSE_INTENT:
        return None
    value = next(tracker.get_latest_entity_values("language"), None)
    if not isinstance(value, str):
        return None
    if negated(tracker.latest_message.get("text") or ""):
        return None
    return value


class ActionValidateSlotMappings(Action):  # type: ignore[misc]
    """Set the language slots after every user message; ask "are you safe?" when called for."""

    def name(self) -> str:
        return "action_validate_slot_mappings"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        metadata = tracker.latest_message.get("metadata") or {}
        detected = detected_language(tracker)
        catalogue = default_catalogue()
        choice = choose_language(
            current=tracker.get_slot(LANGUAGE_SLOT),
            source=tracker.get_slot(SOURCE_SLOT),
            chosen=chosen_language(tracker),
            hint=metadata.get("language_hint"),
            catalogue=catalogue,
            detected=detected,
        )
        events: list[EventType] = []
        if choice.language != tracker.get_slot(LANGUAGE_SLOT):
            events.append(SlotSet(LANGUAGE_SLOT, choice.language))
        if choice.source != tracker.get_slot(SOURCE_SLOT):
            events.append(SlotSet(SOURCE_SLOT, choice.source))
        if choice.unsure and detected is not None and not tracker.get_slot(PICKER_SLOT):
            # Unsure from the first typed message: offer every language, once.
            # (Button payloads carry no detection, so /start keeps its own picker.)
            dispatcher.utter_message(
                response="utter_choose_language",
                buttons=language_buttons(catalogue),
                language=choice.language,  # this turn's SlotSet is not applied yet
            )
            events.append(SlotSet(PICKER_SLOT, True))
        # runs after every message, before the answer: the place for the check question
        events += ask_if_safe(dispatcher, tracker, choice.language)
        return events


class ActionLanguagePicker(Action):  # type: ignore[misc]
    """Offer every language, each in its own script."""

    def name(self) -> str:
        return "action_language_picker"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(
            response="utter_choose_language", buttons=language_buttons(default_catalogue())
        )
        return [SlotSet(PICKER_SLOT, True)]


class ActionChooseLanguage(Action):  # type: ignore[misc]
    """Confirm a language the child picked, or show the picker when none was named."""

    def name(self) -> str:
        return "action_choose_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        chosen = normalise_code(chosen_language(tracker))
        catalogue = default_catalogue()
        if chosen and catalogue.supports(chosen):
            dispatcher.utter_message(response="utter_language_set")
            dispatcher.utter_message(response="utter_menu")
        else:
            dispatcher.utter_message(
                response="utter_choose_language", buttons=language_buttons(catalogue)
            )
            return [SlotSet(PICKER_SLOT, True)]
        return []
