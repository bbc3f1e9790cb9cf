"""``python -m catalogue.check``: fail on any gap between the domain and the texts.

Checks that every text key the domain names exists in the default language,
that every language has every key (and no stray ones), that each translation
keeps the default text's placeholders, and that button payloads fit Telegram's
64-byte callback data. Prints coverage per language.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from catalogue import ROOT, Catalogue, CatalogueError, default_catalogue, placeholders

CALLBACK_DATA_LIMIT = 64


def domain_keys(domain: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """Yield (response name, text key) for every text key a domain response names."""
    for name, variations in (domain.get("responses") or {}).items():
        for variation in variations or []:
            if variation.get("text"):
                yield name, variation["text"]
            for button in variation.get("buttons") or []:
                yield name, button.get("title", "")


def domain_payloads(domain: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for name, variations in (domain.get("responses") or {}).items():
        for variation in variations or []:
            for button in variation.get("buttons") or []:
                yield name, button.get("payload", "")


def problems(catalogue: Catalogue, domain: dict[str, Any]) -> list[str]:
    """Everything wrong, one line each; empty when all is well."""
    found: list[str] = []
    default = catalogue.default
    reference = catalogue.keys()
    for response, key in domain_keys(domain):
        if key not in reference:
            found.append(f"{response}: text key {key!r} is not in {default}.yml")
    for response, payload in domain_payloads(domain):
        if len(payload.encode()) > CALLBACK_DATA_LIMIT:
            found.append(f"{response}: button payload over {CALLBACK_DATA_LIMIT} bytes: {payload}")
    for code, keys in sorted(catalogue.missing().items()):
        found.extend(f"{code}.yml: missing {key!r}" for key in sorted(keys))
    for code, keys in sorted(catalogue.extra().items()):
        found.extend(f"{code}.yml: {key!r} is not in {default}.yml" for key in sorted(keys))
    expected = dict(catalogue.entries(default))
    for language in catalogue.languages:
        for key, text in catalogue.entries(language.code):
            if key in expected and placeholders(text) != placeholders(expected[key]):
                found.append(f"{language.code}.yml: {key!r} placeholders differ from {default}.yml")
            if not text.strip():
                found.append(f"{language.code}.yml: {key!r} is empty")
    return found


def coverage(catalogue: Catalogue) -> list[str]:
    total = len(catalogue.keys())
    missing = catalogue.missing()
    lines = []
    for language in catalogue.languages:
        have = total - len(missing[language.code])
        lines.append(f"  {language.code:4} {language.name:12} {have}/{total} texts")
    return lines


def main(domain_path: Path = ROOT / "domain.yml") -> int:
    try:
        catalogue = default_catalogue()
    except CatalogueError as exc:
        print(f"catalogue error: {exc}", file=sys.stderr)
        return 1
    domain = yaml.safe_load(domain_path.read_text(encoding="utf-8"))
    print("Text coverage per language:")
    print("\n".join(coverage(catalogue)))
    return report(problems(catalogue, domain))


def report(found: list[str]) -> int:
    """Print each problem on stderr and a count; the exit status for a check."""
    for line in found:
        print(f"error: {line}", file=sys.stderr)
    print(f"{len(found)} problem(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
