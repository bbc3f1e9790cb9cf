"""An action call carries the conversation's last turns, not the whole session.

Rasa sends the action server every event of the session, twice a turn (slot
validation, then the answer), each event with its full parse data. That grows
with every message: in a long conversation it was most of the Rasa server's
CPU per message (building and encoding the JSON) and much of the action
server's (reading it), and it put the child's every message on the wire again
each turn.

The actions read only the latest message, the slots (both sent whole, as
before) and the most recent events: the handoff card's last messages
(actions/handoff.py, ten at most), whether the last two messages were not
understood, and whether the child ever wrote before (a window that starts at a
user message answers that as the whole session would). So the events sent
start at the ``ACTION_TURNS``-th last message of the child; a shorter
conversation goes whole. Most actions, among them the two of nearly every turn
(slot validation and the answer), read no events at all: they get the latest
turn's only (``LATEST_TURN_ONLY``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import rasa
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

# More user turns than the handoff card's ten messages can span.
ACTION_TURNS = 12
# Actions that read the latest message, the slots and nothing of the events:
# tests/rasa_ext/test_action_calls.py runs each on both windows and compares.
# An action not named here gets ACTION_TURNS.
LATEST_TURN_ONLY = frozenset(
    {
        "action_validate_slot_mappings",
        "action_answer_topic",
        "action_tell_me_more",
        "action_set_country",
        "action_language_picker",
        "action_choose_language",
    }
)


def recent_events(events: Sequence[Event], turns: int = ACTION_TURNS) -> list[Event]:
    """The events from the ``turns``-th last user message on; all of them when fewer."""
    seen = 0
    for index in range(len(events) - 1, -1, -1):
        if isinstance(events[index], UserUttered):
            seen += 1
            if seen == turns:
                return [events[i] for i in range(index, len(events))]
    return list(events)


def _action_call_format(
    self: RemoteAction, tracker: DialogueStateTracker, domain: Domain
) -> dict[str, Any]:
    """RemoteAction._action_call_format, with the recent events only."""
    state = tracker.current_state(EventVerbosity.NONE)
    turns = 1 if self.name() in LATEST_TURN_ONLY else ACTION_TURNS
    state["events"] = [event.as_dict() for event in recent_events(tracker.events, turns)]
    result = {
        "next_action": self.name(),
        "sender_id": tracker.sender_id,
        "tracker": state,
        "version": rasa.__version__,
    }
    if not self._is_selective_domain_enabled() or domain.does_custom_action_explicitly_need_domain(
        self.name()
    ):
        result["domain"] = domain.as_dict()
    return result


def install() -> None:
    """Send actions the recent events only (idempotent)."""
    RemoteAction._action_call_format = _action_call_format
