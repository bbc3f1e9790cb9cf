"""HELPLINE_HOURS: parsing, open or closed, and the next opening."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.helpline.hours import Hours, HoursError

UTC = dt.timezone.utc


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_always_open() -> None:
    hours = Hours.parse("24/7")
    assert hours.always and hours.is_open(at("2026-12-06 03:00"))


def test_weekdays_in_the_helplines_time_zone() -> None:
    hours = Hours.parse("Mon-Fri 09:00-17:00 Europe/Rome")
    assert hours.is_open(at("2026-12-02 08:30"))  # Wednesday 09:30 in Rome
    assert not hours.is_open(at("2026-12-02 16:30"))  # 17:30 in Rome
    assert not hours.is_open(at("2026-12-05 10:00"))  # Saturday
    opening = hours.next_opening(at("2026-12-04 17:00"))  # Friday evening
    assert opening.weekday() == 0 and opening.hour == 9
    assert opening.utcoffset() == dt.timedelta(hours=1)


def test_several_spans_and_day_lists() -> None:
    hours = Hours.parse("Mon-Fri 09:00-17:00, Sat+Sun 10:00-14:00 UTC")
    assert hours.is_open(at("2026-12-06 11:00"))
    assert hours.next_opening(at("2026-12-06 15:00")) == at("2026-12-07 09:00")


@pytest.mark.parametrize(
    "spec",
    ["", "Mon-Fri 09:00-17:00", "Mon-Fri 17:00-09:00 UTC", "Funday 09:00-10:00 UTC",
     "Mon 9-17 UTC", "Mon 25:00-26:00 UTC"],
)  # fmt: skip
def test_bad_hours_say_what_is_wrong(spec: str) -> None:
    with pytest.raises(HoursError):
        Hours.parse(spec)
