from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from rasa_ext.danger import DANGER, DangerClassifier, fit, probabilities, sentence_features


def example(text: str, intent: str | None, features: list[float]) -> Message:
    """A message as the featurisers leave it: sentence features for its text."""
    data = {"text": text, **({"intent": intent} if intent else {})}
    message = Message(data=data)
    matrix = scipy.sparse.coo_matrix(np.array([features]))
    message.add_features(Features(matrix, "sentence", "text", "CountVectorsFeaturizer"))
    return message


TRAINING = TrainingData(
    [example(f"danger {i}", intent, [1.0, 0.0, i % 2]) for i, intent in
     enumerate(["report_abuse", "emergency", "report_exploitation", "feeling_distress"] * 3)]
    + [example(f"ordinary {i}", intent, [0.0, 1.0, i % 2]) for i, intent in
       enumerate(["ask_school", "greet", "ask_food", "ask_work", "thank", "help"] * 3)]
)  # fmt: skip


CONTEXT = ExecutionContext(GraphSchema({}), "test")


@pytest.fixture
def storage(tmp_path: Path) -> LocalModelStorage:
    return LocalModelStorage(tmp_path)


@pytest.fixture
def loaded(storage: LocalModelStorage) -> DangerClassifier:
    """Trained on TRAINING, persisted, and loaded again as Rasa would."""
    resource = Resource("danger")
    DangerClassifier.create({}, storage, resource, CONTEXT).train(TRAINING)
    return DangerClassifier.load({}, storage, resource, CONTEXT)


def test_danger_is_learnt_as_one_question_and_survives_persisting(
    loaded: DangerClassifier,
) -> None:
    alarming, harmless = example("x", None, [1.0, 0.0, 1.0]), example("y", None, [0.0, 1.0, 0.0])
    loaded.process([alarming, harmless])
    assert alarming.get(DANGER) > 0.75 > 0.25 > harmless.get(DANGER)


def test_without_both_sides_nothing_is_learnt_or_set(storage: LocalModelStorage) -> None:
    only_ordinary = TrainingData([example("hi", "greet", [0.0, 1.0, 0.0])])
    component = DangerClassifier.create({}, storage, Resource("danger"), CONTEXT)
    component.train(only_ordinary)
    message = example("x", None, [1.0, 0.0, 0.0])
    component.process([message])
    assert message.get(DANGER) is None


def test_a_long_message_is_judged_by_what_it_says_not_by_its_length(
    loaded: DangerClassifier,
) -> None:
    short, pasted = example("x", None, [0.2, 1.0, 0.0]), example("y", None, [40.0, 200.0, 0.0])
    loaded.process([short, pasted])
    assert pasted.get(DANGER) == pytest.approx(short.get(DANGER))


def with_vector(message: Message, vector: list[float]) -> Message:
    """The message with a dense sentence feature too, as the sentence encoder adds."""
    message.add_features(Features(np.array([vector]), "sentence", "text", "SentenceEncoder"))
    return message


def test_the_danger_model_reads_the_counts_alone_unless_told_to_read_vectors_too(
    storage: LocalModelStorage,
) -> None:
    # the vector says the opposite of the counts: only a model that reads it is swayed
    danger, harmless = [0.0, 3.0], [3.0, 0.0]
    training = TrainingData(
        [
            with_vector(example(f"danger {i}", "report_abuse", [1.0, 0.0, i % 2]), danger)
            for i in range(6)
        ]
        + [
            with_vector(example(f"ordinary {i}", "ask_school", [0.0, 1.0, i % 2]), harmless)
            for i in range(6)
        ]
    )
    counts = DangerClassifier.create({}, storage, Resource("counts"), CONTEXT)
    counts.train(training)
    both = DangerClassifier.create({"dense_weight": 1.0}, storage, Resource("both"), CONTEXT)
    both.train(training)
    by_counts = with_vector(example("x", None, [1.0, 0.0, 1.0]), harmless)
    by_both = with_vector(example("x", None, [1.0, 0.0, 1.0]), harmless)
    counts.process([by_counts])
    both.process([by_both])
    assert by_counts.get(DANGER) > 0.75 > by_both.get(DANGER)


def test_counts_and_vector_each_count_by_direction_and_the_vector_by_its_weight() -> None:
    small = with_vector(example("x", None, [1.0, 0.0, 1.0]), [0.0, 3.0])
    large = with_vector(example("y", None, [40.0, 0.0, 40.0]), [0.0, 300.0])
    rows = sentence_features([small, large], dense_weight=0.5).toarray()
    assert rows[0] == pytest.approx(rows[1])
    # unit-length counts beside a vector of length 0.5, scaled to unit length again
    assert np.linalg.norm(rows[0][3:]) / np.linalg.norm(rows[0][:3]) == pytest.approx(0.5)
    assert sentence_features([small]).shape == (1, 3)  # the counts alone by default


def test_refitting_offline_gives_the_trained_components_probabilities(
    loaded: DangerClassifier,
) -> None:
    # bench/danger.py refits with fit() and reads probabilities(): it measures
    # exactly what a model trained with that setting would say
    messages = [example("x", None, [1.0, 0.0, 1.0]), example("y", None, [0.3, 1.0, 0.0])]
    refitted = fit(TRAINING.intent_examples, loaded.config)
    assert refitted is not None
    offline = probabilities(refitted, messages, loaded.config["dense_weight"])
    loaded.process(messages)
    assert [m.get(DANGER) for m in messages] == pytest.approx(offline, abs=1e-4)
