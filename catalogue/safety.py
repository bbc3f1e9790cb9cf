"""Danger phrases, one file per language (``data/safety/<lang>.yml``), and a tolerant matcher.

The intent classifier learns danger from examples; this lexicon makes sure the
plain ways children say it are caught even when the classifier hesitates. A
phrase is a few words. It matches when its words occur in the message in that
order, with at most ``GAP`` other words between them, after normalisation
(case, diacritics, Arabic letter variants, repeated letters); a word of the
message may also carry Arabic's "and" (و) joined in front, and a verb spoken
Arabic's present (ب: "بيضربنا" is "يضربنا"). A word ending in ``*`` matches
any word it starts (``passport*``: passports); in a phrase of two or more words,
a word of six or more letters also matches with one typo (never in its first
letter: "eaten" is not "beaten"); a word ending in ``=`` is matched exactly,
for words one letter away from an ordinary one; a word starting with ``!``
must not come right after the words before it ("kick* me !out": kicked
me, not kicked me out); at the start of a phrase, it must not stand among the
``GAP`` + 1 words before the rest ("!phone* fell in river": a friend who fell
in, not a phone). Words joined by ``|`` are alternatives for one place,
each with its own marks ("keep*|took|has my passport*|papers": one phrase for
the ways a child says someone holds their documents). A phrase starting with ``^``
matches only at the start of the message, for a request that the same words
would also make in a question ("^call police": "call the police!", not "should
i call the police?"). Phrases written in Cyrillic also match the same words typed
in Latin letters ("ne khochu zhyt" is "не хочу жить"): both are reduced to one
romanised key (``latin_key``), in phrases of two or more words only, as a lone short
key is too often a word of another language ("тону", I drown, is "tone"). A file's
``questions`` are phrases that ask about a risk rather than report one ("is it
dangerous to…?"), for rasa_ext.safety. The file's ``language`` is only for
reviewers: every message is checked against every language, because children
mix languages and write in transliteration.
"""

from __future__ import annotations

import functools
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SAFETY = ROOT / "data" / "safety"
EMERGENCY = "emergency"
DISTRESS = "feeling_distress"
# the four safety intents, most serious first; their answers in the content
# catalogue are topics of the same names
CATEGORIES = (EMERGENCY, "report_abuse", "report_exploitation", DISTRESS)
CHECK = "check"  # rasa_ext.safety's source for "are you safe right now?", not danger
# a file's ``questions``: asking about a risk ("is it dangerous to swim here?"), not reporting one
QUESTION = "question"
GAP = 2  # other words allowed between two words of a phrase
FUZZY_MIN = 6  # words this long also match with one typo

# Letters written several ways on Arabic-script keyboards, and marks to drop.
_ARABIC_FOLD = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک", "ة": "ه", "ۀ": "ه", "أ": "ا",
                              "إ": "ا", "آ": "ا", "ٱ": "ا", "ؤ": "و", "ئ": "ی", "ە": "ه",
                              "ێ": "ی", "ۆ": "و", "ڵ": "ل", "ڕ": "ر", "ـ": None})  # fmt: skip
# Indic scripts (Bengali) write vowels as combining signs: they belong to the
# word and are kept, where Latin accents and Arabic vowel marks are dropped.
_INDIC = "\u0900-\u0dff"
_WORD = rf"(?:[^\W_]|[{_INDIC}])"
_TOKEN = re.compile(rf"{_WORD}+(?:['’]{_WORD}+)?")
# Persian and Urdu verb prefixes written apart, joined or with a zero-width
# non-joiner: "می خواهم", "میخواهم" and "می‌خواهم" are one word.
_PREFIX_APART = re.compile(r"(?<!\S)(ن?می)\s+(?=\S)")
_REPEATS = re.compile(r"(.)\1{2,}")  # three or more of a letter: emphasis
AND = "و"  # Arabic's "and", written joined to the word after it
PRESENT = "ب"  # spoken Arabic's present, joined before a verb (بيلحقني: he follows me)
IMPERFECT = frozenset("یتنا")  # how a verb in the present begins, normalised (ي is ی)
_JOINED = frozenset((AND, PRESENT))

# Cyrillic as children type it in Latin letters, then one key for the many ways of
# doing so: "ya", "ja" and "ia" (я) are all "a" after a consonant, "kh", "h", "x"
# (х) and the Ukrainian "h" (г) are all "h", "zh" and "z" are "z", and so on.
_CYRILLIC = str.maketrans({"а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "е": "e",
                           "ё": "e", "є": "ye", "ж": "zh", "з": "z", "и": "i", "і": "i", "ї": "yi",
                           "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p",
                           "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
                           "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e",
                           "ю": "yu", "я": "ya", "'": ""})  # fmt: skip
_LATIN_KEY = [(re.compile(pattern), replacement) for pattern, replacement in (
    ("shch|sch|sh", "s"), ("zh", "z"), ("kh|x|g", "h"), ("ch|t[sz]", "c"), ("w", "v"),
    ("q", "k"), ("[yj]", "i"), ("i([aeou])", r"\1"), (r"(.)\1+", r"\1"))]  # fmt: skip
_CYRILLIC_LETTER = re.compile("[\u0400-\u04ff]")
_LATIN_LETTER = re.compile("[a-z]")


class SafetyError(ValueError):
    """A lexicon file is malformed."""


def normalise(text: str) -> list[str]:
    """Words of a text, folded so that spelling variants compare equal."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c) or _indic(c))
    text = unicodedata.normalize("NFC", text).translate(_ARABIC_FOLD).replace("\u200c", "")
    text = _PREFIX_APART.sub(r"\1", text)
    text = _REPEATS.sub(r"\1", text)  # "heeeelp" is "help"; "feel" keeps its two e
    return [w.replace("’", "'") for w in _TOKEN.findall(text)]


def _bare(word: str) -> tuple[str, ...]:
    """The word without what spoken Arabic joins to its front, if it carries any.

    Arabic writes "and" joined to the next word: "وما بيخلوني اطلع" is "and they
    don't let me out", whose words a phrase names without it. Spoken Arabic
    (Levantine, Egyptian) also marks the present with a joined "b" before the
    verb's own first letter: "بيلحقني" is "يلحقني", he follows me, so a phrase
    written either way matches both.
    """
    if word[:1] not in _JOINED:  # almost every word: this runs for each place tried
        return ()
    forms: tuple[str, ...] = ()
    if len(word) > 2 and word[0] == AND:
        word = word[1:]
        forms = (word,)
    if len(word) > 3 and word[0] == PRESENT and word[1] in IMPERFECT:
        forms += (word[1:],)
    return forms


def _indic(char: str) -> bool:
    return "\u0900" <= char <= "\u0dff"


def latin_key(word: str) -> str:
    """One spelling for a (normalised) word typed in Latin letters or written in Cyrillic."""
    key = word.translate(_CYRILLIC)  # the apostrophe is in the table too
    for pattern, replacement in _LATIN_KEY:
        key = pattern.sub(replacement, key)
    return key


@dataclass(frozen=True)
class _Place:
    """One place of a phrase, compiled once: the words it accepts, by how."""

    negated: bool
    exact: frozenset[str]  # plain words and words marked =
    prefixes: tuple[str, ...]  # words marked *
    typo: tuple[str, ...]  # plain words long enough to match with one typo

    @classmethod
    def compile(cls, pattern: str, fuzzy: bool) -> _Place:
        negated = pattern.startswith("!")
        exact: set[str] = set()
        prefixes: list[str] = []
        typo: list[str] = []
        for one in pattern.lstrip("!").split("|"):
            if one.endswith("*"):
                prefixes.append(one[:-1])
            elif one.endswith("="):
                exact.add(one[:-1])
            else:
                exact.add(one)
                # what must not come next is matched exactly
                if fuzzy and not negated and len(one) >= FUZZY_MIN:
                    typo.append(one)
        return cls(negated, frozenset(exact), tuple(prefixes), tuple(typo))

    def accepts(self, word: str) -> bool:
        if self._accepts(word):
            return True
        return any(self._accepts(bare) for bare in _bare(word))

    def _accepts(self, word: str) -> bool:
        # loops, not any(): this runs a few hundred times a message, and a
        # generator per call made the lexicon half as fast again
        if word in self.exact:
            return True
        for prefix in self.prefixes:
            if word.startswith(prefix):
                return True
        for known in self.typo:  # noqa: SIM110 (see above)
            # never a typo in the first letter: "eaten" is not "beaten"
            if known[0] == word[:1] and _one_edit(known, word):
                return True
        return False


@dataclass(frozen=True)
class Phrase:
    category: str
    language: str
    text: str
    words: tuple[str, ...]
    places: tuple[_Place, ...] = field(init=False, repr=False, compare=False)
    # a leading !word: what must not stand just before the phrase
    before: _Place | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        leading = self.words[0].startswith("!")
        words = self.words[1:] if leading else self.words
        # A lone word is matched exactly: with no other word to confirm it, a
        # typo allowance turns "homeless" into "hopeless".
        fuzzy = len(words) > 1
        places = tuple(_Place.compile(w.removeprefix("^"), fuzzy) for w in words)
        object.__setattr__(self, "places", places)
        object.__setattr__(
            self, "before", _Place.compile(self.words[0], fuzzy) if leading else None
        )

    @property
    def anchored(self) -> bool:
        """Whether the phrase must start the message (``^``)."""
        return self.words[0].startswith("^")

    def found_in(self, words: list[str]) -> bool:
        """Whether the phrase's words occur in order, each within GAP words of the last
        (and, with a leading ``!``, that word not among the GAP + 1 words before them)."""
        if self.before is None:
            return _match_from(self.places, words, 0, 1 if self.anchored else None)
        # each start in turn, the first word held there (limit k + 1)
        return any(
            _match_from(self.places, words, k, k + 1)
            and not any(map(self.before.accepts, words[max(0, k - GAP - 1) : k]))
            for k in range(len(words))
        )


def _one_edit(a: str, b: str) -> bool:
    """Whether two words differ by one insertion, deletion or substitution."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = j = edits = 0
    while i < len(a) and j < len(b):
        if a[i] != b[j]:
            edits += 1
            if edits > 1:
                return False
            if len(a) == len(b):
                i += 1
            j += 1
        else:
            i += 1
            j += 1
    return edits + (len(b) - j) + (len(a) - i) <= 1


def _match_from(
    places: tuple[_Place, ...], words: list[str], start: int, limit: int | None
) -> bool:
    if not places:
        return True
    place = places[0]
    if place.negated:  # not this word next
        if start < len(words) and place.accepts(words[start]):
            return False
        return _match_from(places[1:], words, start, limit)
    end = len(words) if limit is None else min(len(words), limit)
    for k in range(start, end):
        if place.accepts(words[k]) and _match_from(places[1:], words, k + 1, k + 2 + GAP):
            return True
    return False


@dataclass(frozen=True)
class SafetyMatch:
    category: str
    language: str
    phrase: str


def _romanised(phrase: Phrase) -> Phrase | None:
    """A Cyrillic phrase of two or more words as its Latin-letter keys, for romanised messages."""
    if len(phrase.words) < 2 or not _CYRILLIC_LETTER.search(phrase.text):
        return None
    words = []
    for word in phrase.words:
        marks = word[: len(word) - len(word.lstrip("^!"))]
        alternatives = []
        for one in word[len(marks) :].split("|"):
            mark = one[-1] if one[-1:] in ("*", "=") else ""
            alternatives.append(latin_key(one.rstrip("*=")) + mark)
        words.append(marks + "|".join(alternatives))
    return Phrase(phrase.category, phrase.language, phrase.text, tuple(words))


class _Index:
    """Phrases by what their first word can match, so a message is compared only with
    phrases that can start in it (every message is checked, and trying all ~1,200
    phrases was a tenth of the Rasa server's CPU)."""

    def __init__(self, phrases: list[Phrase]) -> None:
        self.phrases = phrases
        self._exact: dict[str, list[int]] = {}
        self._prefix: dict[str, list[int]] = {}
        self._fuzzy: dict[tuple[str, int], list[tuple[str, int]]] = {}
        for index, phrase in enumerate(phrases):
            first = phrase.places[0]
            for word in first.exact:
                self._exact.setdefault(word, []).append(index)
            for prefix in first.prefixes:
                self._prefix.setdefault(prefix, []).append(index)
            for word in first.typo:
                self._fuzzy.setdefault((word[0], len(word)), []).append((word, index))

    def _candidates(self, words: list[str]) -> list[int]:
        """Indexes of the phrases whose first word matches a word of the message, in order."""
        found: set[int] = set()
        # a word with a joined "and" or present is also looked up without it, as
        # _Place.accepts reads it
        bare = {b for word in words for b in _bare(word)}
        for word in set(words) | bare:
            found.update(self._exact.get(word, ()))
            for end in range(len(word) + 1):
                found.update(self._prefix.get(word[:end], ()))
            for length in (len(word) - 1, len(word), len(word) + 1):
                for first, index in self._fuzzy.get((word[:1], length), ()):
                    if index not in found and _one_edit(first, word):
                        found.add(index)
        return sorted(found)

    def first(self, words: list[str]) -> Phrase | None:
        """The first phrase, in the index's order, found in the words."""
        for index in self._candidates(words):
            if self.phrases[index].found_in(words):
                return self.phrases[index]
        return None


class Lexicon:
    """All languages' danger phrases; ``match`` returns the first category found."""

    def __init__(self, phrases: Iterable[Phrase], questions: Iterable[Phrase] = ()) -> None:
        self.questions = list(questions)
        # Order matters: an emergency outranks abuse, abuse outranks exploitation,
        # and all of them outrank distress, when one message says several things.
        self.phrases = sorted(phrases, key=lambda p: CATEGORIES.index(p.category))
        self.romanised = [r for r in map(_romanised, self.phrases) if r is not None]
        self._index = _Index(self.phrases)
        self._romanised_index = _Index(self.romanised)

    @classmethod
    def load(cls, directory: Path = DEFAULT_SAFETY) -> Lexicon:
        phrases: list[Phrase] = []
        questions: list[Phrase] = []
        for path in sorted(directory.glob("*.yml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("phrases"), dict):
                raise SafetyError(f"{path}: needs 'language' and 'phrases'")
            language = str(data.get("language") or path.stem)
            for category, texts in data["phrases"].items():
                if category not in CATEGORIES:
                    raise SafetyError(f"{path}: unknown category {category!r}")
                phrases += _phrases(path, category, language, texts)
            questions += _phrases(path, QUESTION, language, data.get("questions"))
        return cls(phrases, questions)

    def languages(self) -> set[str]:
        return {p.language for p in self.phrases}

    def asks(self, text: str) -> bool:
        """Whether the message asks about a risk (a file's ``questions``)."""
        words = normalise(text)
        return any(q.found_in(words) for q in self.questions)

    def match(self, text: str) -> SafetyMatch | None:
        words = normalise(text)
        if not words:
            return None
        phrase = self._index.first(words)
        if phrase is None and any(_LATIN_LETTER.search(w) for w in words):
            # only words in Latin letters are keyed: a Cyrillic word meets its own phrases
            # above, and here, unkeyed, it matches no key
            keys = [w if _CYRILLIC_LETTER.search(w) else latin_key(w) for w in words]
            phrase = self._romanised_index.first(keys)
        return SafetyMatch(phrase.category, phrase.language, phrase.text) if phrase else None


def _phrases(path: Path, category: str, language: str, texts: Any) -> list[Phrase]:
    """One list of a lexicon file as phrases, refusing malformed ones."""
    phrases = []
    for text in texts or []:
        try:
            words = tuple(pattern_words(str(text)))
        except ValueError as error:
            raise SafetyError(f"{path}: {category}: {error}") from None
        # a leading ! (what must not stand before) needs words of its own after it
        leading = bool(words) and words[0].startswith("!")
        positive = words[1:] if leading else words
        if not positive or positive[0].lstrip("^").startswith("!"):
            raise SafetyError(f"{path}: empty phrase in {category}")
        phrases.append(Phrase(category, language, str(text), words))
    return phrases


def pattern_words(text: str) -> list[str]:
    """A phrase's words, normalised like messages, keeping a leading ``!``, a trailing
    ``*`` or ``=``, ``|`` between alternatives, and a ``^`` that begins the phrase."""
    anchored = text.startswith("^")
    text = text.removeprefix("^")
    if "^" in text:
        raise ValueError(f"{text!r}: ^ may only begin a phrase")
    words = []
    for raw in text.split():
        if "|" in raw:
            words.append(_alternatives(raw))
            continue
        negated = "!" if raw.startswith("!") else ""
        mark = raw[-1] if raw[-1:] in ("*", "=") else ""
        folded = normalise(raw.lstrip("!").rstrip("*="))
        if not folded:
            continue
        words.append(negated + folded[0])
        words.extend(folded[1:-1])
        if len(folded) > 1:
            words.append(folded[-1])
        words[-1] += mark
    if anchored and words:
        words[0] = "^" + words[0]
    return words


def _alternatives(raw: str) -> str:
    """One place's alternatives ("!keep*|took"), each a single normalised word."""
    negated = "!" if raw.startswith("!") else ""
    ones = []
    for one in raw.lstrip("!").split("|"):
        folded = pattern_words(one)
        if len(folded) != 1 or folded[0].startswith("!"):
            raise ValueError(f"{raw!r}: each alternative must be one word")
        ones.append(folded[0])
    return negated + "|".join(ones)


def card_topic(category: str | None) -> str:
    """The answer a child in danger gets first: the distress answer (safe-messaging
    practice) for distress, the emergency card for everything else."""
    return DISTRESS if category == DISTRESS else EMERGENCY


def danger_in(parse: Mapping[str, Any]) -> str | None:
    """The danger category rasa_ext.safety found in a parse of a message, if any.

    A message it only marked for the check question ("are you safe right now?")
    is not danger.
    """
    safety = parse.get("safety")
    if not isinstance(safety, Mapping) or safety.get("source") == CHECK:
        return None
    category = safety.get("category")
    return category if category in CATEGORIES else None


@functools.lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    """The lexicon under ``LANTERN_SAFETY`` (default ``data/safety``), loaded once."""
    return Lexicon.load(Path(os.environ.get("LANTERN_SAFETY", str(DEFAULT_SAFETY))))
