"""What a text is written in: Unicode scripts and the letters only some languages use.

Everything here is knowledge about writing systems, not statistics: which
Unicode blocks a script occupies, and which letters belong to one language's
alphabet and not to its neighbours' (Pashto ټ, Urdu ے, Sorani ڵ, Ukrainian ї…).
"""

from __future__ import annotations

import functools
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

LATIN = "latin"
ARABIC = "arabic"
CYRILLIC = "cyrillic"
ETHIOPIC = "ethiopic"
GREEK = "greek"
BENGALI = "bengali"
OTHER = "other"

_RANGES: list[tuple[int, int, str]] = [
    (0x0041, 0x005A, LATIN),
    (0x0061, 0x007A, LATIN),
    (0x00C0, 0x024F, LATIN),
    (0x1E00, 0x1EFF, LATIN),
    (0x0370, 0x03FF, GREEK),
    (0x1F00, 0x1FFF, GREEK),
    (0x0400, 0x052F, CYRILLIC),
    (0x0600, 0x06FF, ARABIC),
    (0x0750, 0x077F, ARABIC),
    (0x08A0, 0x08FF, ARABIC),
    (0xFB50, 0xFDFF, ARABIC),
    (0xFE70, 0xFEFF, ARABIC),
    (0x0980, 0x09FF, BENGALI),
    (0x1200, 0x139F, ETHIOPIC),
    (0x2D80, 0x2DDF, ETHIOPIC),
    (0xAB00, 0xAB2F, ETHIOPIC),
]


def script_of(char: str) -> str | None:
    """The script of one letter, or None for anything that is not a letter."""
    point = ord(char)
    for low, high, script in _RANGES:
        if low <= point <= high:
            # Arabic-block digits and punctuation are not letters
            return script if unicodedata.category(char).startswith(("L", "M")) else None
    return OTHER if unicodedata.category(char).startswith("L") else None


@dataclass(frozen=True)
class ScriptProfile:
    """The letters of a text, counted by script."""

    counts: Counter[str]

    @property
    def letters(self) -> int:
        return sum(self.counts.values())

    @property
    def main(self) -> str | None:
        """The script most letters are in, or None for a text without letters."""
        return self.counts.most_common(1)[0][0] if self.counts else None


def profile(text: str) -> ScriptProfile:
    counts: Counter[str] = Counter()
    for char in text:
        script = script_of(char)
        if script is not None:
            counts[script] += 1
    return ScriptProfile(counts)


# Letters that belong to some languages' alphabets and not to others'. A text
# that uses one is evidence for the languages listed and against the rest of
# its script's candidates. Sources: the Unicode charts for Arabic and Ethiopic
# and the standard alphabets of each language.
ARABIC_LETTERS: dict[str, frozenset[str]] = {
    # Pashto-only letters
    "ټډړږښګڼځڅۍې": frozenset({"ps"}),
    # Urdu-only letters (ھ is shared with Sorani, so it is listed below)
    "ٹڈڑںےۓ": frozenset({"ur"}),
    # Sorani-only letters
    "ڵڕێۆە": frozenset({"ckb"}),
    "ھ": frozenset({"ur", "ckb"}),
    # Persian-alphabet letters that Arabic does not use (Pashto writes ګ, not گ)
    "پچژکی": frozenset({"fa", "ps", "ur", "ckb"}),
    "گ": frozenset({"fa", "ur", "ckb"}),
    # Arabic-only letters: teh marbuta, alef maksura, Arabic kaf
    "ةىك": frozenset({"ar"}),
    # Arabic yeh: Arabic, and Pashto for its own i sound (Persian, Urdu and
    # Sorani write ی)
    "ي": frozenset({"ar", "ps"}),
}

CYRILLIC_LETTERS: dict[str, frozenset[str]] = {
    "іїєґІЇЄҐ": frozenset({"uk"}),
    "ыэъёЫЭЪЁ": frozenset({"ru"}),
}

# Tigrinya writes the glottal a as ኣ and has the ejective velar series ቐ… and
# the velar fricative series ኸ…, which Amharic does not use. (The converse, አ
# for Amharic, is not used: informal Tigrinya often writes አ for ኣ.)
ETHIOPIC_LETTERS: dict[str, frozenset[str]] = {
    "ኣቐቑቒቓቔቕቖቘቚቛቜቝኸኹኺኻኼኽኾዀዂዃዄዅ": frozenset({"ti"}),
}

LETTER_TABLES = {ARABIC: ARABIC_LETTERS, CYRILLIC: CYRILLIC_LETTERS, ETHIOPIC: ETHIOPIC_LETTERS}

# Letters that lean one way without deciding: the pharyngeal series ሐ… and ዐ…
# are everyday Tigrinya (ሓወይ, ዓርከይ, ሕጂ) but in Amharic survive only in some
# etymological spellings, which most writers replace with ሀ… and አ….
SOFT_LETTER_TABLES: dict[str, dict[str, frozenset[str]]] = {
    ETHIOPIC: {"ሐሑሒሓሔሕሖዐዑዒዓዔዕዖ": frozenset({"ti"})},
}


def letter_evidence(
    text: str, script: str, tables: dict[str, dict[str, frozenset[str]]] = LETTER_TABLES
) -> Counter[frozenset[str]]:
    """How many letters of each distinctive group the text uses."""
    table = tables.get(script)
    found: Counter[frozenset[str]] = Counter()
    if table is None:
        return found
    for char in text:
        for letters, languages in table.items():
            if char in letters:
                found[languages] += 1
    return found


_WORD_LISTS = Path(__file__).with_name("words")
# Grammatical prefixes: Tigrinya marks relative clauses with ዝ-/ዘ-; Amharic
# marks the genitive and relative clauses with የ-/የሚ-; Sorani writes a
# word-initial vowel on ئ (ئەو, ئێستا, ئاو), which its neighbours rarely do.
PREFIXES: dict[str, tuple[tuple[str, str], ...]] = {
    ETHIOPIC: (("ዝ", "ti"), ("ዘ", "ti"), ("የ", "am")),
    ARABIC: (("ئ", "ckb"),),
}


def word_list(path: Path) -> frozenset[str]:
    """The words of a list file: one per line, # starts a comment line."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(w.strip() for w in lines if w.strip() and not w.startswith("#"))


@functools.cache
def function_words(language: str) -> frozenset[str]:
    """The function words listed for a language in words/<language>.txt."""
    path = _WORD_LISTS / f"{language}.txt"
    return word_list(path) if path.exists() else frozenset()


def word_evidence(text: str, script: str, candidates: tuple[str, ...]) -> Counter[frozenset[str]]:
    """Function words and grammatical prefixes of the candidates found in the text."""
    found: Counter[frozenset[str]] = Counter()
    prefixes = PREFIXES.get(script, ())
    for token in text.split():
        token = token.strip(".,!?;:()\"'«»።፣፤፥፦؟،")
        for language in candidates:
            if token in function_words(language):
                found[frozenset({language})] += 1
        for prefix, language in prefixes:
            if language in candidates and token.startswith(prefix) and len(token) > 2:
                found[frozenset({language})] += 1
    return found
