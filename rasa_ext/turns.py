"""A turn whose custom action failed is abandoned unsaved, so the message can be retried.

Rasa 3.6 logs a custom action that fails (action server unreachable, timing
out, answering 5xx, or answering something invalid) and carries on without
its events: the turn is saved, and the child gets part of an answer or none,
with nothing to tell the gateway. For a child asking for help, silence is the
worst answer there is.

Here the turn stops at the first failed action instead, before anything of it
is saved (Rasa saves the tracker once, at the end of the turn). The Lantern
channel answers 503, the gateway says "one moment" and sends the message
again. As a replay, the retry finds the message missing from the tracker and so
processes it afresh. Custom actions here only read the tracker and return
events (a handoff is opened by the gateway from the replies), so running a turn
again has no other effect.

An action that *rejects* (``ActionExecutionRejection``, e.g. a form's
validation) is Rasa's normal flow and stays so.

A call to the action server also gives up sooner than Rasa's five minutes. The
actions answer in milliseconds; a server that hangs would hold the child's
conversation (its lock) long after the gateway stopped waiting (RASA_TIMEOUT,
30 s by default) and Rasa's lock had expired (60 s), and could then save a turn
that the retry has already run again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

import rasa.core.actions.action
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.processor import MessageProcessor

logger = logging.getLogger(__name__)

# Below the gateway's RASA_TIMEOUT default (30 s) and Rasa's lock lifetime (60 s).
ACTION_TIMEOUT_SECONDS = 20

# The custom actions that failed within the processor step running now. A list
# (not a flag) so that a failure inside a task started by that step still counts.
_failures: ContextVar[list[str] | None] = ContextVar("lantern_failed_actions", default=None)


class TurnAbandoned(Exception):
    """A custom action failed: the turn was stopped before it was saved."""

    def __init__(self, action: str) -> None:
        super().__init__(f"custom action {action} failed")
        self.action = action


_remote_run = RemoteAction.run
_run_action = MessageProcessor._run_action
_run_action_extract_slots = MessageProcessor.run_action_extract_slots


async def _noting_failure(self: RemoteAction, *args: Any, **kwargs: Any) -> Any:
    """RemoteAction.run, noting a failure for the processor step that asked."""
    try:
        return await _remote_run(self, *args, **kwargs)
    except ActionExecutionRejection:
        raise
    except Exception:
        failures = _failures.get()
        if failures is not None:
            failures.append(self.name())
        raise


async def _stopping_on_failure(
    step: Callable[..., Awaitable[Any]], processor: MessageProcessor, *args: Any, **kwargs: Any
) -> Any:
    """Run one step of the processor; raise TurnAbandoned if a custom action failed in it."""
    failures: list[str] = []
    token = _failures.set(failures)
    try:
        result = await step(processor, *args, **kwargs)
    finally:
        _failures.reset(token)
    if failures:
        # Rasa has logged the failure itself (with "Bot will continue"): it will not.
        logger.warning("lantern.turn_abandoned", extra={"action": failures[0]})
        raise TurnAbandoned(failures[0])
    return result


async def _run_action_or_stop(self: MessageProcessor, *args: Any, **kwargs: Any) -> Any:
    return await _stopping_on_failure(_run_action, self, *args, **kwargs)


async def _extract_slots_or_stop(self: MessageProcessor, *args: Any, **kwargs: Any) -> Any:
    return await _stopping_on_failure(_run_action_extract_slots, self, *args, **kwargs)


def install() -> None:
    """Stop turns at a failed custom action (idempotent)."""
    # RemoteAction.run passes this module constant with every action call
    rasa.core.actions.action.DEFAULT_REQUEST_TIMEOUT = ACTION_TIMEOUT_SECONDS
    RemoteAction.run = _noting_failure
    MessageProcessor._run_action = _run_action_or_stop
    MessageProcessor.run_action_extract_slots = _extract_slots_or_stop
