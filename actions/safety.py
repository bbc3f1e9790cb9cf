"""Danger and distress: the emergency card first, then an urgent ticket for a person.

The card is the content catalogue's sourced answer for the child's country
(112, 116 000, 116 111 and the national operators), never a question first:
the country is not asked when a child is in danger. Self-harm and distress get
the distress answer instead, written to safe-messaging practice (warmth, no
talk of methods, a way to a person now).

A message that only sounds somewhat like danger (rasa_ext.safety marks it
``check``) keeps its ordinary answer, preceded once a session by "are you safe
right now?" with a 🆘 button that leads here.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.content import answer_topic
from actions.handoff import handoff_request, helpline_reachable
from catalogue.safety import CHECK, DISTRESS, card_topic

CHECKED_SLOT = "safety_checked"


def check_response(tracker: Tracker) -> str | None:
    """The "are you safe right now?" response this message calls for, if any.

    Once a session, and not while a person is talking with the child.
    """
    safety = (tracker.latest_message or {}).get("safety") or {}
    if safety.get("source") != CHECK or tracker.get_slot(CHECKED_SLOT):
        return None
    if tracker.is_paused():
        return None
    if safety.get("category") == DISTRESS:
        return "utter_safety_check_distress"
    return "utter_safety_check"


def ask_if_safe(
    dispatcher: CollectingDispatcher, tracker: Tracker, language: str | None
) -> list[EventType]:
    """Ask "are you safe right now?" before the answer, when the message calls for it."""
    response = check_response(tracker)
    if response is None:
        return []
    # the language decided in this turn: its SlotSet is not applied yet
    dispatcher.utter_message(response=response, language=language)
    return [SlotSet(CHECKED_SLOT, True)]


class ActionSafety(Action):  # type: ignore[misc]
    """Send the emergency card in the child's language, then hand over to a person, urgently."""

    def name(self) -> str:
        return "action_safety"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        intent = ((tracker.latest_message or {}).get("intent") or {}).get("name")
        events = answer_topic(dispatcher, card_topic(intent), tracker.get_slot("country"))
        if not helpline_reachable(tracker):
            return events  # the card names who to call; there is no person behind this channel
        dispatcher.utter_message(response="utter_handoff_requested")
        dispatcher.utter_message(json_message={"handoff": handoff_request(tracker)})
        return [*events, ConversationPaused()]
