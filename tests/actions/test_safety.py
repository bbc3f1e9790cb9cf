from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused
from rasa_sdk.executor import CollectingDispatcher

from actions.safety import ActionSafety


def tracker(intent: str, *, helpline: bool = True) -> Tracker:
    return Tracker(
        sender_id="s1",
        slots={"language": "ti", "country": "IT"},
        latest_message={
            "text": "x",
            "intent": {"name": intent, "confidence": 1.0},
            "entities": [],
            "metadata": {"channel": "telegram", "helpline": helpline},
        },
        events=[{"event": "user", "text": "x", "parse_data": {"intent": {"name": intent}}}],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=None,
    )


async def run(t: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await ActionSafety().run(dispatcher, t, {})
    return dispatcher.messages, events


async def test_danger_gets_the_emergency_card_first_then_an_urgent_ticket() -> None:
    messages, events = await run(tracker("report_exploitation"))
    assert messages[0]["response"] == "utter_topic_answer"
    assert messages[0]["topic"] == "emergency" and messages[0]["country"] == "IT"
    assert messages[1]["response"] == "utter_handoff_requested"
    assert messages[2]["custom"]["handoff"]["risk"] == "urgent"
    assert events[-1] == ConversationPaused()


async def test_distress_gets_the_distress_answer_first() -> None:
    messages, _ = await run(tracker("feeling_distress"))
    assert messages[0]["topic"] == "feeling_distress"


async def test_without_a_helpline_the_card_is_all_and_nothing_pauses() -> None:
    messages, events = await run(tracker("emergency", helpline=False))
    assert [m["response"] for m in messages] == ["utter_topic_answer"]
    assert ConversationPaused() not in events
