"""The helpline's handlers: which taps and commands are a child's 🆘."""

from __future__ import annotations

import pytest

from bot.helpline.handlers import sos


@pytest.mark.parametrize(
    ("payload", "category"),
    [
        ("/emergency", "emergency"),
        ("/feeling_distress", "feeling_distress"),
        ("/end_handoff", None),
        ("/talk_to_human", None),
        ("emergency", "emergency"),  # a command typed without its slash
        ("", None),
        (None, None),
    ],
)
def test_sos_names_a_safety_category(payload: str | None, category: str | None) -> None:
    assert sos(payload) == category
