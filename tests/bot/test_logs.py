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


class Salts:
    """An in-memory salt store, as bot.store.LogSalts behaves."""

    def __init__(self) -> None:
        self.kept: dict[str, str] = {}
        self.reads = 0
        self.broken = False

    def salt(self, chat_ref: str) -> str:
        if self.broken:
            raise OSError("database unreachable")
        self.reads += 1
        return self.kept.setdefault(chat_ref, f"salt-{len(self.kept)}")


async def test_log_refs_come_from_the_salt_not_the_chat_and_end_with_it() -> None:
    salts = Salts()
    names = Pseudonyms(b"key-one-0123456789", salts)
    chat_ref = names.ref("telegram", 42)
    first = await names.log_ref(chat_ref)
    assert first == await names.log_ref(chat_ref) and salts.reads == 1  # cached
    assert first not in (chat_ref, names.sender("telegram", 42))
    assert first != await names.log_ref(names.ref("telegram", 43))
    # /forget: the salt goes, and with it the way from old lines to the child
    del salts.kept[chat_ref]
    names.drop(chat_ref)
    assert await names.log_ref(chat_ref) != first


async def test_a_log_ref_never_fails_the_work_it_reports_on() -> None:
    salts = Salts()
    salts.broken = True
    assert await Pseudonyms(b"key-one-0123456789", salts).log_ref("abc") == "unknown"
    unsalted = Pseudonyms(b"key-one-0123456789")  # the terminal chat has no store
    assert await unsalted.log_ref("abc") == await unsalted.log_ref("abc") != "abc"
