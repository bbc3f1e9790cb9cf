"""A second classifier for one question only: is this child in danger?

The intent classifier spreads danger over four intents (exploitation, abuse,
emergency, distress) and learns above all to tell them apart, and from the
thirty ordinary intents. Whether a message is danger at all is what matters
first, so this component learns exactly that, from the same examples and
features: the four safety intents against everything else, each side weighted
to count as much as the other. Measured with bench/safety.py, against the
four intents' probabilities added up, it finds more of the indirect danger
that no example spelt out, at the same rate of false alarms.

Each message's features are scaled to unit length first: with raw counts, a
harmless question pasted a hundred times (a 4,000-character message) piled up
evidence until it read as danger; what a message says, not how long it is,
should decide. On bench/data/safety.yml that also found as much danger at fewer
false alarms. The counts and the sentence encoder's vector are scaled each on
their own, the vector then weighted (``dense_weight``), so that what a
message means counts beside its words without drowning them: on the held-out
sets it raised about a quarter fewer false alarms at the same recall
(config.yml).

It sets ``danger`` (the probability) on the message; rasa_ext.safety decides.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, INTENT, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix, hstack, vstack
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize

from catalogue.safety import CATEGORIES
from rasa_ext.base import StoredComponent

logger = logging.getLogger(__name__)

DANGER = "danger"


# where a message keeps its sentence row between the two classifiers
_ROW = "_lantern_sentence_row"


def sentence_row(message: Message, keep: bool = False) -> csr_matrix:
    """A message's sentence features, sparse then dense, side by side in one row.

    This is the row Rasa's LogisticRegressionClassifier builds, from the same
    features in the same order, but without the sequence features that
    ``Message.get_sparse_features`` joins as well. With ``keep`` the row stays
    on the message until its features change, so the intent classifier
    (rasa_ext.speedups) and this component build it once per message.
    """
    features = message.features
    key = (len(features), id(features[-1]) if features else 0)
    kept = message.__dict__.get(_ROW)
    if kept is not None and kept[0] == key:
        return kept[1]
    sentence = _sentence(message)
    parts = [f.features for f in sentence if f.is_sparse()]
    parts += [csr_matrix(f.features) for f in sentence if f.is_dense()]
    # float64, as Rasa's join with an empty dense part made it
    row = hstack(parts, format="csr", dtype=np.float64) if parts else csr_matrix((1, 0))
    if keep:
        message.__dict__[_ROW] = (key, row)
    return row


def _sentence(message: Message) -> list[Features]:
    """The message's sentence features of its text, as the row is built from them."""
    return [f for f in message.features if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE]


def sparse_width(message: Message) -> int:
    """How many of the row's first columns come from sparse features (n-gram counts)."""
    return sum(f.features.shape[-1] for f in _sentence(message) if f.is_sparse())


def sentence_features(
    messages: list[Message], keep: bool = False, dense_weight: float = 0.0
) -> csr_matrix:
    """Each message's sentence row (``sentence_row``), scaled to unit length.

    The sparse columns (n-gram counts), which come first, and the dense ones
    (the sentence encoder's vector) are each scaled to unit length, the dense
    part weighted by ``dense_weight`` (0: the counts alone), and the row again.
    """
    rows = vstack([sentence_row(m, keep) for m in messages], format="csr")
    width = sparse_width(messages[0])  # one pipeline: every message has the same columns
    counts = normalize(_columns(rows, width))
    if not dense_weight or rows.shape[1] == width:
        return counts
    vectors = normalize(rows[:, width:]) * dense_weight
    return normalize(hstack([counts, vectors], format="csr"))


def _columns(row: csr_matrix, width: int) -> csr_matrix:
    """The row's first ``width`` columns; the row itself when that is all of it."""
    return row if row.shape[1] == width else row[:, :width]


def fit(examples: list[Message], config: dict[str, Any]) -> LogisticRegression | None:
    """The danger model learnt from featurised intent examples; None with one side only.

    ``config`` is the component's (``C``, ``max_iter``, ``random_state``,
    ``dense_weight``); bench/danger.py refits with other values the same way.
    """
    examples = [e for e in examples if e.get(INTENT) and e.get(TEXT)]
    labels = np.array([e.get(INTENT) in CATEGORIES for e in examples])
    if not examples or labels.all() or not labels.any():
        return None
    model = LogisticRegression(
        C=config["C"],
        max_iter=config["max_iter"],
        class_weight="balanced",  # danger is a few intents among many
        random_state=config["random_state"],
    )
    return model.fit(sentence_features(examples, dense_weight=config["dense_weight"]), labels)


def probabilities(
    model: LogisticRegression, messages: list[Message], dense_weight: float, keep: bool = False
) -> np.ndarray[Any, np.dtype[np.float64]]:
    """Each featurised message's probability of danger under ``model``."""
    features = sentence_features(messages, keep=keep, dense_weight=dense_weight)
    return np.asarray(model.predict_proba(features)[:, 1])


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class DangerClassifier(StoredComponent):
    """Learn danger against everything else, and give every message its probability."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Featurizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # C: features of unit length need less regularisation than raw counts.
        # dense_weight: how much the sentence encoder's vector counts beside the
        # n-gram counts, each of unit length (0: the counts alone). config.yml
        # says what was measured
        return {"C": 10.0, "max_iter": 500, "random_state": 42, "dense_weight": 0.0}

    def __init__(
        self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.model: LogisticRegression | None = None

    def train(self, training_data: TrainingData) -> Resource:
        self.model = fit(training_data.intent_examples, self.config)
        if self.model is None:
            logger.debug("danger_classifier.untrained")  # nothing to tell apart
            return self._resource
        self.persist()
        return self._resource

    def process(self, messages: list[Message]) -> list[Message]:
        if self.model is None or not messages:
            return messages
        found = probabilities(self.model, messages, self.config["dense_weight"], keep=True)
        for message, probability in zip(messages, found, strict=True):
            message.set(DANGER, round(float(probability), 4), add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Later components do not train on this output: leave the data as it is."""
        return training_data

    def persist(self) -> None:
        import skops.io as sio

        with self._model_storage.write_to(self._resource) as directory:
            sio.dump(self.model, directory / "danger.skops")

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> DangerClassifier:
        import skops.io as sio

        component = cls(config, model_storage, resource)
        try:
            with model_storage.read_from(resource) as directory:
                path = directory / "danger.skops"
                untrusted = sio.get_untrusted_types(file=path)
                if untrusted:  # only scikit-learn's and NumPy's own types are loaded
                    raise ValueError(f"untrusted types {untrusted}")
                component.model = sio.load(path, trusted=[])
        except ValueError:
            logger.warning("danger_classifier.not_loaded")
        return component
