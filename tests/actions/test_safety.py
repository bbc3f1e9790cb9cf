from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.safety import ActionSafety, ask_if_safe, check_response


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


def checked(safety: dict[str, Any] | None, *, asked: bool = False, paused: bool = False) -> Tracker:
    """A child's ordinary question, with what rasa_ext.safety made of it."""
    return Tracker(
        sender_id="s1",
        slots={"language": "fa", "safety_checked": asked},
        latest_message={
            "text": "x",
            "intent": {"name": "ask_work", "confidence": 0.6},
            "entities": [],
            "safety": safety,
        },
        events=[],
        paused=paused,
        followup_action=None,
        active_loop={},
        latest_action_name=None,
    )


CHECK = {"source": "check", "category": "report_exploitation", "danger": 0.3}


def test_the_check_question_is_asked_once_a_session_and_not_during_a_chat() -> None:
    dispatcher = CollectingDispatcher()
    events = ask_if_safe(dispatcher, checked(CHECK), "fa")
    assert [(m["response"], m["language"]) for m in dispatcher.messages] == [
        ("utter_safety_check", "fa")
    ]
    assert events == [SlotSet("safety_checked", True)]
    assert check_response(checked(CHECK, asked=True)) is None
    assert check_response(checked(CHECK, paused=True)) is None


def test_distress_is_asked_with_a_button_to_the_distress_answer() -> None:
    distress = {**CHECK, "category": "feeling_distress"}
    assert check_response(checked(distress)) == "utter_safety_check_distress"


def test_danger_and_ordinary_messages_ask_nothing() -> None:
    assert check_response(checked(None)) is None
    assert check_response(checked({"source": "lexicon", "category": "emergency"})) is None
