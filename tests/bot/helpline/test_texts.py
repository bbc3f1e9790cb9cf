"""Every text key the desk uses exists: staff keys in data/staff, child keys in every locale."""

from __future__ import annotations

import re
from pathlib import Path

from catalogue import default_catalogue, staff_catalogue

DESK = (Path(__file__).resolve().parents[3] / "bot" / "helpline" / "desk.py").read_text("utf-8")
STAFF_KEYS = re.compile(r'"(staff\.[a-z_]+)"')
CHILD_KEYS = re.compile(r'(?:self\.child\(\s*|_tell_child\([^"\n]*)"([a-z_.]+)"')


def test_every_staff_key_the_desk_uses_exists() -> None:
    used = set(STAFF_KEYS.findall(DESK))
    assert used and used <= staff_catalogue().keys()


def test_every_child_key_the_desk_uses_exists_in_every_language() -> None:
    used = set(CHILD_KEYS.findall(DESK))
    catalogue = default_catalogue()
    assert {"handoff.waiting", "handoff.claimed", "utter_talk_to_human"} <= used
    for language in catalogue.languages:
        assert used <= catalogue.keys(language.code), language.code
