"""Hand the conversation to a person: pause the assistant and ask the gateway for a ticket.

The gateway (bot/helpline) opens the ticket when it sees the ``handoff``
payload; the assistant stays silent (ConversationPaused) until a counsellor or
the child closes it, and the gateway resumes the conversation through Rasa's
HTTP API. Channels without a helpline (the terminal chat, Rasa's REST channel)
get an honest "no person here" answer instead, and the assistant carries on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, EventType, FollowupAction
from rasa_sdk.executor import CollectingDispatcher

SAFETY_INTENTS = frozenset({"report_exploitation", "report_abuse", "emergency", "feeling_distress"})
FALLBACK_INTENT = "nlu_fallback"
TURNS = 10  # the last turns shown to the counsellor
TURN_CHARS = 300


def risk_of(intent: str | None) -> str:
    """Danger and distress are urgent; everything else is normal."""
    return "urgent" if intent in SAFETY_INTENTS else "normal"


def reason_of(intent: str | None) -> str:
    if intent in SAFETY_INTENTS:
        return "safety"
    if intent == FALLBACK_INTENT:
        return "fallback"
    return "asked"


def transcript(events: Iterable[Mapping[str, Any]], turns: int = TURNS) -> list[dict[str, str]]:
    """The last ``turns`` messages of the child and the assistant, oldest first.

    Button payloads ("/ask_asylum") are left out: they are taps, not words.
    """
    found: list[dict[str, str]] = []
    for event in events:
        text = event.get("text")
        if not isinstance(text, str) or not text.strip():
            continue
        if event.get("event") == "user" and not text.startswith("/"):
            found.append({"who": "child", "text": text[:TURN_CHARS]})
        elif event.get("event") == "bot":
            found.append({"who": "bot", "text": text[:TURN_CHARS]})
    return found[-turns:]


def two_fallbacks_in_a_row(events: Iterable[Mapping[str, Any]]) -> bool:
    """Whether the last two things the child wrote were both not understood."""
    intents = [
        (e.get("parse_data") or {}).get("intent", {}).get("name")
        for e in events
        if e.get("event") == "user"
    ]
    return len(intents) >= 2 and intents[-1] == intents[-2] == FALLBACK_INTENT


def handoff_request(tracker: Tracker) -> dict[str, Any]:
    """What the counsellor's card shows: reason, risk, language, country, topic, turns."""
    latest = tracker.latest_message or {}
    intent = (latest.get("intent") or {}).get("name")
    detection = latest.get("language_detection") or {}
    asked = next(
        (
            t["text"]
            for t in reversed(transcript(tracker.events, turns=len(tracker.events)))
            if t["who"] == "child"
        ),
        None,
    )
    return {
        "reason": reason_of(intent),
        "risk": risk_of(intent),
        "language": tracker.get_slot("language"),
        "confidence": detection.get("confidence"),
        "country": tracker.get_slot("country"),
        "topic": tracker.get_slot("topic") if intent not in SAFETY_INTENTS else intent,
        "asked": asked,
        "turns": transcript(tracker.events),
    }


def helpline_reachable(tracker: Tracker) -> bool:
    """Whether the channel this message came through has a helpline behind it."""
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    return bool(metadata.get("helpline"))


class ActionHandoff(Action):  # type: ignore[misc]
    """Pause the assistant and ask the gateway to open a ticket for a person."""

    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if not helpline_reachable(tracker):
            dispatcher.utter_message(response="utter_talk_to_human")
            return []
        dispatcher.utter_message(response="utter_handoff_requested")
        dispatcher.utter_message(json_message={"handoff": handoff_request(tracker)})
        return [ConversationPaused()]


class ActionFallback(Action):  # type: ignore[misc]
    """Ask again once; when the second message in a row is not understood, offer a person."""

    def name(self) -> str:
        return "action_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if two_fallbacks_in_a_row(tracker.events) and helpline_reachable(tracker):
            return [FollowupAction("action_handoff")]
        dispatcher.utter_message(response="utter_default")
        return []
