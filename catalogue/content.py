"""The content catalogue: sourced, dated answers per topic, language and country.

Files under ``data/content/`` (edited by the operating NGO, not by developers):

- ``topics.yml``: every topic, its button text key, related topics, and whether
  the answer depends on the country the child is in;
- ``sources.yml``: the one list of sources (id, title, URL) that entries cite;
- ``countries.yml``: per country, named facts (who answers 116 000, the asylum
  authority, the guardianship body...), each with its sources and check date;
- ``<language>.yml``: the answers in one language. Each entry records its
  topic, country (``EU`` for EU-wide, a country code, or ``national`` for a
  text that fits every country whose facts fill its placeholders), sources,
  date checked, review-by date and review status, the first message and up to
  three "tell me more" messages.

Which entry answers: the country's own entry, else the ``national`` entry when
the country's facts fill all its placeholders, else the EU-wide entry. Like the
rest of ``catalogue``, this module imports no framework.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from catalogue import ROOT, Catalogue, CatalogueError, placeholders

DEFAULT_CONTENT = ROOT / "data" / "content"
EU = "EU"
NATIONAL = "national"
OTHER_COUNTRY = "other"  # the child is somewhere we have no country facts for
FIRST_LIMIT = 300  # characters in the first message, "checked" line included
MORE_LIMIT = 300  # characters in each "tell me more" message
MAX_MORE = 3
RELATED_BUTTONS = 2


@dataclass(frozen=True)
class Topic:
    """What is the same about a topic in every language."""

    name: str
    button: str  # text key of the button that asks for it
    related: tuple[str, ...]
    needs_country: bool  # ask where the child is before answering
    sensitive: bool = False  # danger and distress: sent protected (no forwarding, no saving)


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    url: str


@dataclass(frozen=True)
class Fact:
    """One sourced fact about a country, such as who answers 116 000 there."""

    value: str
    sources: tuple[str, ...]
    checked: dt.date


@dataclass(frozen=True)
class Country:
    code: str
    facts: Mapping[str, Fact]


@dataclass(frozen=True)
class Entry:
    """One answer to one topic, in one language, for one country or EU-wide."""

    topic: str
    language: str
    country: str  # EU, NATIONAL or a country code
    text: str
    more: tuple[str, ...]
    sources: tuple[str, ...]
    checked: dt.date
    review_by: dt.date
    review: str  # "draft", "source", or "reviewed by <who>"
    origin: str = ""  # file it came from, for error messages

    def needs(self) -> set[str]:
        """Placeholders the entry's texts use."""
        found: set[str] = set()
        for text in (self.text, *self.more):
            found |= placeholders(text)
        return found


@dataclass(frozen=True)
class Answer:
    """An entry made ready for one country: placeholders, sources and date resolved."""

    entry: Entry
    country: str | None
    values: Mapping[str, str]
    sources: tuple[str, ...]
    checked: dt.date
    more: tuple[str, ...]  # the entry's own, or the EU-wide entry's


@dataclass
class Content:
    """Every topic's answers, in every language, for every country."""

    topics: dict[str, Topic]
    sources: dict[str, Source]
    countries: dict[str, Country]
    entries: dict[tuple[str, str, str], Entry] = field(default_factory=dict)
    languages: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, directory: Path = DEFAULT_CONTENT) -> Content:
        """Read topics, sources, countries and every language file in a directory."""
        content = cls(
            topics=_read_topics(directory / "topics.yml"),
            sources=_read_sources(directory / "sources.yml"),
            countries=_read_countries(directory / "countries.yml"),
        )
        for path in sorted(directory.glob("*.yml")):
            if path.stem in ("topics", "sources", "countries"):
                continue
            content.languages.add(path.stem)
            for entry in _read_entries(path):
                key = (entry.topic, entry.language, entry.country)
                if key in content.entries:
                    raise CatalogueError(f"{path}: two entries for {entry.topic} / {entry.country}")
                content.entries[key] = entry
        return content

    def needs_country(self, topic: str) -> bool:
        return topic in self.topics and self.topics[topic].needs_country

    def answer(self, topic: str, language: str, country: str | None) -> Answer | None:
        """The entry that answers ``topic`` in ``language`` for a child in ``country``."""
        known = self.countries.get(country or "")
        if known is not None:
            own = self.entries.get((topic, language, known.code))
            if own is not None:
                return self._resolve(own, known)
            national = self.entries.get((topic, language, NATIONAL))
            if national is not None and national.needs() <= set(known.facts) | {"country"}:
                return self._resolve(national, known)
        eu = self.entries.get((topic, language, EU))
        return self._resolve(eu, None) if eu is not None else None

    def _resolve(self, entry: Entry, country: Country | None) -> Answer:
        facts = [country.facts[name] for name in entry.needs() if country and name in country.facts]
        sources = tuple(dict.fromkeys([*entry.sources, *(s for f in facts for s in f.sources)]))
        checked = min([entry.checked, *(f.checked for f in facts)])
        values = {name: fact.value for name, fact in (country.facts.items() if country else ())}
        more = entry.more
        if not more:
            eu = self.entries.get((entry.topic, entry.language, EU))
            more = eu.more if eu is not None else ()
        return Answer(entry, country.code if country else None, values, sources, checked, more)

    def answers_for(self, topic: str, language: str) -> Iterator[Answer]:
        """The answer for every country we know, and for anywhere else (for the checks)."""
        for code in [*sorted(self.countries), None]:
            found = self.answer(topic, language, code)
            if found is not None:
                yield found

    def messages(
        self, answer: Answer, catalogue: Catalogue, *, more: bool = False
    ) -> list[dict[str, Any]]:
        """The messages a child sees: the first one, or the "tell me more" ones.

        Texts and buttons are put into the answer's language by ``catalogue``,
        so numbers and links in right-to-left text are isolated the same way
        everywhere.
        """
        entry = answer.entry
        language = entry.language
        values: dict[str, Any] = dict(answer.values)
        if answer.country is not None:
            values["country"] = catalogue.text(f"country.{answer.country}", language)
        texts = list(answer.more) if more else [entry.text]
        if not texts:
            return []
        rendered = [catalogue.format(text, language, values) for text in texts]
        if not more:
            checked = catalogue.text(
                "content.checked", language, {"date": month_year(answer.checked, language)}
            )
            rendered[0] = f"{rendered[0]}\n\n{checked}"
        messages: list[dict[str, Any]] = [{"text": text} for text in rendered]
        messages[-1]["buttons"] = self.buttons(
            entry.topic, language, catalogue, offer_more=not more and bool(answer.more)
        )
        direction = catalogue.language(catalogue.resolve(language)).direction
        protect = self.topics[entry.topic].sensitive
        for message in messages:
            message.update(language=language, direction=direction, topic=entry.topic)
            if protect:
                message["protect"] = True
        return messages

    def buttons(
        self, topic: str, language: str, catalogue: Catalogue, *, offer_more: bool
    ) -> list[dict[str, str]]:
        """Tell me more (when ``offer_more``), related topics, a person, the menu."""
        buttons: list[dict[str, str]] = []
        if offer_more:
            buttons.append(
                {
                    "title": catalogue.text("button.more", language),
                    "payload": f'/tell_me_more{{"topic":"{topic}"}}',
                }
            )
        for related in self.topics[topic].related[:RELATED_BUTTONS]:
            buttons.append(
                {
                    "title": catalogue.text(self.topics[related].button, language),
                    "payload": f"/{related}",
                }
            )
        for key, payload in (("button.person", "/talk_to_human"), ("button.menu", "/help")):
            buttons.append({"title": catalogue.text(key, language), "payload": payload})
        return buttons


def month_year(date: dt.date, language: str) -> str:
    """ "November 2026" in the child's language (CLDR month names, via Babel)."""
    from babel.dates import format_date  # Babel loads its locale data lazily

    try:
        return str(format_date(date, "LLLL y", locale=language))
    except (ValueError, LookupError):  # a language CLDR does not know
        return date.strftime("%Y-%m")


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CatalogueError(f"{path}: missing") from exc
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path}: not valid YAML ({exc})") from exc


def _date(value: object, where: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise CatalogueError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from exc


def _strings(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise CatalogueError(f"{where}: expected a list of strings")


def _read_topics(path: Path) -> dict[str, Topic]:
    data = _load_yaml(path)
    topics = {}
    for name, spec in ((data or {}).get("topics") or {}).items():
        if not isinstance(spec, dict) or "button" not in spec:
            raise CatalogueError(f"{path}: topic {name} needs a button")
        topics[name] = Topic(
            name=name,
            button=str(spec["button"]),
            related=_strings(spec.get("related"), f"{path}: {name}.related"),
            needs_country=bool(spec.get("needs_country", False)),
            sensitive=bool(spec.get("sensitive", False)),
        )
    for topic in topics.values():
        for related in topic.related:
            if related not in topics:
                raise CatalogueError(f"{path}: {topic.name} relates to unknown topic {related}")
    return topics


def _read_sources(path: Path) -> dict[str, Source]:
    data = _load_yaml(path)
    sources = {}
    for id_, spec in ((data or {}).get("sources") or {}).items():
        if not isinstance(spec, dict) or not spec.get("url") or not spec.get("title"):
            raise CatalogueError(f"{path}: source {id_} needs a title and a url")
        sources[str(id_)] = Source(str(id_), str(spec["title"]), str(spec["url"]))
    return sources


def _read_countries(path: Path) -> dict[str, Country]:
    data = _load_yaml(path)
    countries = {}
    for code, spec in ((data or {}).get("countries") or {}).items():
        facts = {}
        for name, fact in ((spec or {}).get("facts") or {}).items():
            where = f"{path}: {code}.{name}"
            if not isinstance(fact, dict) or not fact.get("value"):
                raise CatalogueError(f"{where}: a fact needs a value")
            facts[name] = Fact(
                value=str(fact["value"]),
                sources=_strings(fact.get("sources"), where),
                checked=_date(fact.get("checked"), where),
            )
        countries[str(code)] = Country(str(code), facts)
    return countries


def _read_entries(path: Path) -> Iterator[Entry]:
    data = _load_yaml(path)
    if not isinstance(data, dict) or data.get("language") != path.stem:
        raise CatalogueError(f"{path}: needs 'language: {path.stem}'")
    for number, raw in enumerate(data.get("entries") or [], start=1):
        where = f"{path} entry {number}"
        if not isinstance(raw, dict) or not raw.get("topic") or not raw.get("text"):
            raise CatalogueError(f"{where}: needs a topic and a text")
        more = _strings(raw.get("more"), f"{where}: more")
        yield Entry(
            topic=str(raw["topic"]),
            language=path.stem,
            country=str(raw.get("country") or ""),
            text=str(raw["text"]).strip(),
            more=tuple(m.strip() for m in more),
            sources=_strings(raw.get("sources"), f"{where}: sources"),
            checked=_date(raw.get("checked"), f"{where}: checked"),
            review_by=_date(raw.get("review_by"), f"{where}: review_by"),
            review=str(raw.get("review") or ""),
            origin=where,
        )


@functools.lru_cache(maxsize=1)
def default_content() -> Content:
    """The content under ``LANTERN_CONTENT`` (default ``data/content``), loaded once."""
    return Content.load(Path(os.environ.get("LANTERN_CONTENT", str(DEFAULT_CONTENT))))
