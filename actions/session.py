"""Start a conversation session: keep the slots, and mark a child's very first contact.

Rasa runs ``action_session_start`` before the first message of every session.
This version does what Rasa's default does (a SessionStarted event, the slots
carried over, then a listen) and, when the tracker holds no message from the
child at all (a first contact, or a return after /forget or the retention
period), sends a ``privacy_notice`` payload. The channel renders it in the
child's language: only the gateway knows the reply language at that point and
which commands (/hide, /forget) its users have.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.safety import CHECKED_SLOT

NOTICE_PAYLOAD = {"privacy_notice": True}


def first_contact(events: Iterable[Mapping[str, Any]]) -> bool:
    """True when the child has never written in this conversation (as far as it is kept)."""
    return not any(event.get("event") == "user" for event in events)


# asked once a session: a new session may ask "are you safe right now?" again
NOT_CARRIED = frozenset({CHECKED_SLOT})


def carried_slots(slots: Mapping[str, Any]) -> list[EventType]:
    """The slots of the last session, set again in the new one."""
    return [
        SlotSet(name, value)
        for name, value in slots.items()
        if value is not None and name not in NOT_CARRIED
    ]


class ActionSessionStart(Action):  # type: ignore[misc]
    """Begin a session; on first contact, ask the channel to show the privacy notice."""

    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if first_contact(tracker.events):
            dispatcher.utter_message(json_message=NOTICE_PAYLOAD)
        return [SessionStarted(), *carried_slots(tracker.slots), ActionExecuted("action_listen")]
