"""Dialogue states that grow with the conversation instead of being rebuilt for each action.

Before it predicts an action, each policy asks the tracker for the dialogue
state at every earlier action (``DialogueStateTracker.past_states``), and Rasa
builds them all from scratch: it replays the whole session on a fresh tracker,
several times per message. The cost grows with the conversation; at about a
hundred messages it was most of a turn.

The state at an action depends only on the events applied before it. So the
states already built are kept, with the replayed tracker, per conversation and
per way of asking (``omit_unset_slots``, ``ignore_rule_only_turns``,
``rule_only_data``); the next call replays only the new events. Whenever the
applied events are not the kept ones plus new ones (a reverted turn, a loop
undone, a restart, a new session, a tracker loaded afresh), everything is built
again as Rasa builds it. The same code as Rasa's ``states_for_tracker_history``
runs, step by step; callers get their own copy of the states, as before.

Which events are applied is found out the same way: Rasa's ``applied_events``
walks the whole session on every call, five times a message. When the tracker
is the one seen last with events appended (its last event seen is the same
object) and none of them can undo anything (a reversion, restart, new session
or loop event, or a loop's action), the new events are simply applied too, and
only they are looked at.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any

from rasa.shared.core.constants import PREVIOUS_ACTION
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    Event,
    Restarted,
    SessionStarted,
    UserUtteranceReverted,
)
from rasa.shared.core.trackers import DialogueStateTracker

# conversations whose states are kept (a few ways of asking each); enough for
# the conversations in flight on one worker
KEPT = 768
_rasa_past_states = DialogueStateTracker.past_states
# events after which applied_events must be worked out from the start of the session
_UNDOING = (Restarted, SessionStarted, ActionReverted, UserUtteranceReverted, ActiveLoop)


@dataclass
class _History:
    """The states built so far for one conversation and one way of asking."""

    replay: DialogueStateTracker  # the session's events so far, applied anew
    events: list[Event] = field(default_factory=list)  # those events
    states: list[State] = field(default_factory=list)  # one per action among them
    last_ml_action: Any = None  # states_for_tracker_history's two running values
    turn_was_hidden: bool = False
    seen: int = 0  # how many of the tracker's events were looked at
    last_seen: Event | None = None  # the last of them
    loops: frozenset[str] = frozenset()  # the loops among them, as applied_events counts


_kept: collections.OrderedDict[tuple[Any, ...], _History] = collections.OrderedDict()


def _step(
    history: _History,
    domain: Domain,
    hide_rule_turn: bool,
    omit_unset_slots: bool,
    ignore_rule_only_turns: bool,
    rule_only_data: dict[str, Any] | None,
    commit: bool = True,
) -> State | None:
    """One pass of the loop in ``Domain.states_for_tracker_history``, at ``history.replay``.

    With ``commit`` the state and running values are kept; without, the state
    is only returned (the state after the last event, which the next event may
    change).
    """
    tr = history.replay
    last_ml_action, turn_was_hidden = history.last_ml_action, history.turn_was_hidden
    state: State | None = None
    if ignore_rule_only_turns:
        if not turn_was_hidden:
            last_ml_action = domain._get_prev_action_sub_state(tr)
        if not tr.followup_action and tr.latest_action_name != tr.active_loop_name:
            turn_was_hidden = hide_rule_turn
    if not (ignore_rule_only_turns and turn_was_hidden):
        state = domain.get_active_state(tr, omit_unset_slots=omit_unset_slots)
        if ignore_rule_only_turns:
            domain._remove_rule_only_features(state, rule_only_data)
            if history.states:
                domain._substitute_rule_only_user_input(state, history.states[-1])
            if last_ml_action:
                state[PREVIOUS_ACTION] = last_ml_action
        state = domain._clean_state(state)
    if commit:
        history.last_ml_action, history.turn_was_hidden = last_ml_action, turn_was_hidden
        if state is not None:
            history.states.append(state)
    return state


def _extends(applied: list[Event], kept: list[Event]) -> bool:
    """Whether ``applied`` is the kept events (the same objects) and maybe more."""
    return len(applied) >= len(kept) and all(a is k for a, k in zip(applied, kept, strict=False))


def _appended(tracker: DialogueStateTracker, history: _History) -> list[Event] | None:
    """The tracker's events since it was last seen, if they are all simply applied;
    None when applied_events must be asked."""
    events, seen = tracker.events, history.seen
    if seen == 0 or len(events) < seen or events[seen - 1] is not history.last_seen:
        return None  # another tracker (loaded afresh, or a copy that went elsewhere)
    new = [events[i] for i in range(seen, len(events))]
    for event in new:
        if isinstance(event, _UNDOING) or (
            isinstance(event, ActionExecuted) and event.action_name in history.loops
        ):
            return None
    return new


def _copy(states: list[State]) -> list[State]:
    """States callers may change (featurizers remove user text): two levels of dicts,
    whose values are strings and tuples."""
    return [{kind: dict(sub) for kind, sub in state.items()} for state in states]


def past_states(
    self: DialogueStateTracker,
    domain: Domain,
    omit_unset_slots: bool = False,
    ignore_rule_only_turns: bool = False,
    rule_only_data: dict[str, Any] | None = None,
) -> list[State]:
    """``DialogueStateTracker.past_states``, building only the states of new events."""
    frozen_rule_only = repr(sorted((rule_only_data or {}).items()))
    key = (self.sender_id, id(domain), omit_unset_slots, ignore_rule_only_turns, frozen_rule_only)
    kept = _kept.get(key)
    appended = _appended(self, kept) if kept is not None else None
    if kept is not None and appended is not None:
        history, new = kept, appended
    else:
        applied = self.applied_events()
        if kept is None or not _extends(applied, kept.events):
            history = _History(replay=self.init_copy())
        else:
            history = kept
        new = applied[len(history.events) :]
        history.loops = frozenset(
            e.name for e in self.events if isinstance(e, ActiveLoop) and e.name
        )
    history.seen, history.last_seen = len(self.events), self.events[-1] if self.events else None
    _kept[key] = history
    _kept.move_to_end(key)
    while len(_kept) > KEPT:
        _kept.popitem(last=False)
    args = (omit_unset_slots, ignore_rule_only_turns, rule_only_data)
    for event in new:
        if isinstance(event, ActionExecuted):
            _step(history, domain, event.hide_rule_turn, *args)
        history.replay.update(event)
        history.events.append(event)
    last = _step(history, domain, False, *args, commit=False)
    return _copy(history.states + ([last] if last is not None else []))


def forget(sender_id: str | None) -> None:
    """Drop what is kept for a conversation, or for all (their data is being erased)."""
    for key in [k for k in _kept if sender_id is None or k[0] == sender_id]:
        del _kept[key]


def install() -> None:
    DialogueStateTracker.past_states = past_states
