"""Run the Rasa server without loading TensorFlow: ``python -m rasa_ext.tensorflow_free run …``.

No component of Lantern's model uses TensorFlow (config.yml: counts, logistic
regression, rules and memoisation), but Rasa 3.6 imports it all the same: the
base class of every policy reaches ``rasa.utils.tensorflow`` through its
featurizers, and those modules subclass Keras classes and decorate functions
with ``tf.function`` as they are defined. Loading TensorFlow costs each Rasa
process about 8 s of start-up and 400 MB of resident memory (measured with
bench/startup.py and bench/load.py; bench/README.md has the figures).

This entry point puts a finder first on ``sys.meta_path`` that answers
``import tensorflow`` (and Keras and TensorFlow's add-ons) with a stand-in
module, then runs Rasa's own command line unchanged. The stand-in supports
exactly what defining those modules needs: any attribute is a class (so
modules can subclass it, annotate with it and test ``isinstance`` against
it), and a decorator applied to a function returns the function. Anything
that would *run* TensorFlow (a call, a truth test, iteration) raises
``TensorFlowAbsent`` naming the call, so a model that needs TensorFlow fails
loudly at load, never quietly at a child's message. Training (scripts/train)
and ``rasa test`` load the real TensorFlow as before.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Iterator, Sequence
from typing import Any, NoReturn

# the top-level packages Rasa 3.6 imports for its TensorFlow components
ABSENT = frozenset(
    {
        "keras",
        "tensorflow",
        "tensorflow_addons",
        "tensorflow_hub",
        "tensorflow_probability",
        "tensorflow_text",
    }
)


class TensorFlowAbsent(RuntimeError):
    """Something tried to run TensorFlow in a process that serves without it."""


def _refuse(what: str) -> NoReturn:
    raise TensorFlowAbsent(
        f"{what}: TensorFlow is not loaded in this process (rasa_ext.tensorflow_free). "
        "A model with TensorFlow components must be served with `rasa run`."
    )


class _StandInType(type):
    """The type of every stand-in: attributes are more stand-ins, use is refused."""

    def __getattr__(cls, name: str) -> Any:
        return _attribute(cls, cls.__qualname__, name)

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and not kwargs and callable(args[0]):
            return args[0]  # @tf.function and the like: the function as written
        _refuse(f"{cls.__qualname__}()")

    def __bool__(cls) -> bool:
        _refuse(f"bool({cls.__qualname__})")

    def __iter__(cls) -> Iterator[Any]:
        _refuse(f"iter({cls.__qualname__})")

    def __len__(cls) -> int:
        _refuse(f"len({cls.__qualname__})")

    def __getitem__(cls, key: Any) -> Any:
        return stand_in(f"{cls.__qualname__}[]")  # a generic alias in an annotation


def stand_in(qualname: str) -> type:
    """A class standing for a TensorFlow object of that name."""
    cls = _StandInType(qualname.rsplit(".", 1)[-1], (), {"__module__": "rasa_ext.tensorflow_free"})
    cls.__qualname__ = qualname
    return cls


def _attribute(owner: object, qualname: str, name: str) -> type:
    """A stand-in's or stand-in module's attribute: a stand-in, the same one each time."""
    if name.startswith("__") and name.endswith("__"):
        raise AttributeError(name)  # let introspection see a plain class or module
    value = stand_in(f"{qualname}.{name}")
    setattr(owner, name, value)
    return value


class _StandInModule(types.ModuleType):
    """A stand-in module: every attribute a stand-in class, made once."""

    def __getattr__(self, name: str) -> Any:
        return _attribute(self, self.__name__, name)


class _Loader(importlib.abc.Loader):
    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = _StandInModule(spec.name)
        module.__path__ = []  # a package, so that submodules import too
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: attributes appear as they are asked for."""


class StandInFinder(importlib.abc.MetaPathFinder):
    """Answers imports of TensorFlow's packages with stand-in modules."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] not in ABSENT:
            return None
        return importlib.machinery.ModuleSpec(fullname, _Loader(), is_package=True)


def install() -> None:
    """Answer TensorFlow's imports with stand-ins from now on (before Rasa is imported)."""
    loaded = sorted(m for m in sys.modules if m.partition(".")[0] in ABSENT)
    if loaded:
        raise RuntimeError(f"install() comes too late: {loaded[0]} is already imported")
    if not any(isinstance(f, StandInFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, StandInFinder())


def main() -> None:
    """Rasa's command line, with TensorFlow's imports answered by stand-ins."""
    install()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
