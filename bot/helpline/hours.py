"""When counsellors are on duty: ``HELPLINE_HOURS`` such as ``Mon-Fri 09:00-17:00 Europe/Rome``.

Grammar: ``24/7``, or one or more ``<days> <HH:MM>-<HH:MM>`` spans separated by
commas, then an IANA time zone. Days are ``Mon``..``Sun``, a range (``Mon-Fri``)
or a list joined by ``+`` (``Sat+Sun``). A span may not cross midnight.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^([A-Za-z+\-]+)\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")


class HoursError(ValueError):
    """The hours do not follow the grammar; the message says where."""


@dataclass(frozen=True)
class Span:
    days: frozenset[int]  # 0 = Monday
    start: dt.time
    end: dt.time


@dataclass(frozen=True)
class Hours:
    spans: tuple[Span, ...]
    zone: ZoneInfo | None  # None: always open

    @property
    def always(self) -> bool:
        return self.zone is None

    @classmethod
    def parse(cls, spec: str) -> Hours:
        spec = spec.strip()
        if spec.lower() in ("24/7", "always"):
            return cls((), None)
        head, _, zone_name = spec.rpartition(" ")
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise HoursError(f"{spec!r} must end with a time zone such as Europe/Rome") from None
        spans = tuple(_span(part.strip(), spec) for part in head.split(",") if part.strip())
        if not spans:
            raise HoursError(f"{spec!r} names no opening hours")
        return cls(spans, zone)

    def is_open(self, now: dt.datetime) -> bool:
        """Whether someone is on duty at ``now`` (an aware datetime)."""
        if self.zone is None:
            return True
        local = now.astimezone(self.zone)
        return any(
            local.weekday() in s.days and s.start <= local.time() < s.end for s in self.spans
        )

    def next_opening(self, now: dt.datetime) -> dt.datetime:
        """When duty next starts after ``now``, in the helpline's time zone (now if open)."""
        if self.zone is None or self.is_open(now):
            return now
        local = now.astimezone(self.zone)
        for offset in range(8):
            day = local.date() + dt.timedelta(days=offset)
            starts = sorted(
                dt.datetime.combine(day, s.start, self.zone)
                for s in self.spans
                if day.weekday() in s.days
            )
            for start in starts:
                if start > local:
                    return start
        raise HoursError("no opening within a week")  # parse() forbids this


def _span(text: str, spec: str) -> Span:
    match = _SPAN.match(text)
    if not match:
        raise HoursError(f"{spec!r}: {text!r} is not like 'Mon-Fri 09:00-17:00'")
    days_text, h1, m1, h2, m2 = match.groups()
    try:
        start, end = dt.time(int(h1), int(m1)), dt.time(int(h2), int(m2))
    except ValueError:
        raise HoursError(f"{spec!r}: {text!r} has an impossible time") from None
    if start >= end:
        raise HoursError(f"{spec!r}: {text!r} must end after it starts, on the same day")
    return Span(_days(days_text, spec), start, end)


def _days(text: str, spec: str) -> frozenset[int]:
    days: set[int] = set()
    for part in text.lower().split("+"):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise HoursError(f"{spec!r}: {part!r} is not a day or a range like Mon-Fri")
        a, b = DAYS.index(first), DAYS.index(last or first)
        days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return frozenset(days)
