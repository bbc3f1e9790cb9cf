from __future__ import annotations

from catalogue import Catalogue, Language
from catalogue.check import main, problems


def test_the_project_passes_its_own_text_check() -> None:
    assert main() == 0


def test_check_finds_every_kind_of_gap() -> None:
    cat = Catalogue(
        {"en": Language("en", "English", "ltr"), "ar": Language("ar", "العربية", "rtl")},
        {
            "en": {"utter_a": "Call {number}", "button.b": "B", "only_en": "x"},
            "ar": {"utter_a": "اتصل", "button.b": "ب", "stray": "y"},
        },
    )
    domain = {
        "responses": {
            "utter_a": [{"text": "utter_a", "buttons": [{"title": "button.b", "payload": "/b"}]}],
            "utter_c": [
                {"text": "utter_c", "buttons": [{"title": "button.b", "payload": "/" + "x" * 70}]}
            ],
        }
    }
    found = problems(cat, domain)
    assert "utter_c: text key 'utter_c' is not in en.yml" in found
    assert any("over 64 bytes" in line for line in found)
    assert "ar.yml: missing 'only_en'" in found
    assert "ar.yml: 'stray' is not in en.yml" in found
    assert "ar.yml: 'utter_a' placeholders differ from en.yml" in found
