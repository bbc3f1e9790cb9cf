from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused, FollowupAction
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import (
    ActionFallback,
    ActionHandoff,
    handoff_request,
    transcript,
    two_fallbacks_in_a_row,
)


def user(text: str, intent: str) -> dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}}


def bot(text: str) -> dict[str, Any]:
    return {"event": "bot", "text": text}


def tracker(
    intent: str, events: list[dict[str, Any]], *, helpline: bool = True, **slots: Any
) -> Tracker:
    latest = events[-1] if events and events[-1]["event"] == "user" else user("x", intent)
    return Tracker(
        sender_id="s1",
        slots={"language": "ps", "country": "IT", "topic": "ask_guardian", **slots},
        latest_message={
            "text": latest["text"],
            "intent": {"name": intent, "confidence": 0.9},
            "entities": [],
            "metadata": {"channel": "telegram", "helpline": helpline},
            "language_detection": {"language": "ps", "confidence": 0.93},
        },
        events=events,
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name=None,
    )


async def run(action: Any, t: Tracker) -> tuple[CollectingDispatcher, list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, t, {})
    return dispatcher, events


def test_the_transcript_keeps_the_last_turns_without_button_payloads() -> None:
    events = [user(f"m{i}", "greet") for i in range(12)] + [user("/ask_asylum", "ask_asylum")]
    events += [bot("answer"), {"event": "action", "name": "action_listen"}]
    turns = transcript(events)
    assert len(turns) == 10 and turns[-1] == {"who": "bot", "text": "answer"}
    assert all(t["text"] != "/ask_asylum" for t in turns)


async def test_a_child_asking_for_a_person_pauses_and_asks_the_gateway_for_a_ticket() -> None:
    events = [user("salam", "greet"), bot("hello"), user("zama guardian sok dy", "ask_guardian")]
    events.append(user("za ghwaram insan sara khabare", "talk_to_human"))
    dispatcher, result = await run(ActionHandoff(), tracker("talk_to_human", events))
    assert dispatcher.messages[0]["response"] == "utter_handoff_requested"
    request = dispatcher.messages[1]["custom"]["handoff"]
    assert request["reason"] == "asked" and request["risk"] == "normal"
    assert request["language"] == "ps" and request["confidence"] == 0.93
    assert request["country"] == "IT" and request["topic"] == "ask_guardian"
    assert request["asked"] == "za ghwaram insan sara khabare"
    assert result == [ConversationPaused()]


async def test_danger_is_urgent() -> None:
    events = [user("they took my passport", "report_exploitation")]
    dispatcher, _ = await run(ActionHandoff(), tracker("report_exploitation", events))
    request = dispatcher.messages[1]["custom"]["handoff"]
    assert request["risk"] == "urgent" and request["topic"] == "report_exploitation"


async def test_without_a_helpline_the_child_is_told_honestly_and_nothing_pauses() -> None:
    events = [user("a person please", "talk_to_human")]
    dispatcher, result = await run(
        ActionHandoff(), tracker("talk_to_human", events, helpline=False)
    )
    assert [m["response"] for m in dispatcher.messages] == ["utter_talk_to_human"]
    assert result == []


async def test_the_second_fallback_in_a_row_offers_a_person() -> None:
    once = [user("hi", "greet"), user("asdf", "nlu_fallback")]
    twice = [*once, bot("sorry?"), user("qwer", "nlu_fallback")]
    assert not two_fallbacks_in_a_row(once) and two_fallbacks_in_a_row(twice)
    dispatcher, result = await run(ActionFallback(), tracker("nlu_fallback", once))
    assert dispatcher.messages[0]["response"] == "utter_default" and result == []
    dispatcher, result = await run(ActionFallback(), tracker("nlu_fallback", twice))
    assert dispatcher.messages == [] and result == [FollowupAction("action_handoff")]
    assert handoff_request(tracker("nlu_fallback", twice))["reason"] == "fallback"
