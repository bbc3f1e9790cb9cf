"""An NLU component that detects the language of every message.

It adds ``language_detection`` (language, confidence, words) to the parse data,
so the language policy (actions/language.py) sees it for every channel: the
Telegram gateway, the terminal chat and Rasa's REST channel alike.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.language import LanguageDetector, default_detector
from rasa_ext.base import DataComponent

DETECTION = "language_detection"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class LanguageDetection(DataComponent):
    """Detect each message's language with bot.language (models load once per process)."""

    def __init__(self, detector: LanguageDetector | None = None) -> None:
        self._detector = detector

    @property
    def detector(self) -> LanguageDetector:
        if self._detector is None:
            self._detector = default_detector()
        return self._detector

    def process(self, messages: list[Message]) -> list[Message]:
        """Add the detection to each message's parse data."""
        for message in messages:
            text = message.get(TEXT) or ""
            found = self.detector.detect(text)
            message.set(
                DETECTION,
                {
                    "language": found.language,
                    "confidence": found.confidence,
                    "words": len(text.split()),
                },
                add_to_output=True,
            )
        return messages
