"""Texts in every language, shared by the Rasa NLG, the actions and the gateway.

One YAML file per language under ``data/locales/`` maps text keys to texts. The
Rasa domain keeps the *structure* of each response (its text key, its buttons and
their payloads); this module turns that structure into words in one language.
It imports no framework, so every process can use it.
"""

from __future__ import annotations

import copy
import functools
import logging
import os
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LOCALES = ROOT / "data" / "locales"
DEFAULT_LANGUAGE = "en"

# First-strong isolate and pop-directional isolate: keep numbers and links the
# right way round inside right-to-left text (Unicode bidi algorithm, UAX #9).
FSI = "\u2068"
PDI = "\u2069"

# Runs that right-to-left text turns around unless isolated: links, and numbers
# with their separators ("116 000" would read "000 116", "0800-0432" likewise).
_LINK = r"(?:https?://|www\.)[^\s\u2068\u2069]+[^\s\u2068\u2069.,;:!?)،؟]"
_NUMBER = r"\+?\d+(?:[ .\-/]\d+)*"
_ISOLATED = "\u2068[^\u2069]*\u2069"
_RUNS = re.compile(f"({_ISOLATED})|({_LINK}|{_NUMBER})")
UNISOLATED = re.compile(f"{_ISOLATED}|({_LINK}|\\d)")


class CatalogueError(ValueError):
    """A locale file is missing or malformed."""


@dataclass(frozen=True)
class Language:
    """A language the assistant can speak."""

    code: str
    name: str  # the language's own name, in its own script, for the picker
    direction: str  # "ltr" or "rtl"

    @property
    def rtl(self) -> bool:
        return self.direction == "rtl"


def placeholders(text: str) -> set[str]:
    """Return the names of the ``{placeholders}`` in a text (``{{`` is a literal brace)."""
    try:
        return {field for _, field, _, _ in string.Formatter().parse(text) if field}
    except ValueError:  # an unbalanced brace: report it as a placeholder problem
        return {"<unbalanced brace>"}


class _Values(dict[str, str]):
    """Placeholder values that leave an unknown ``{name}`` visible instead of failing."""

    def __missing__(self, key: str) -> str:
        logger.warning("catalogue.placeholder_missing", extra={"placeholder": key})
        return "{" + key + "}"


class Catalogue:
    """All texts of all languages, with English as the fallback."""

    def __init__(
        self,
        languages: Mapping[str, Language],
        texts: Mapping[str, Mapping[str, str]],
        default: str = DEFAULT_LANGUAGE,
    ) -> None:
        if default not in languages:
            raise CatalogueError(f"default language {default!r} has no locale file")
        self._languages = dict(languages)
        self._texts = {code: dict(entries) for code, entries in texts.items()}
        self.default = default

    @classmethod
    def load(cls, directory: Path = DEFAULT_LOCALES, default: str = DEFAULT_LANGUAGE) -> Catalogue:
        """Read every ``<code>.yml`` in a directory."""
        languages: dict[str, Language] = {}
        texts: dict[str, dict[str, str]] = {}
        files = sorted(directory.glob("*.yml"))
        if not files:
            raise CatalogueError(f"no locale files in {directory}")
        for path in files:
            language, entries = _read_locale(path)
            languages[language.code] = language
            texts[language.code] = entries
        return cls(languages, texts, default)

    @property
    def languages(self) -> list[Language]:
        """Languages in a stable order: the default first, then by code."""
        return sorted(self._languages.values(), key=lambda x: (x.code != self.default, x.code))

    def language(self, code: str) -> Language:
        return self._languages[code]

    def supports(self, code: str | None) -> bool:
        return code is not None and code in self._languages

    def resolve(self, code: str | None) -> str:
        """Return ``code`` when the catalogue has it, else the default language."""
        return code if code is not None and code in self._languages else self.default

    def has(self, key: str) -> bool:
        """Whether the default language has a text key."""
        return key in self._texts[self.default]

    def keys(self, code: str | None = None) -> set[str]:
        return set(self._texts[code or self.default])

    def text(self, key: str, language: str | None, values: Mapping[str, Any] | None = None) -> str:
        """Return the text for ``key`` in a language, placeholders filled.

        A text missing in that language falls back to the default language (and
        is logged): a child gets an answer rather than nothing. ``make check``
        fails on every such gap, so this only happens between a new key landing
        and its translation.
        """
        code = self.resolve(language)
        template = self._texts[code].get(key)
        if template is None:
            logger.warning("catalogue.text_missing", extra={"key": key, "language": code})
            template = self._texts[self.default].get(key)
            code = self.default
        if template is None:
            raise KeyError(key)
        return self.format(template, code, values)

    def format(self, template: str, language: str, values: Mapping[str, Any] | None = None) -> str:
        """Fill a template's placeholders and, in right-to-left text, isolate numbers and links."""
        code = self.resolve(language)
        rtl = self._languages[code].rtl
        if values and "{" in template:
            filled = _Values(
                {
                    name: _isolate(str(v), rtl)
                    for name, v in values.items()
                    if isinstance(v, str | int | float)
                }
            )
            template = string.Formatter().vformat(template, (), filled)
        return isolate_runs(template) if rtl else template

    def render(
        self, response: Mapping[str, Any], language: str | None, values: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Turn a domain response variation into a message in one language.

        ``text`` and each button ``title`` in the variation are text keys. A
        button whose title is not a key (for example a language's own name, set
        by an action) is left as it is.
        """
        code = self.resolve(language)
        message = copy.deepcopy(dict(response))
        if message.get("text"):
            message["text"] = self.text(message["text"], code, values)
        buttons = message.get("buttons") or []
        for button in buttons:
            title = button.get("title", "")
            if title in self._texts[self.default]:
                button["title"] = self.text(title, code, values)
        message["language"] = code
        message["direction"] = self._languages[code].direction
        return message

    def missing(self) -> dict[str, set[str]]:
        """Keys the default language has and another language lacks."""
        reference = self.keys()
        return {code: reference - set(texts) for code, texts in self._texts.items()}

    def extra(self) -> dict[str, set[str]]:
        """Keys a language has that the default language does not (typos, stale keys)."""
        reference = self.keys()
        return {code: set(texts) - reference for code, texts in self._texts.items()}

    def entries(self, code: str) -> Iterable[tuple[str, str]]:
        return self._texts[code].items()


def _isolate(value: str, rtl: bool) -> str:
    """Wrap a value in Unicode isolates inside right-to-left text."""
    return f"{FSI}{value}{PDI}" if rtl else value


def isolate_runs(text: str) -> str:
    """Isolate every link and number in a right-to-left text, once.

    Translators write "اتصل بالرقم 116 000" as they would on paper; the
    isolates that keep it from showing as "000 116" are added here, so nobody
    has to type invisible characters.
    """
    return _RUNS.sub(lambda m: m.group(1) or f"{FSI}{m.group(2)}{PDI}", text)


def unisolated(text: str) -> list[str]:
    """Digits and links in a text that are outside any isolate (for the checks)."""
    return [m.group(1) for m in UNISOLATED.finditer(text) if m.group(1)]


def _read_locale(path: Path) -> tuple[Language, dict[str, str]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(data, dict) or "language" not in data or "texts" not in data:
        raise CatalogueError(f"{path}: needs 'language' and 'texts'")
    meta = data["language"]
    code = path.stem
    if not isinstance(meta, dict) or meta.get("code") != code:
        raise CatalogueError(f"{path}: language.code must be {code!r}")
    direction = meta.get("direction", "ltr")
    if direction not in ("ltr", "rtl") or not meta.get("name"):
        raise CatalogueError(f"{path}: language needs a name and direction ltr or rtl")
    texts = data["texts"]
    if not isinstance(texts, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in texts.items()
    ):
        raise CatalogueError(f"{path}: 'texts' must map keys to strings")
    return Language(code=code, name=str(meta["name"]), direction=direction), texts


@functools.lru_cache(maxsize=1)
def default_catalogue() -> Catalogue:
    """The catalogue under ``LANTERN_LOCALES`` (default ``data/locales``), loaded once."""
    directory = Path(os.environ.get("LANTERN_LOCALES", str(DEFAULT_LOCALES)))
    return Catalogue.load(directory)


DEFAULT_STAFF_TEXTS = ROOT / "data" / "staff"


def staff_catalogue() -> Catalogue:
    """The helpline staff's texts (``data/staff``): cards, command answers, reminders."""
    return Catalogue.load(DEFAULT_STAFF_TEXTS)
