from __future__ import annotations

from rasa.shared.nlu.training_data.message import Message

from rasa_ext.safety import SAFETY, SafetyCheck


def parsed(text: str, intent: str, confidence: float = 0.8) -> Message:
    message = Message(data={"text": text, "intent": {"name": intent, "confidence": confidence}})
    (processed,) = SafetyCheck().process([message])
    return processed


def test_a_danger_phrase_overrides_the_classifier() -> None:
    message = parsed("they took my passport, how do i get a new one", "ask_documents")
    assert message.get("intent")["name"] == "report_exploitation"
    assert message.get(SAFETY) == {
        "source": "lexicon",
        "category": "report_exploitation",
        "language": "en",
    }


def test_a_fallback_does_not_hide_danger() -> None:
    assert parsed("ክመውት እደሊ", "nlu_fallback", 0.2).get("intent")["name"] == "feeling_distress"


def test_ordinary_questions_and_buttons_are_left_alone() -> None:
    assert (
        parsed("how do i get a passport", "ask_documents").get("intent")["name"] == "ask_documents"
    )
    assert parsed("/emergency", "emergency").get(SAFETY) is None


def test_the_classifier_naming_danger_is_recorded() -> None:
    message = parsed("help me please they are coming", "emergency")
    assert message.get(SAFETY) == {"source": "intent", "category": "emergency"}
