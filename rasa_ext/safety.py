"""An NLU component that lets danger win: the safety lexicon overrides the intent.

It runs last in the pipeline, after the classifier and the fallback. When the
message contains a danger phrase (catalogue/safety.py, data/safety/<lang>.yml)
and the classifier did not already name a safety intent, the intent becomes
that phrase's category, so recall does not rest on the classifier alone. The
parse data records why (``safety``), for the action and for the helpline card.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from catalogue.safety import CATEGORIES, Lexicon, default_lexicon
from rasa_ext.base import DataComponent

SAFETY = "safety"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class SafetyCheck(DataComponent):
    """Override the intent with a safety intent when a danger phrase is found."""

    def __init__(self, lexicon: Lexicon | None = None) -> None:
        self._lexicon = lexicon

    @property
    def lexicon(self) -> Lexicon:
        if self._lexicon is None:
            self._lexicon = default_lexicon()
        return self._lexicon

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
            if text.startswith("/"):
                continue  # a button or command: the child chose, nothing to detect
            if intent in CATEGORIES:
                message.set(SAFETY, {"source": "intent", "category": intent}, add_to_output=True)
                continue
            found = self.lexicon.match(text)
            if found is None:
                continue
            message.set(INTENT, {INTENT_NAME_KEY: found.category, "confidence": 1.0})
            message.set(
                SAFETY,
                {"source": "lexicon", "category": found.category, "language": found.language},
                add_to_output=True,
            )
        return messages
