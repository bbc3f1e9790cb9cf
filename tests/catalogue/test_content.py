from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from catalogue import FSI, PDI, default_catalogue, isolate_runs, unisolated
from catalogue.content import DEFAULT_CONTENT, EU, FIRST_LIMIT, NATIONAL, Content, default_content
from catalogue.content_check import problems

CAT = default_catalogue()
ON = dt.date(2026, 11, 23)


@pytest.fixture(scope="module")
def content() -> Content:
    return Content.load()


def test_every_topic_has_an_answer_in_every_language(content: Content) -> None:
    for language in CAT.languages:
        for topic in content.topics:
            answer = content.answer(topic, language.code, None)
            assert answer is not None, (topic, language.code)
            assert answer.entry.language == language.code  # never another language


def test_a_country_entry_beats_the_eu_wide_one(content: Content) -> None:
    italy = content.answer("ask_missing", "en", "IT")
    eu = content.answer("ask_missing", "en", None)
    assert italy is not None and eu is not None
    assert italy.entry.country == NATIONAL and eu.entry.country == EU
    assert "SOS Il Telefono Azzurro" in content.messages(italy, CAT)[0]["text"]
    # the Dutch 116 000 operator is not confirmed by a source: EU-wide answer
    netherlands = content.answer("ask_missing", "en", "NL")
    assert netherlands is not None and netherlands.entry.country == EU
    # the country's facts add their sources to the answer
    assert {"R63", "R80", "R85"} <= set(italy.sources)


def test_national_answers_take_tell_me_more_from_the_eu_entry(content: Content) -> None:
    national = content.answer("ask_guardian", "ps", "SE")
    eu = content.answer("ask_guardian", "ps", None)
    assert national is not None and eu is not None
    assert national.more == eu.more and national.more


def test_every_answer_shows_when_it_was_checked(content: Content) -> None:
    for code, month in (("en", "November 2026"), ("fr", "novembre 2026"), ("ru", "ноябрь")):
        answer = content.answer("ask_school", code, None)
        assert answer is not None
        assert month in content.messages(answer, CAT)[0]["text"]


def test_first_messages_fit_and_rtl_numbers_are_isolated(content: Content) -> None:
    answer = content.answer("emergency", "ar", "NL")
    assert answer is not None
    text = content.messages(answer, CAT)[0]["text"]
    assert len(text) <= FIRST_LIMIT
    assert f"{FSI}112{PDI}" in text and f"{FSI}0800-0432 (De Kindertelefoon){PDI}" in text
    assert unisolated(text) == []


def test_isolating_runs_is_idempotent() -> None:
    once = isolate_runs("اتصل 116 000 أو www.example.org.")
    assert isolate_runs(once) == once
    assert unisolated(once) == [] and unisolated("اتصل 112") == ["1", "1", "2"]


def test_the_shipped_content_passes_every_check(content: Content) -> None:
    assert problems(content, CAT, ON) == []


def broken_copy(tmp_path: Path, language: str, old: str, new: str) -> Content:
    shutil.copytree(DEFAULT_CONTENT, tmp_path / "content")
    path = tmp_path / "content" / f"{language}.yml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return Content.load(tmp_path / "content")


@pytest.mark.parametrize(
    ("language", "old", "new", "expected"),
    [
        ("en", "sources: [R45, R5, R9, R25, R2, R6, R10, R69]", "sources: []", "no sources"),
        ("en", "sources: [R11, R45]", "sources: [R11, R999]", "source R999"),
        ("fr", "review_by: 2027-05-23", "review_by: 2026-01-01", "review was due"),
        ("ps", "{asylum_authority}", "{asylum_office}", "does not resolve"),
        ("ar", "- topic: ask_food", "- topic: ask_foood", "ask_food: missing"),
        ("en", "You can get free legal help.", "You can get free legal help. " * 12, "characters"),
    ],
)
def test_the_check_fails_on_each_kind_of_fault(
    tmp_path: Path, language: str, old: str, new: str, expected: str
) -> None:
    content = broken_copy(tmp_path, language, old, new)
    found = problems(content, CAT, ON)
    assert any(expected in line for line in found), found


def test_danger_and_distress_answers_are_sent_protected() -> None:
    content, catalogue = default_content(), default_catalogue()
    for topic, protected in (
        ("emergency", True),
        ("feeling_distress", True),
        ("ask_school", False),
    ):
        answer = content.answer(topic, "ps", None)
        assert answer is not None
        assert all(
            m.get("protect", False) is protected for m in content.messages(answer, catalogue)
        )
