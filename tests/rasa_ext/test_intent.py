from __future__ import annotations

from pathlib import Path

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, INTENT, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix

from rasa_ext.intent import NormalizedLogisticRegression


def message(vector: list[float], intent: str | None = None) -> Message:
    data = {TEXT: "x", **({INTENT: intent} if intent else {})}
    features = Features(csr_matrix(np.array([vector])), FEATURE_TYPE_SENTENCE, TEXT, "test")
    return Message(data=data, features=[features])


def test_normalised_features_train_persist_and_load(tmp_path: Path) -> None:
    storage = LocalModelStorage(tmp_path)
    resource = Resource("intent")
    context = ExecutionContext(GraphSchema({}), "1")
    config = {**NormalizedLogisticRegression.get_default_config(), "C": 10.0}
    component = NormalizedLogisticRegression.create(config, storage, resource, context)
    # a long message (big counts) and a short one of the same intent point the same way
    training = [
        message([9, 0, 0], "greet"),
        message([1, 0, 0], "greet"),
        message([0, 1, 0], "thank"),
        message([0, 8, 1], "thank"),
    ]
    component.train(TrainingData(training_examples=training))
    assert component._create_X([message([30, 40, 0])]).toarray().tolist() == [[0.6, 0.8, 0.0]]

    loaded = NormalizedLogisticRegression.load(config, storage, resource, context)
    assert loaded.clf.C == 10.0
    [short, long] = loaded.process([message([2, 0, 0]), message([0, 50, 0])])
    assert short.get(INTENT)["name"] == "greet"
    assert long.get(INTENT)["name"] == "thank"
