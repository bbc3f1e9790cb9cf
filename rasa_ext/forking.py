"""Rasa's forked workers share what the server imported instead of copying it.

With ``SANIC_WORKERS`` above 1 (the production profile), Sanic forks the
workers after the Rasa server has imported everything (about 600 MB resident
while TensorFlow was among the imports; rasa_ext.tensorflow_free now leaves it
out). A forked worker shares those pages until it writes to them, and its
garbage collector writes to the header of every object it looks at: the
workers' first full collections copied most of the imports. ``gc.freeze()``
just before the fork (Python's documented recipe) puts the objects that exist
then out of the collector's reach. Measured with ``bench/load.py --visit``,
production profile: the Rasa processes' memory (PSS) 1,678 → 1,498 MB,
throughput unchanged.

The NLU components load their own models on first use: the language detector
(about 230 MB: fastText, langid.py, lingua, word lists) and the safety lexicon.
Left to that, each worker loaded them on its first message. Loaded in the server
before the fork (``load_shared_models``), the workers share one copy and no
child's first message to a worker waits for them: the Rasa processes' PSS
1,008-1,083 → 790-814 MB in the same benchmark, old and new alternated.
"""

from __future__ import annotations

import gc
import os

from bot.language import default_detector
from catalogue.safety import default_lexicon

_registered = False


def share_imports_with_workers() -> None:
    """Freeze the garbage collector's objects before each fork (once per process)."""
    global _registered
    if not _registered:
        # only os.fork() runs it (Sanic's workers); subprocesses exec and do not
        os.register_at_fork(before=gc.freeze)
        _registered = True


def load_shared_models() -> None:
    """Load the models the NLU components would each load on first use (once per process)."""
    # lru_cache'd process-wide instances: the components' lazy lookups find them
    default_detector()
    default_lexicon()
