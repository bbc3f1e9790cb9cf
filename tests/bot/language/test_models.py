"""The statistical detectors behind bot.language, one at a time."""

from __future__ import annotations

from py3langid.langid import MODEL_FILE, LanguageIdentifier

from bot.language import default_detector
from bot.language.models import LANGID_GROUPS, Models, _restrict

TEXTS = [
    "bonjour je suis perdu",
    "where can i sleep tonight",
    "yardıma ihtiyacım var",
    "ez zarok im û niha li Almanyayê me",
    "мне нужна помощь",
    "мені потрібна допомога",
    "ok",
]


def models() -> Models:
    """The process-wide detector's models (loaded once for every test)."""
    return default_detector().models


def test_langid_slices_answer_as_models_loaded_one_by_one() -> None:
    for group in LANGID_GROUPS:
        alone = LanguageIdentifier.from_pickled_model(MODEL_FILE, norm_probs=True)
        alone.set_languages(list(group))
        for text in TEXTS:
            assert models().langid(text, group) == _restrict(alone.rank(text), group), text


def test_langid_slices_share_one_loaded_model() -> None:
    slices = {id(identifier): identifier for identifier in models()._langid.values()}
    assert len(slices) == len(LANGID_GROUPS)
    first, *others = slices.values()
    for other in others:
        assert other.tk_nextmove is first.tk_nextmove
        assert other.nb_classes != first.nb_classes
