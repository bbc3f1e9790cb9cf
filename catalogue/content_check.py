"""``python -m catalogue.content_check``: fail on any gap or fault in the content catalogue.

Fails on: a topic x language cell missing; an entry without sources, with an
unknown source, or without a checked date; a review-by date in the past; a
message over the length limits; a placeholder that does not resolve; a
translation whose placeholders differ from the English entry; a right-to-left
message with a number or link outside Unicode isolates. Every message is
checked as a child would see it, for every country. Then the NLU examples
behind the intents (catalogue.nlu_check). Prints coverage per language and
per country, and NLU examples per language.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Iterable

import yaml

from catalogue import ROOT, Catalogue, CatalogueError, default_catalogue, nlu_check, unisolated
from catalogue.check import report
from catalogue.content import (
    EU,
    FIRST_LIMIT,
    MAX_MORE,
    MORE_LIMIT,
    NATIONAL,
    Content,
    Entry,
    default_content,
)

REVIEW_STATES = ("source", "draft")  # or "reviewed by <who>"


def today() -> dt.date:
    """Today, or ``LANTERN_TODAY`` (YYYY-MM-DD) to check against another day."""
    override = os.environ.get("LANTERN_TODAY")
    return dt.date.fromisoformat(override) if override else dt.date.today()


def entry_problems(
    content: Content, entry: Entry, on: dt.date, fact_names: set[str]
) -> Iterable[str]:
    """What is wrong with one entry on its own (``fact_names``: every country's facts)."""
    where = f"{entry.language}.yml {entry.topic}/{entry.country}"
    if entry.topic not in content.topics:
        yield f"{where}: unknown topic"
    if entry.country not in (EU, NATIONAL) and entry.country not in content.countries:
        yield f"{where}: unknown country {entry.country!r} (EU, national or from countries.yml)"
    if not entry.sources:
        yield f"{where}: no sources"
    for source in entry.sources:
        if source not in content.sources:
            yield f"{where}: source {source} is not in sources.yml"
    if entry.checked > on:
        yield f"{where}: checked date {entry.checked} is in the future"
    if entry.review_by < on:
        yield f"{where}: review was due on {entry.review_by}"
    if entry.review not in REVIEW_STATES and not entry.review.startswith("reviewed by "):
        yield f"{where}: review must be source, draft or 'reviewed by <who>'"
    if len(entry.more) > MAX_MORE:
        yield f"{where}: {len(entry.more)} 'more' messages (at most {MAX_MORE})"
    allowed = {"country", *fact_names} if entry.country != EU else set()
    for name in sorted(entry.needs() - allowed):
        yield f"{where}: placeholder {{{name}}} does not resolve"


def translation_problems(content: Content, default: str) -> Iterable[str]:
    """Translations keep the default language's placeholders, entry by entry."""
    for (topic, language, country), entry in sorted(content.entries.items()):
        original = content.entries.get((topic, default, country))
        if language == default:
            continue
        if original is None:
            yield f"{language}.yml {topic}/{country}: no {default} entry to translate"
        elif entry.needs() != original.needs():
            yield f"{language}.yml {topic}/{country}: placeholders differ from {default}.yml"


def rendered_problems(content: Content, catalogue: Catalogue) -> Iterable[str]:
    """Render every answer for every country and check what a child would see."""
    for language in catalogue.languages:
        for topic in content.topics:
            for answer in content.answers_for(topic, language.code):
                country = answer.country or "EU"
                where = f"{language.code}.yml {topic}/{answer.entry.country} for {country}"
                first = content.messages(answer, catalogue)
                more = content.messages(answer, catalogue, more=True)
                for number, message in enumerate([*first, *more], start=1):
                    text = message["text"]
                    limit = FIRST_LIMIT if number == 1 else MORE_LIMIT
                    if len(text) > limit:
                        yield f"{where}: message {number} has {len(text)} characters (max {limit})"
                    if "{" in text or "}" in text:
                        yield f"{where}: message {number} has an unfilled placeholder"
                    if language.rtl and unisolated(text):
                        runs = ", ".join(unisolated(text))
                        yield f"{where}: message {number} has unisolated numbers or links: {runs}"


def problems(content: Content, catalogue: Catalogue, on: dt.date) -> list[str]:
    """Everything wrong, one line each; empty when all is well."""
    found: list[str] = []
    for language in catalogue.languages:
        if language.code not in content.languages:
            found.append(f"{language.code}.yml: no content file for this language")
        for topic in content.topics:
            if (topic, language.code, EU) not in content.entries:
                found.append(f"{language.code}.yml {topic}: missing (no EU-wide entry)")
    for code in sorted(content.languages - {lang.code for lang in catalogue.languages}):
        found.append(f"{code}.yml: content for a language with no locale file")
    fact_names = {name for country in content.countries.values() for name in country.facts}
    for entry in content.entries.values():
        found.extend(entry_problems(content, entry, on, fact_names))
    for code, country in sorted(content.countries.items()):
        for name, fact in sorted(country.facts.items()):
            if not fact.sources:
                found.append(f"countries.yml {code}.{name}: no sources")
            for source in fact.sources:
                if source not in content.sources:
                    found.append(f"countries.yml {code}.{name}: unknown source {source}")
        if not catalogue.has(f"country.{code}"):
            found.append(f"countries.yml {code}: no text key country.{code} in the locales")
    for spec in content.topics.values():
        if not catalogue.has(spec.button):
            found.append(f"topics.yml {spec.name}: no text key {spec.button} in the locales")
    found.extend(translation_problems(content, catalogue.default))
    found.extend(rendered_problems(content, catalogue))
    return found


def coverage(content: Content, catalogue: Catalogue) -> list[str]:
    """Topic cells per language, and country-specific answers per country and language."""
    topics = list(content.topics)
    lines = [f"Topics per language ({len(topics)} topics; review status):"]
    for language in catalogue.languages:
        code = language.code
        have = sum((t, code, EU) in content.entries for t in topics)
        national = sum((t, code, NATIONAL) in content.entries for t in topics)
        states = sorted({e.review for (_, lang, _), e in content.entries.items() if lang == code})
        lines.append(
            f"  {code:4} {have:2}/{len(topics)} EU-wide, {national} national templates"
            f"  [{', '.join(states) or '-'}]"
        )
    lines.append("Country-specific answers (same in every language):")
    for code in sorted(content.countries):
        specific = [
            t
            for t in topics
            if (answer := content.answer(t, catalogue.default, code)) is not None
            and answer.country == code
            and answer.entry.country != EU
        ]
        lines.append(f"  {code}  {len(specific):2}/{len(topics)}  {', '.join(specific)}")
    return lines


def main() -> int:
    try:
        catalogue = default_catalogue()
        content = default_content()
    except CatalogueError as exc:
        print(f"content error: {exc}", file=sys.stderr)
        return 1
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    nlu = nlu_check.load([language.code for language in catalogue.languages])
    print("\n".join(coverage(content, catalogue)))
    print("\n".join(nlu_check.coverage(nlu)))
    return report(
        problems(content, catalogue, today()) + nlu_check.problems(domain["intents"], nlu)
    )


if __name__ == "__main__":
    sys.exit(main())
