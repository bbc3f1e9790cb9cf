from __future__ import annotations

from bot.rasa_client import Button
from bot.render import keyboard, split_text, valid_payload


def test_short_text_is_one_part() -> None:
    assert split_text("hello") == ["hello"]


def test_long_text_splits_at_paragraphs_first() -> None:
    para = "word " * 150  # 750 characters
    text = "\n\n".join([para.strip()] * 8)  # about 6,000 characters
    parts = split_text(text)
    assert len(parts) == 2
    assert all(len(p) <= 4096 for p in parts)
    assert parts[0].endswith("word") and "\n\n" not in parts[0][-3:]
    assert " ".join(" ".join(parts).split()) == " ".join(text.split())


def test_text_without_breaks_is_still_cut_within_the_limit() -> None:
    parts = split_text("x" * 9000)
    assert [len(p) for p in parts] == [4096, 4096, 808]


def test_valid_payloads() -> None:
    assert valid_payload("/help")
    assert valid_payload('/choose_language{"language":"ckb"}')
    assert not valid_payload("help")
    assert not valid_payload(None)
    assert not valid_payload("/" + "a" * 64)
    assert not valid_payload("/Drop Table")


def test_keyboard_two_short_buttons_per_row_and_drops_bad_payloads() -> None:
    markup = keyboard([Button("A", "/a"), Button("B", "/b"), Button("C", "/c"), Button("X", "bad")])
    assert markup is not None
    rows = [[b.text for b in row] for row in markup.inline_keyboard]
    assert rows == [["A", "B"], ["C"]]
    long = keyboard([Button("A rather long button title", "/a"), Button("B", "/b")])
    assert long is not None and len(long.inline_keyboard) == 2
    assert keyboard([]) is None
