"""An NLU component that lets danger win: the lexicon, then the classifier's danger as a whole.

It runs last in the pipeline, after the classifier and the fallback, and
decides whether a message is about danger from two signals:

* **The lexicon** (catalogue/safety.py, data/safety/<lang>.yml): a danger
  phrase makes the intent that phrase's category, whatever the classifier said,
  so recall does not rest on the classifier alone.
* **The classifier's danger as a whole**: the four safety intents are one
  question, "is this child in danger?". Its probability is rasa_ext.danger's,
  which learnt that question alone, or else the four intents' probabilities
  added up. When it passes ``danger_threshold``, the message is danger, with
  the likeliest safety intent as its kind, even if no single intent won (the
  fallback would otherwise have hidden it). When the four intents add up to
  ``agreement_threshold`` too, that is enough: both classifiers say danger.
  So is the four intents' sum alone from ``intents_threshold`` on: the intent
  classifier is sure, though the danger model is not.
  (A safety intent on top by a nose, at 0.35 against ordinary intents that add
  up to more, is not such agreement: on bench/data/safety.yml requiring the
  sum took false alarms from 1.7% to 1.2% at the same recall.)
  When a safety intent won the ranking but danger is not likely, the next
  likeliest ordinary intent answers instead, if it reaches
  ``fallback_threshold`` (the FallbackClassifier's threshold). Otherwise an
  emergency, abuse or exploitation guess becomes the fallback (the child is
  asked to say more, and reaches a person after a second miss), while a
  distress guess stays: "I am not ok" deserves support, not "I did not
  understand".
* **A question about a risk** ("is it dangerous to swim here?", a file's
  ``questions`` in data/safety/) is not danger by the classifiers alone: both
  read the danger in its words. Without a danger phrase, it keeps its ordinary
  answer and is marked for the check question below.
* **A check question** for what is neither: when danger is at least
  ``check_threshold`` but not danger by the rules above and no lexicon phrase
  matched, the message keeps its ordinary answer and the parse data asks for the
  check ("are you safe right now?", actions/safety.py), so a child whose
  danger the classifier only half recognised still gets a way to say so.

The parse data records why (``safety``), for the action and the helpline card:
``source`` is ``lexicon``, ``intent`` or ``intents`` for danger, ``check`` for
the check question.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from catalogue.safety import CATEGORIES, CHECK, DISTRESS, EMERGENCY, Lexicon, default_lexicon
from rasa_ext.base import DataComponent
from rasa_ext.danger import DANGER

SAFETY = "safety"
FALLBACK = "nlu_fallback"
CONFIDENCE = "confidence"


def likeliest_kind(ranking: list[dict[str, Any]]) -> str:
    """The likeliest safety intent in the ranking; the emergency card when none is there."""
    return next(
        (str(r[INTENT_NAME_KEY]) for r in ranking if r.get(INTENT_NAME_KEY) in CATEGORIES),
        EMERGENCY,
    )


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class SafetyCheck(DataComponent):
    """Decide danger from the lexicon and the classifier's safety intents taken together."""

    def __init__(
        self,
        lexicon: Lexicon | None = None,
        danger_threshold: float = 0.5,
        fallback_threshold: float = 0.3,
        check_threshold: float = 0.25,
        agreement_threshold: float = 0.5,
        intents_threshold: float | None = None,
    ) -> None:
        self._lexicon = lexicon
        self.danger_threshold = danger_threshold
        self.fallback_threshold = fallback_threshold
        self.check_threshold = check_threshold
        self.agreement_threshold = agreement_threshold
        self.intents_threshold = intents_threshold

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "danger_threshold": 0.5,
            "fallback_threshold": 0.3,
            "check_threshold": 0.25,
            "agreement_threshold": 0.5,
            "intents_threshold": None,
        }

    @property
    def lexicon(self) -> Lexicon:
        if self._lexicon is None:
            self._lexicon = default_lexicon()
        return self._lexicon

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if not text.startswith("/"):  # a button or command: the child chose
                self._check(message, text)
        return messages

    def _check(self, message: Message, text: str) -> None:
        intent = message.get(INTENT) or {}
        name = intent.get(INTENT_NAME_KEY)
        ranking = message.get(INTENT_RANKING_KEY) or [intent]
        intents = sum(
            float(r.get(CONFIDENCE) or 0) for r in ranking if r.get(INTENT_NAME_KEY) in CATEGORIES
        )
        danger = message.get(DANGER)  # rasa_ext.danger's, when the pipeline has it
        if danger is None:
            danger = intents
        # danger, or the two classifiers agree that danger is more likely than not,
        # or the intent classifier alone is sure of it
        likely = danger >= self.danger_threshold or (
            min(danger, intents) >= self.agreement_threshold
        )
        sure = self.intents_threshold is not None and intents >= self.intents_threshold
        if sure and not likely:
            likely, danger = True, intents
        found = self.lexicon.match(text)
        # A question about a risk ("is it dangerous to swim here?") sounds like
        # danger to both classifiers; without a danger phrase it is asked about,
        # not alarmed: the ordinary answer, then "are you safe right now?".
        asked = likely and found is None and self.lexicon.asks(text)
        if asked:
            likely = False
        if name in CATEGORIES and likely:
            message.set(SAFETY, {"source": "intent", "category": name}, add_to_output=True)
            return
        if found is not None:
            message.set(INTENT, {INTENT_NAME_KEY: found.category, CONFIDENCE: 1.0})
            message.set(
                SAFETY,
                {"source": "lexicon", "category": found.category, "language": found.language},
                add_to_output=True,
            )
        elif likely:
            category = likeliest_kind(ranking)
            message.set(INTENT, {INTENT_NAME_KEY: category, CONFIDENCE: danger})
            message.set(SAFETY, {"source": "intents", "category": category}, add_to_output=True)
        elif name in CATEGORIES:
            # Danger won the ranking by a nose but is less likely than not overall:
            # an ordinary intent the classifier also finds plausible answers instead.
            other = next(
                (r for r in ranking if r.get(INTENT_NAME_KEY) not in {*CATEGORIES, FALLBACK}),
                None,
            )
            if other is not None and float(other.get(CONFIDENCE) or 0) >= self.fallback_threshold:
                message.set(INTENT, dict(other))
            elif name == DISTRESS:
                message.set(SAFETY, {"source": "intent", "category": name}, add_to_output=True)
            else:
                message.set(
                    INTENT, {INTENT_NAME_KEY: FALLBACK, CONFIDENCE: self.fallback_threshold}
                )
        if message.get(SAFETY) is None and (asked or danger >= self.check_threshold):
            message.set(
                SAFETY,
                {
                    "source": CHECK,
                    "category": likeliest_kind(ranking),
                    "danger": round(danger, 2),
                },
                add_to_output=True,
            )
