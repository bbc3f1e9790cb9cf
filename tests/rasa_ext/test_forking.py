"""Forked Rasa workers start with the server's objects out of the collector's reach."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# In a process of its own: the hook cannot be taken back once registered.
CHILD_REPORTS_FROZEN = textwrap.dedent(
    """
    import gc, os
    from rasa_ext.forking import share_imports_with_workers

    kept = [{"an": "object from before the fork"} for _ in range(100)]
    share_imports_with_workers()
    pid = os.fork()
    if pid == 0:
        os._exit(0 if gc.get_freeze_count() >= len(kept) else 1)
    _, status = os.waitpid(pid, 0)
    print(os.waitstatus_to_exitcode(status))
    """
)


def printed_by(script: str) -> str:
    """What a script prints, run in a Python process of its own."""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_a_forked_worker_starts_with_the_servers_objects_frozen() -> None:
    assert printed_by(CHILD_REPORTS_FROZEN) == "0"


def test_without_a_fork_nothing_is_frozen() -> None:
    script = "import gc; from rasa_ext.forking import share_imports_with_workers as s; s(); print(gc.get_freeze_count())"
    assert printed_by(script) == "0"


def test_the_nlu_components_models_load_before_the_fork() -> None:
    script = textwrap.dedent(
        """
        from bot.language import default_detector
        from catalogue.safety import default_lexicon
        from rasa_ext.forking import load_shared_models

        load_shared_models()
        print(default_detector.cache_info().currsize, default_lexicon.cache_info().currsize)
        """
    )
    assert printed_by(script) == "1 1"
