from __future__ import annotations

import json
import logging

from bot.logs import JsonFormatter, Pseudonyms


def test_pseudonyms_are_stable_keyed_and_not_the_id() -> None:
    a, b = Pseudonyms(b"key-one-0123456789"), Pseudonyms(b"key-two-0123456789")
    assert a.sender("telegram", 42) == a.sender("telegram", 42)
    assert a.sender("telegram", 42) != b.sender("telegram", 42)
    assert a.sender("telegram", 42) != a.sender("terminal", 42)
    assert "42" not in a.sender("telegram", 42)[:2]
    assert a.ref("telegram", 42) == a.sender("telegram", 42)[:12]


def test_json_logs_carry_extras_and_only_the_exception_type() -> None:
    try:
        raise ValueError("a child's words")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "rasa.bad_reply", (), None)
        import sys

        record.exc_info = sys.exc_info()
    record.chat = "abc123"
    line = json.loads(JsonFormatter().format(record))
    assert line["event"] == "rasa.bad_reply" and line["chat"] == "abc123"
    assert line["error"] == "ValueError"
    assert "child" not in json.dumps(line)
