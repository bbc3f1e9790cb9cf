"""What the desk accepts from the assistant's handoff payload."""

from __future__ import annotations

from bot.helpline.desk import TURN_CHARS, TURNS_ON_CARD, HandoffRequest


def test_a_full_request_is_kept() -> None:
    request = HandoffRequest.parse(
        {
            "reason": "safety",
            "risk": "urgent",
            "language": "ti",
            "confidence": 0.88,
            "country": "IT",
            "topic": "emergency",
            "asked": "ሓገዝ",
            "turns": [{"who": "child", "text": "ሓገዝ"}, {"who": "bot", "text": "112"}],
        },
        "en",
    )
    assert request.risk == "urgent" and request.language == "ti" and request.confidence == 0.88
    assert request.turns == (("child", "ሓገዝ"), ("bot", "112"))


def test_odd_values_are_dropped_or_bounded() -> None:
    request = HandoffRequest.parse(
        {
            "risk": "<b>critical</b>",
            "language": None,
            "confidence": "high",
            "turns": [{"who": "staff", "text": "x"}, "junk", {"who": "child", "text": "y" * 5000}]
            + [{"who": "bot", "text": str(i)} for i in range(20)],
        },
        "fa",
    )
    assert request.risk == "normal" and request.reason == "asked"
    assert request.language == "fa" and request.confidence is None
    assert len(request.turns) == TURNS_ON_CARD
    assert all(len(text) <= TURN_CHARS for _, text in request.turns)
