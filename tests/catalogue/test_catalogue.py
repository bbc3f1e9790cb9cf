from __future__ import annotations

from pathlib import Path

import pytest

from catalogue import FSI, PDI, Catalogue, CatalogueError, Language, default_catalogue, placeholders


def make(texts: dict[str, dict[str, str]]) -> Catalogue:
    languages = {
        "en": Language("en", "English", "ltr"),
        "ar": Language("ar", "العربية", "rtl"),
    }
    return Catalogue(languages, texts)


def test_text_in_the_asked_language_with_placeholders() -> None:
    cat = make({"en": {"k": "Call {number}."}, "ar": {"k": "اتصل بـ {number}."}})
    assert cat.text("k", "en", {"number": 112}) == "Call 112."
    # numbers inside right-to-left text are isolated so they read the right way
    assert cat.text("k", "ar", {"number": 112}) == f"اتصل بـ {FSI}112{PDI}."


def test_missing_translation_falls_back_to_the_default_language() -> None:
    cat = make({"en": {"k": "Hello", "only_en": "Only"}, "ar": {"k": "مرحبا"}})
    assert cat.text("only_en", "ar") == "Only"
    assert cat.missing() == {"en": set(), "ar": {"only_en"}}


def test_unknown_language_resolves_to_default_and_unknown_placeholder_stays() -> None:
    cat = make({"en": {"k": "Hi {name}"}, "ar": {"k": "أهلا {name}"}})
    assert cat.resolve("xx") == "en" and cat.resolve(None) == "en" and cat.resolve("ar") == "ar"
    assert cat.text("k", "xx", {"other": 1}) == "Hi {name}"


def test_render_translates_text_and_button_titles_but_not_language_names() -> None:
    cat = make({"en": {"t": "Pick", "b": "Menu"}, "ar": {"t": "اختر", "b": "القائمة"}})
    variation = {
        "text": "t",
        "buttons": [{"title": "b", "payload": "/help"}, {"title": "English", "payload": "/x"}],
    }
    message = cat.render(variation, "ar", {})
    assert message["text"] == "اختر"
    assert [b["title"] for b in message["buttons"]] == ["القائمة", "English"]
    assert message["language"] == "ar" and message["direction"] == "rtl"
    assert variation["text"] == "t", "the domain's variation is not modified"


def test_languages_list_default_first() -> None:
    cat = make({"en": {}, "ar": {}})
    assert [lang.code for lang in cat.languages] == ["en", "ar"]


def test_load_rejects_malformed_files(tmp_path: Path) -> None:
    (tmp_path / "en.yml").write_text("language: {code: fr, name: x}\ntexts: {}\n")
    with pytest.raises(CatalogueError, match="language.code must be 'en'"):
        Catalogue.load(tmp_path)
    (tmp_path / "en.yml").write_text("language: {code: en, name: E}\ntexts: {k: [1]}\n")
    with pytest.raises(CatalogueError, match="map keys to strings"):
        Catalogue.load(tmp_path)


def test_placeholders() -> None:
    assert placeholders("Call {number} or {other}, not {{this}}") == {"number", "other"}


def test_project_catalogue_loads() -> None:
    cat = default_catalogue()
    assert {"en", "ar"} <= {lang.code for lang in cat.languages}
    assert cat.language("ar").rtl


@pytest.mark.parametrize("language", [lang.code for lang in default_catalogue().languages])
def test_the_privacy_notice_is_three_lines_naming_both_commands(language: str) -> None:
    notice = default_catalogue().text("gateway.privacy_notice", language, {"days": 30})
    lines = notice.splitlines()
    assert len(lines) <= 3 and notice.startswith("🔒")  # the mark tests/e2e rely on
    assert "30" in notice and "/hide" in notice and "/forget" in notice
