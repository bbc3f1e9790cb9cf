"""Rasa 3.6 hot spots, made cheap without changing what Rasa does.

Measured with cProfile on Lantern turns (see bench/load.py for the figures):

* Rasa checks every action server answer against its response schema with
  ``jsonschema.validate``, which first checks that constant schema against the
  JSON Schema metaschema, every time: 46 ms of CPU per custom action call,
  most of a Lantern turn. Here the same answers are checked against the same
  schema by one validator, built once; and each event against the one event
  schema its name selects, where Rasa's schema has jsonschema try all twenty
  (``oneOf``). Answers that fail get the full validator's error, as before.
* Loading a tracker turns every stored event's type name into its class by
  walking all Event subclasses (about 30 calls deep) per event. Here the
  classes found are remembered; a name not seen yet still takes Rasa's walk.
* The intent classifier multiplies each message's sparse features by its
  coefficients transposed; scipy needs that matrix contiguous and copied all of
  it (features x intents, tens of MB) on every message: 9 ms of a turn's 49.
  Here the coefficients are laid out once, on load, so that no copy is needed;
  the products, and so the probabilities, are the same.
* The intent and danger classifiers each ask a message for its features, and
  Rasa joins the four featurizers' matrices pairwise, after deep-copying the
  first: six sparse joins and two deep copies per question, a tenth of the
  Rasa server's CPU under load (py-spy). Here each set is joined in one step,
  and the two classifiers share one sentence row per message
  (rasa_ext.danger.sentence_row), built without the sequence features that
  neither reads: a further tenth of the Rasa server's CPU (py-spy).
* Rasa opened a new HTTP connection to the action server for every custom
  action (a new aiohttp session each time): 5% of the Rasa server's CPU under
  load. Here each endpoint keeps one session per event loop; idle connections
  are closed after KEEPALIVE_SECONDS, before the action server (Sanic, 5 s)
  would close them under a request in flight.
* Rasa runs its model graph (once for the message, once per action predicted)
  through dask's scheduler, whose bookkeeping cost more than most components.
  Here the same nodes run in dependency order in the calling thread, which is
  all dask's synchronous scheduler does too.
* The processor checks each message's intent and entities against the
  domain, after asking whether the domain is empty: Rasa answers by
  building an empty domain and comparing both as dicts, every message. Here
  a domain found not empty is remembered so.
* Before each action Rasa copies the tracker by replaying every event of the
  session on a new one. Here the copy takes the state the events left.
* The policies' dialogue states are built once per event, not once per
  prediction from the start of the session, the applied events are found
  among the new events only, and the memoization and rule policies are handed
  copies of only the latest states their prediction depends on
  (rasa_ext.states).
* The rule policy formats every dialogue state of the session into a string
  for a debug log line, three times a message, whether debug logging is on or
  not: the largest cost left that grew with the conversation. Here it is
  formatted only when the line will be written.
* After every message that extracts a slot (here every message: the language
  slots are set by ``action_validate_slot_mappings``), Rasa rebuilds the
  conversation from its events once more, for the validation action: 6% of
  the Rasa server's CPU with conversations of a hundred messages (py-spy).
  Here the tracker is copied as above and the extracted slots applied to the
  copy, which is the tracker Rasa builds whenever the session has no restart;
  with one, Rasa's rebuild runs.
* The memoization policy deep-copies its dialogue states for a debug log line
  on every prediction, whether debug logging is on or not: 3% of the Rasa
  server's CPU (py-spy). Here they are copied only when the line will be written.

``install()`` is called when the Lantern channel starts.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import weakref
from functools import cache
from typing import Any

import aiohttp
import numpy as np
import rasa.core.policies.memoization
import rasa.core.processor
from jsonschema import ValidationError, exceptions, validators
from rasa.core.actions.action import ActionExtractSlots, RemoteAction
from rasa.core.policies.policy import Policy
from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.core.constants import ACTION_VALIDATE_SLOT_MAPPINGS
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import Event, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig
from scipy import sparse
from scipy.sparse import csr_matrix

from rasa_ext import states
from rasa_ext.danger import sentence_row

_rasa_resolve_by_type = Event.resolve_by_type
_event_classes: dict[str, type[Event]] = {}
_rasa_load_classifier = LogisticRegressionClassifier.load.__func__


@cache
def _response_validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)  # once, not per answer
    return cls(schema)


@cache
def _event_validators() -> tuple[Any, Any, dict[str, Any]] | None:
    """The response schema split for a quick yes: the answer without its events, the
    checks every event shares, and one event schema per event name.

    Rasa checks each event against ``oneOf`` some twenty event schemas, which
    jsonschema does by trying every one: 7% of the Rasa server's CPU under load
    (py-spy). The event schemas are told apart by a constant event name, so an
    event matches exactly one of them iff it matches the one named by its
    "event". None (no quick path) if the schema is not of that shape.
    """
    schema = RemoteAction.action_response_format_spec()
    event_schema = schema["properties"]["events"]["items"]
    by_name: dict[str, Any] = {}
    for option in event_schema.get("oneOf", []):
        name = option.get("properties", {}).get("event", {}).get("const")
        if not isinstance(name, str) or name in by_name:
            return None
        by_name[name] = option
    if not by_name or "event" not in event_schema.get("required", []):
        return None
    shared = {k: v for k, v in event_schema.items() if k != "oneOf"}
    answer = {**schema, "properties": {**schema["properties"], "events": {"type": "array"}}}
    cls = validators.validator_for(schema)
    return cls(answer), cls(shared), {name: cls(option) for name, option in by_name.items()}


def _quickly_valid(result: Any) -> bool:
    """True only when the answer is valid (False: ask the full validator)."""
    split = _event_validators()
    if split is None:
        return False
    answer, shared, by_name = split
    if not answer.is_valid(result):
        return False
    for event in result.get("events") or []:
        name = event.get("event") if isinstance(event, dict) else None
        one = by_name.get(name) if isinstance(name, str) else None
        if one is None or not shared.is_valid(event) or not one.is_valid(event):
            return False
    return True


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """RemoteAction._validate_action_result with prebuilt validators; same errors."""
    if _quickly_valid(result):
        return True
    error = exceptions.best_match(_response_validator().iter_errors(result))
    if error is None:
        return True
    assert isinstance(error, ValidationError)
    error.message += (
        ". Failed to validate Action server response from API, make sure your "
        "response from the Action endpoint is valid."
    )
    raise error


def _resolve_by_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
    """Event.resolve_by_type, remembering each class found."""
    found = _event_classes.get(type_name)
    if found is not None:
        return found
    found = _rasa_resolve_by_type(type_name, default)
    if found is not None and found.type_name == type_name:
        _event_classes[type_name] = found  # not a default or Rasa's legacy "topic"
    return found


def _load_classifier(
    cls: type[LogisticRegressionClassifier], /, *args: Any, **kwargs: Any
) -> LogisticRegressionClassifier:
    """LogisticRegressionClassifier.load, with the coefficients in column order."""
    component = _rasa_load_classifier(cls, *args, **kwargs)
    model = getattr(component, "clf", None)
    if model is not None:
        column_major(model)
    return component


def column_major(model: Any) -> None:
    """Lay a linear model's coefficients out so that ``coef_.T`` is C-contiguous.

    sklearn multiplies by ``coef_.T``; scipy copies it whole when it is not.
    """
    if hasattr(model, "coef_"):
        model.coef_ = np.asfortranarray(model.coef_)


def _combine_features(features: list[Features], featurizers: list[str]) -> Features | None:
    """Message._combine_features in one join instead of one per featurizer; same result."""
    if not features:
        return None
    first = features[0]
    if len(features) == 1:
        matrix = first.features.copy()
    elif all(f.is_sparse() for f in features):
        if any(f.features.shape[0] != first.features.shape[0] for f in features):
            raise ValueError("Cannot combine sparse features as sequence dimensions do not match.")
        matrix = sparse.hstack([f.features for f in features])
    elif all(f.is_dense() for f in features):
        if any(f.features.ndim != first.features.ndim for f in features):
            raise ValueError("Cannot combine dense features as sequence dimensions do not match.")
        matrix = np.concatenate([f.features for f in features], axis=-1)
    else:
        raise ValueError("Cannot combine sparse and dense features.")
    return Features(matrix, first.type, first.attribute, featurizers)


def _create_x(self: LogisticRegressionClassifier, messages: list[Message]) -> csr_matrix:
    """LogisticRegressionClassifier._create_X from the sentence rows alone; same matrix.

    Rasa's joins each message's sequence features too, only to drop them, and
    the danger classifier (rasa_ext.danger) then joined the same row again.
    """
    return sparse.vstack([sentence_row(m, keep=True) for m in messages], format="csr")


_rasa_copy_tracker = DialogueStateTracker.copy


def _copy_tracker(self: DialogueStateTracker) -> DialogueStateTracker:
    """DialogueStateTracker.copy without replaying every event; the same tracker.

    Every change to a tracker's state comes from applying an event, so the
    copy takes the state the events left: the same event objects, slot copies
    (values shared, as a replay shares them with the events), a loop of its
    own (events change it in place). As Rasa's copy, it has no model or
    assistant id and no sender source. A tracker whose oldest events fell out
    of a bounded history is replayed, as Rasa does.
    """
    if self._max_event_history is not None:
        return _rasa_copy_tracker(self)
    new = self.init_copy()
    new.events = new._create_events(list(self.events))
    new.slots = {name: copy.copy(slot) for name, slot in self.slots.items()}
    new._paused = self._paused
    new.followup_action = self.followup_action
    new.latest_action = self.latest_action
    new.latest_message = self.latest_message
    new.latest_bot_utterance = self.latest_bot_utterance
    new.active_loop = copy.deepcopy(self.active_loop)
    return new


_rasa_execute_validation_action = ActionExtractSlots._execute_validation_action


async def _execute_validation_action(
    self: ActionExtractSlots,
    extraction_events: list[Event],
    output_channel: Any,
    nlg: Any,
    tracker: DialogueStateTracker,
    domain: Domain,
) -> list[Event]:
    """ActionExtractSlots._execute_validation_action, with the tracker copied, not
    rebuilt: Rasa replays the events after the latest restart plus the extracted
    slots on a new tracker; without a restart that is the tracker's copy with the
    slots applied."""
    if tracker._max_event_history is not None or tracker.idx_after_latest_restart() != 0:
        return await _rasa_execute_validation_action(  # type: ignore[no-any-return]
            self, extraction_events, output_channel, nlg, tracker, domain
        )
    slot_events: list[Event] = [e for e in extraction_events if isinstance(e, SlotSet)]
    if ACTION_VALIDATE_SLOT_MAPPINGS not in domain.user_actions:
        return slot_events
    validating = _copy_tracker(tracker)
    for event in slot_events:
        validating.update(event)
    validate_events: list[Event] = await self._run_custom_action(
        ACTION_VALIDATE_SLOT_MAPPINGS, output_channel, nlg, validating, domain
    )
    validated = {event.key for event in validate_events if isinstance(event, SlotSet)}
    # as Rasa: an extracted slot the action did not answer for counts as valid
    return validate_events + [e for e in slot_events if e.key not in validated]


_rasa_format_tracker_states = Policy.format_tracker_states
# the logger of the rule policy, the only caller (its structlog line follows
# Rasa's log level too)
_rule_policy_logger = logging.getLogger("rasa.core.policies.rule_policy")


def _format_tracker_states(tracker_states: list[State]) -> str:
    """Policy.format_tracker_states, when the debug line it is for will be written."""
    if not _rule_policy_logger.isEnabledFor(logging.DEBUG):
        return ""
    return _rasa_format_tracker_states(tracker_states)  # type: ignore[no-any-return]


_memoization_logger = logging.getLogger("rasa.core.policies.memoization")


class _CopyForDebugLog:
    """What rasa.core.policies.memoization calls ``copy``: its only use is to
    deep-copy dialogue states for structlog debug lines (which follow Rasa's log
    level too)."""

    @staticmethod
    def deepcopy(value: Any) -> Any:
        """copy.deepcopy, when the debug line it is for will be written."""
        if not _memoization_logger.isEnabledFor(logging.DEBUG):
            return value
        return copy.deepcopy(value)


_rasa_is_empty = Domain.is_empty


def _is_empty(self: Domain) -> bool:
    """Domain.is_empty, remembered once false: a domain with content keeps it."""
    if self.__dict__.get("_lantern_not_empty"):
        return False
    empty = bool(_rasa_is_empty(self))
    if not empty:
        self.__dict__["_lantern_not_empty"] = True
    return empty


KEEPALIVE_SECONDS = 2.0
_rasa_session = EndpointConfig.session
# every session opened, by event loop, to close when that loop's server stops
_opened: weakref.WeakKeyDictionary[Any, list[aiohttp.ClientSession]] = weakref.WeakKeyDictionary()


class _KeptSession:
    """What ``EndpointConfig.session()`` returns here: the endpoint's session, left open."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self._session

    async def __aexit__(self, *_: object) -> None:
        return None


def _session(self: EndpointConfig) -> Any:
    """EndpointConfig.session, one kept per endpoint and event loop; same headers and auth."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return _rasa_session(self)
    kept = self.__dict__.setdefault("_kept_sessions", weakref.WeakKeyDictionary())
    session = kept.get(loop)
    if session is None or session.closed:
        auth = (
            aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
            if self.basic_auth
            else None
        )
        session = aiohttp.ClientSession(
            headers=self.headers,
            auth=auth,
            timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
            connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS),
        )
        kept[loop] = session
        _opened.setdefault(loop, []).append(session)
    return _KeptSession(session)


async def close_sessions() -> None:
    """Close the sessions kept for this event loop (when the server stops)."""
    for session in _opened.pop(asyncio.get_running_loop(), []):
        await session.close()


class SequentialGraphRunner(DaskGraphRunner):  # type: ignore[misc]
    """DaskGraphRunner's results, computed node by node without a scheduler."""

    def run(
        self, inputs: dict[str, Any] | None = None, targets: list[str] | None = None
    ) -> dict[str, Any]:
        """Run the nodes the targets need, each once, in dependency order."""
        nodes = self._graph_schema.nodes
        inputs = inputs or {}
        for value in inputs.values():
            if isinstance(value, str) and value in nodes:
                raise GraphRunError(
                    f"Input value '{value}' clashes with a node name. Make sure that none "
                    "of the input names passed to the `run` method are the same as node "
                    "names in the graph schema."
                )
        # as in the dask graph: each result is (node name, output), inputs too
        done: dict[str, Any] = {name: (name, value) for name, value in inputs.items()}

        def result(name: str) -> Any:
            if name not in done:
                if name not in nodes:
                    return name  # unresolved: GraphNode reports it, as under dask
                needs = nodes[name].needs.values()
                done[name] = self._instantiated_nodes[name](*(result(n) for n in needs))
            return done[name]

        try:
            return dict(result(t) for t in targets or self._graph_schema.target_names)
        except RuntimeError as e:
            raise GraphRunError("Error running runner.") from e


def install() -> None:
    """Put the cheap versions in Rasa's place (idempotent)."""
    RemoteAction._validate_action_result = _validate_action_result
    Event.resolve_by_type = staticmethod(_resolve_by_type)
    LogisticRegressionClassifier.load = classmethod(_load_classifier)
    Message._combine_features = staticmethod(_combine_features)
    LogisticRegressionClassifier._create_X = _create_x
    EndpointConfig.session = _session
    states.install()
    Domain.is_empty = _is_empty
    DialogueStateTracker.copy = _copy_tracker
    ActionExtractSlots._execute_validation_action = _execute_validation_action
    Policy.format_tracker_states = staticmethod(_format_tracker_states)
    rasa.core.policies.memoization.copy = _CopyForDebugLog
    # the processor builds its runner from this name when it loads a model
    rasa.core.processor.DaskGraphRunner = SequentialGraphRunner
