from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from rasa_ext.sentence_encoder import DIMENSIONS, TABLE, SentenceEncoderFeaturizer, encode, encoder

CONTEXT = ExecutionContext(GraphSchema({}), "sentence_encoder")


def featurizer(tmp_path: Path, **config: object) -> SentenceEncoderFeaturizer:
    storage = LocalModelStorage(tmp_path)
    component = SentenceEncoderFeaturizer.create(config, storage, Resource("encoder"), CONTEXT)
    assert isinstance(component, SentenceEncoderFeaturizer)
    return component


def sentence_vector(message: Message) -> npt.NDArray[np.float32]:
    _, sentence = message.get_dense_features("text")
    assert sentence is not None
    vector: npt.NDArray[np.float32] = np.asarray(sentence.features, dtype=np.float32)[0]
    return vector


def test_the_same_need_in_the_encoders_languages_is_near_and_another_need_is_far() -> None:
    sleep_en, sleep_fr, sleep_ar, guardian = encode(
        [
            "I have no place to sleep tonight",
            "je n'ai pas où dormir ce soir",
            "ما عندي مكان أنام فيه الليلة",
            "who decides about my school",
        ],
        max_chars=500,
    )
    assert sleep_en @ sleep_fr > 0.7 and sleep_en @ sleep_ar > 0.5
    assert sleep_en @ guardian < 0.4


def test_each_message_gets_one_scaled_sentence_vector_and_no_sequence(tmp_path: Path) -> None:
    messages = [Message(data={"text": "where can I eat"}), Message(data={"text": "salam"})]
    featurizer(tmp_path, scale=3.0).process(messages)
    for message in messages:
        sequence, _ = message.get_dense_features("text")
        assert sequence is None
        vector = sentence_vector(message)
        assert vector.shape == (DIMENSIONS,)
        assert np.linalg.norm(vector) == pytest.approx(3.0, rel=1e-3)


def test_an_empty_text_gets_zeros_so_every_row_has_the_same_width(tmp_path: Path) -> None:
    empty, spoken = Message(data={"text": "  "}), Message(data={"text": "hello"})
    featurizer(tmp_path).process([empty, spoken])
    assert not sentence_vector(empty).any() and sentence_vector(spoken).any()


def test_a_very_long_message_is_encoded_from_its_beginning_only(tmp_path: Path) -> None:
    start = "I am lost and alone at night. "
    long, short = Message(data={"text": start * 150}), Message(data={"text": start * 16})
    featurizer(tmp_path, max_chars=480).process([long, short])
    assert np.allclose(sentence_vector(long), sentence_vector(short), atol=1e-5)


def test_training_examples_are_featurised_like_messages(tmp_path: Path) -> None:
    examples = [Message(data={"text": t, "intent": "ask_food"}) for t in ("food", "I am hungry")]
    component = featurizer(tmp_path)
    component.process_training_data(TrainingData(examples))
    alone = Message(data={"text": "I am hungry"})
    component.process([alone])
    assert np.allclose(sentence_vector(examples[1]), sentence_vector(alone), atol=1e-5)


def test_a_scale_that_is_not_positive_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="positive scale"):
        featurizer(tmp_path, scale=0)


def test_the_trained_model_carries_the_table_and_reads_it_memory_mapped(tmp_path: Path) -> None:
    storage, resource = LocalModelStorage(tmp_path), Resource("encoder")
    SentenceEncoderFeaturizer.create({}, storage, resource, CONTEXT).train(TrainingData([]))
    loaded = SentenceEncoderFeaturizer.load({}, storage, resource, CONTEXT)
    assert isinstance(encoder(tmp_path / "encoder" / TABLE).table, np.memmap)
    mapped, held = (
        Message(data={"text": "où dormir ce soir"}),
        Message(data={"text": "où dormir ce soir"}),
    )
    loaded.process([mapped])
    featurizer(tmp_path / "created").process([held])
    assert np.array_equal(sentence_vector(mapped), sentence_vector(held))


def test_a_model_without_the_table_still_loads_and_encodes(tmp_path: Path) -> None:
    loaded = SentenceEncoderFeaturizer.load({}, LocalModelStorage(tmp_path), Resource("x"), CONTEXT)
    message = Message(data={"text": "where can I eat"})
    loaded.process([message])
    assert np.linalg.norm(sentence_vector(message)) == pytest.approx(4.0, rel=1e-3)


def test_a_script_the_encoder_does_not_know_is_one_unknown_piece_per_word() -> None:
    # SentencePiece's own behaviour, which the encoder was trained with: the
    # package's pure-Python port gave one unknown piece per character
    pieces = encoder(None).sp.encode("ሰላም ወንድሜ", out_type=int, add_bos=True, add_eos=True)
    assert len(pieces) == 6
