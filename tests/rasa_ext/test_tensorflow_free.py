"""The Rasa server runs without TensorFlow, and anything that would run it fails loudly."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import types
from typing import Any

import pytest

from rasa_ext.tensorflow_free import StandInFinder, TensorFlowAbsent, install, stand_in

# In a process of its own: the finder cannot be taken back once Rasa is imported.
RASA_IMPORTS_WITHOUT_TENSORFLOW = textwrap.dedent(
    """
    import sys
    from rasa_ext.tensorflow_free import install

    install()
    import rasa.engine.recipes.default_recipe  # every component Rasa ships, TED and DIET too
    import rasa.core.policies.ted_policy
    import rasa.nlu.classifiers.diet_classifier

    real = [n for n, m in sys.modules.items()
            if n.split(".")[0] in {"tensorflow", "keras"} and getattr(m, "__file__", None)]
    print(type(sys.modules["tensorflow"]).__name__, len(real))
    """
)


def test_rasas_modules_import_with_stand_ins_for_tensorflow() -> None:
    done = subprocess.run(
        [sys.executable, "-c", RASA_IMPORTS_WITHOUT_TENSORFLOW],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["_StandInModule", "0"]


def test_what_defines_a_module_works() -> None:
    tf: Any = stand_in("tensorflow")

    def step(x: int) -> int:
        return x + 1

    assert tf.function(step) is step  # a decorator leaves the function as written

    class Model(tf.keras.Model):  # type: ignore[misc]  # subclassing, as Rasa's models do
        """A model that is defined but never built."""

    assert issubclass(Model, tf.keras.Model)
    assert not isinstance(3, tf.Tensor)
    assert tf.keras.Model.__qualname__ == "tensorflow.keras.Model"


@pytest.mark.parametrize(
    "use",
    [
        lambda tf: tf.constant(1),
        lambda tf: bool(tf.config.list_physical_devices),
        lambda tf: list(tf.data.Dataset),
        lambda tf: len(tf.Variable),
    ],
    ids=["call", "truth", "iteration", "length"],
)
def test_running_tensorflow_fails_loudly(use: object) -> None:
    tf = stand_in("tensorflow")
    with pytest.raises(TensorFlowAbsent, match="must be served with `rasa run`"):
        use(tf)  # type: ignore[operator]


def test_a_model_class_built_on_tensorflow_cannot_be_made() -> None:
    tf: Any = stand_in("tensorflow")

    class Model(tf.keras.Model):  # type: ignore[misc]
        """What a TensorFlow component would build at load."""

    with pytest.raises(TensorFlowAbsent, match="Model"):
        Model()


def test_install_refuses_once_tensorflow_is_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    # other tests of this process may have imported the real TensorFlow and Keras
    # already; the one added here makes sure something is
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    monkeypatch.setitem(sys.modules, "tensorflow_hub", types.ModuleType("tensorflow_hub"))
    with pytest.raises(RuntimeError, match="comes too late: .+ is already imported"):
        install()
    assert not any(isinstance(f, StandInFinder) for f in sys.meta_path)
