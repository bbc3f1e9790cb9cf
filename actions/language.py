"""Which language the assistant speaks, turn by turn, and the language picker."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from catalogue import Catalogue, default_catalogue

LANGUAGE_SLOT = "language"
SOURCE_SLOT = "language_source"
CHOOSE_INTENT = "choose_language"


@dataclass(frozen=True)
class LanguageChoice:
    language: str
    source: str  # explicit | hint | default


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
) -> LanguageChoice:
    """Decide the conversation's language for this turn.

    An explicit choice wins and sticks; Telegram's ``language_code`` is only a
    first guess, used while nothing better is known.
    """
    chosen, hint = normalise_code(chosen), normalise_code(hint)
    if chosen and catalogue.supports(chosen):
        return LanguageChoice(chosen, "explicit")
    if current and catalogue.supports(current) and source in ("explicit", "hint"):
        return LanguageChoice(current, source)
    if hint and catalogue.supports(hint):
        return LanguageChoice(hint, "hint")
    return LanguageChoice(catalogue.default, "default")


def language_buttons(catalogue: Catalogue) -> list[dict[str, str]]:
    """One button per language, each written in its own script."""
    return [
        {"title": lang.name, "payload": f'/{CHOOSE_INTENT}{{"language":"{lang.code}"}}'}
        for lang in catalogue.languages
    ]


def chosen_language(tracker: Tracker) -> str | None:
    """The language the child picked in this message, if any."""
    if (tracker.latest_message.get("intent") or {}).get("name") != CHOOSE_INTENT:
        return None
    value = next(tracker.get_latest_entity_values("language"), None)
    return value if isinstance(value, str) else None


class ActionValidateSlotMappings(Action):  # type: ignore[misc]
    """Set the language slots after every user message."""

    def name(self) -> str:
        return "action_validate_slot_mappings"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        metadata = tracker.latest_message.get("metadata") or {}
        choice = choose_language(
            current=tracker.get_slot(LANGUAGE_SLOT),
            source=tracker.get_slot(SOURCE_SLOT),
            chosen=chosen_language(tracker),
            hint=metadata.get("language_hint"),
            catalogue=default_catalogue(),
        )
        events: list[EventType] = []
        if choice.language != tracker.get_slot(LANGUAGE_SLOT):
            events.append(SlotSet(LANGUAGE_SLOT, choice.language))
        if choice.source != tracker.get_slot(SOURCE_SLOT):
            events.append(SlotSet(SOURCE_SLOT, choice.source))
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
        return []


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
        return []
