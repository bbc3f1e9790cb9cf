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

Which events are applied is found out incrementally too, here and for Rasa's
other callers (``applied_events`` is also asked twice per message by the
processor): Rasa walks the whole session on every call. When a tracker is the
one seen last with events appended (its last event seen is the same object)
and none of them can undo anything (a reversion, restart, new session or loop
event, or a loop's action), the new events are simply applied too, and only
they are looked at; otherwise Rasa's walk runs.

The memoization and rule policies are handed copies of only the states their
prediction can depend on. Both look the states up among keys they learnt
(stories' states, rules' states), and no key stands for more states than the
longest story or rule: the rule policy compares no rule with a state further
back (beyond it every rule still standing applies), and a key of more states
than any learnt one is found in neither policy's lookup (the memoization
policy's, as Rasa 3.6 configures it, has no ``max_history``: it looks up the
whole conversation). So they are handed one state more than the longest key,
or ``max_history`` states where that is fewer, as Rasa's featurizer cuts them,
before it changes any. While a policy's debug line, which shows the states, is
written, it gets them all.
"""

from __future__ import annotations

import base64
import collections
import logging
import weakref
import zlib
from dataclasses import dataclass, field
from typing import Any

from rasa.core.featurizers.tracker_featurizers import (
    MaxHistoryTrackerFeaturizer,
    _is_prev_action_unlikely_intent_in_state,
)
from rasa.core.policies.memoization import MemoizationPolicy
from rasa.core.policies.policy import Policy, SupportedData
from rasa.core.policies.rule_policy import (
    RULES,
    RULES_FOR_LOOP_UNHAPPY_PATH,
    RULES_NOT_IN_STORIES,
    RulePolicy,
)
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
_rasa_applied_events = DialogueStateTracker.applied_events
_rasa_prediction_states = Policy._prediction_states
# events after which applied_events must be worked out from the start of the session
_UNDOING = (Restarted, SessionStarted, ActionReverted, UserUtteranceReverted, ActiveLoop)


@dataclass
class _Seen:
    """How far a tracker's events were looked at."""

    count: int = 0
    last: Event | None = None  # the last of them
    loops: frozenset[str] = frozenset()  # the loops among them, as applied_events counts

    def appended(self, tracker: DialogueStateTracker) -> list[Event] | None:
        """The tracker's events since, if they are all simply applied; None when
        Rasa's applied_events must walk the session."""
        events, count = tracker.events, self.count
        if count == 0 or len(events) < count or events[count - 1] is not self.last:
            return None  # another tracker (loaded afresh, or a copy that went elsewhere)
        new = [events[i] for i in range(count, len(events))]
        for event in new:
            if isinstance(event, _UNDOING) or (
                isinstance(event, ActionExecuted) and event.action_name in self.loops
            ):
                return None
        return new

    def update(self, tracker: DialogueStateTracker, walked: bool) -> None:
        """Note the tracker's events as seen (after Rasa's walk: find its loops too)."""
        events = tracker.events
        self.count, self.last = len(events), events[-1] if events else None
        if walked:
            self.loops = frozenset(e.name for e in events if isinstance(e, ActiveLoop) and e.name)


@dataclass
class _Applied:
    """A tracker's applied events so far, kept on the tracker itself."""

    owner: int  # id() of that tracker: a shallow copy of it must not extend this list
    events: list[Event]
    seen: _Seen = field(default_factory=_Seen)


def applied_events(self: DialogueStateTracker) -> list[Event]:
    """``DialogueStateTracker.applied_events``, looking only at events appended since."""
    kept: _Applied | None = self.__dict__.get("_lantern_applied")
    if kept is not None and kept.owner == id(self):
        new = kept.seen.appended(self)
        if new is not None:
            kept.events.extend(new)
            kept.seen.update(self, walked=False)
            return list(kept.events)
    applied: list[Event] = _rasa_applied_events(self)
    kept = _Applied(id(self), list(applied))
    kept.seen.update(self, walked=True)
    self.__dict__["_lantern_applied"] = kept
    return applied


@dataclass
class _History:
    """The states built so far for one conversation and one way of asking."""

    replay: DialogueStateTracker  # the session's events so far, applied anew
    events: list[Event] = field(default_factory=list)  # those events
    states: list[State] = field(default_factory=list)  # one per action among them
    last_ml_action: Any = None  # states_for_tracker_history's two running values
    turn_was_hidden: bool = False
    seen: _Seen = field(default_factory=_Seen)  # of the tracker that asked last


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


def _copy(states: list[State]) -> list[State]:
    """States callers may change (featurizers remove user text): two levels of dicts,
    whose values are strings and tuples."""
    return [{kind: dict(sub) for kind, sub in state.items()} for state in states]


def _built(
    self: DialogueStateTracker,
    domain: Domain,
    omit_unset_slots: bool,
    ignore_rule_only_turns: bool,
    rule_only_data: dict[str, Any] | None,
) -> list[State]:
    """The past states, building only those of new events: the kept states
    themselves, which callers copy before they hand any on."""
    frozen_rule_only = repr(sorted((rule_only_data or {}).items()))
    key = (self.sender_id, id(domain), omit_unset_slots, ignore_rule_only_turns, frozen_rule_only)
    kept = _kept.get(key)
    appended = kept.seen.appended(self) if kept is not None else None
    if kept is not None and appended is not None:
        history, new = kept, appended
    else:
        applied = self.applied_events()
        if kept is None or not _extends(applied, kept.events):
            history = _History(replay=self.init_copy())
        else:
            history = kept
        new = applied[len(history.events) :]
    history.seen.update(self, walked=appended is None)
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
    return history.states + ([last] if last is not None else [])


def past_states(
    self: DialogueStateTracker,
    domain: Domain,
    omit_unset_slots: bool = False,
    ignore_rule_only_turns: bool = False,
    rule_only_data: dict[str, Any] | None = None,
) -> list[State]:
    """``DialogueStateTracker.past_states``, building only the states of new events."""
    return _copy(_built(self, domain, omit_unset_slots, ignore_rule_only_turns, rule_only_data))


# the policies cut to a window, with the loggers of their debug lines
_POLICY_LOGGERS = {
    kind: logging.getLogger(kind.__module__) for kind in (MemoizationPolicy, RulePolicy)
}
# the policies' windows, worked out from what they learnt, once each
_windows: weakref.WeakKeyDictionary[Policy, int] = weakref.WeakKeyDictionary()


def _states_in(key: str) -> int:
    """At most how many states a key of states stands for (json.dumps writes
    "}, {" between two; any more of them only make the bound looser)."""
    return key.count("}, {") + 1


def _keys(policy: MemoizationPolicy) -> list[str]:
    """The keys of states the policy looks its prediction up among, as text."""
    if type(policy) is RulePolicy:
        lookup = policy.lookup
        # rules not in stories: also default and loop rules' names, counted as one state
        return [
            *lookup.get(RULES, {}),
            *lookup.get(RULES_FOR_LOOP_UNHAPPY_PATH, {}),
            *lookup.get(RULES_NOT_IN_STORIES, []),
        ]
    if policy.config.get("enable_feature_string_compression"):
        return [zlib.decompress(base64.b64decode(key)).decode() for key in policy.lookup]
    return list(policy.lookup)


def _window(policy: Policy) -> int | None:
    """How many of the latest states the policy's prediction depends on (None: all)."""
    logger = _POLICY_LOGGERS.get(type(policy))
    featurizer = policy.featurizer
    if logger is None or type(featurizer) is not MaxHistoryTrackerFeaturizer:
        return None
    if logger.isEnabledFor(logging.DEBUG):
        return None  # their debug lines show the states
    window = _windows.get(policy)
    if window is None:
        keys = _keys(policy)
        window = _windows[policy] = 1 + max((_states_in(key) for key in keys), default=0)
    max_history = featurizer.max_history
    return min(window, int(max_history)) if max_history else window


def prediction_states(
    self: Policy,
    tracker: DialogueStateTracker,
    domain: Domain,
    use_text_for_last_user_input: bool = False,
    rule_only_data: dict[str, Any] | None = None,
) -> list[State]:
    """``Policy._prediction_states``, copying only the states the prediction depends on."""
    window = _window(self)
    # a training tracker keeps its states its own way
    if window is None or type(tracker).past_states is not past_states:
        return _rasa_prediction_states(  # type: ignore[no-any-return]
            self, tracker, domain, use_text_for_last_user_input, rule_only_data
        )
    ml_only = self.supported_data() == SupportedData.ML_DATA
    built = _built(tracker, domain, False, ml_only, rule_only_data)
    if ml_only:  # as the featurizer: states after action_unlikely_intent left out first
        recent: list[State] = []
        for state in reversed(built):
            if len(recent) == window:
                break
            if not _is_prev_action_unlikely_intent_in_state(state):
                recent.append(state)
        recent.reverse()
    else:
        recent = built[-window:]
    chosen = _copy(recent)
    self.featurizer._choose_last_user_input([chosen], use_text_for_last_user_input)
    return chosen


def forget(sender_id: str | None) -> None:
    """Drop what is kept for a conversation, or for all (their data is being erased)."""
    for key in [k for k in _kept if sender_id is None or k[0] == sender_id]:
        del _kept[key]


def install() -> None:
    DialogueStateTracker.past_states = past_states
    DialogueStateTracker.applied_events = applied_events
    Policy._prediction_states = prediction_states
