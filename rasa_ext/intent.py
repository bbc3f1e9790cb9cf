"""Logistic regression on length-normalised features, with its strength configurable.

Rasa 3.6's LogisticRegressionClassifier fits raw counts with sklearn's default
regularisation (C=1) and 100 iterations. With one model for fifteen languages
and character n-grams, raw counts let long messages dominate and the fit stops
before it converges. This subclass scales each message's feature vector to
unit length and exposes ``C`` and ``max_iter``; bench/nlu.py measures it side
by side with the stock classifier, and config.yml uses what measured best.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.training_data.message import Message
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class NormalizedLogisticRegression(LogisticRegressionClassifier):  # type: ignore[misc]
    """Intent classifier: L2-normalised sparse features, then logistic regression."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Rasa's defaults, plus the regularisation strength and more iterations."""
        return {**LogisticRegressionClassifier.get_default_config(), "C": 10.0, "max_iter": 1000}

    def __init__(
        self,
        config: dict[str, Any],
        name: str,
        model_storage: ModelStorage,
        resource: Resource,
    ) -> None:
        super().__init__(config, name, model_storage, resource)
        self.clf = LogisticRegression(
            C=float(self.config["C"]),
            solver=self.config["solver"],
            max_iter=int(self.config["max_iter"]),
            class_weight="balanced",
            tol=self.config["tol"],
            random_state=self.config["random_state"],
        )

    def _create_X(self, messages: list[Message]) -> csr_matrix:  # noqa: N802 (Rasa's name)
        """Each message's features, scaled to unit length."""
        return normalize(super()._create_X(messages).tocsr())
