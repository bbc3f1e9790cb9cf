"""The cheap versions of Rasa's hot spots answer exactly as Rasa's own do."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import rasa.core.policies.memoization
import rasa.core.processor
from jsonschema import ValidationError
from rasa.core.actions.action import ActionExtractSlots, RemoteAction
from rasa.core.policies.policy import Policy
from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import ExecutionContext, GraphComponent, GraphSchema, SchemaNode
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, Event, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.utils.common import all_subclasses
from rasa.utils.endpoints import EndpointConfig
from scipy import sparse

from rasa_ext import speedups, states
from rasa_ext.danger import sentence_row
from tests.rasa_ext.test_states import CONVERSATIONS
from tests.rasa_ext.test_states import DOMAIN as STATES_DOMAIN

ORIGINAL_VALIDATE = RemoteAction._validate_action_result
ORIGINAL_RESOLVE = Event.resolve_by_type
ORIGINAL_LOAD = vars(LogisticRegressionClassifier)["load"]
ORIGINAL_COMBINE = vars(Message)["_combine_features"]
ORIGINAL_SESSION = EndpointConfig.session
ORIGINAL_CREATE_X = LogisticRegressionClassifier._create_X
ORIGINAL_IS_EMPTY = Domain.is_empty
ORIGINAL_COPY = DialogueStateTracker.copy
ORIGINAL_PAST_STATES = DialogueStateTracker.past_states
ORIGINAL_APPLIED = DialogueStateTracker.applied_events
ORIGINAL_FORMAT = vars(Policy)["format_tracker_states"]  # the staticmethod, to put back
ORIGINAL_PREDICTION_STATES = Policy._prediction_states
ORIGINAL_VALIDATION = ActionExtractSlots._execute_validation_action
ORIGINAL_MEMOIZATION_COPY = rasa.core.policies.memoization.copy


@pytest.fixture
def installed() -> Iterator[None]:
    speedups.install()
    yield
    RemoteAction._validate_action_result = ORIGINAL_VALIDATE
    Event.resolve_by_type = ORIGINAL_RESOLVE
    LogisticRegressionClassifier.load = ORIGINAL_LOAD
    rasa.core.processor.DaskGraphRunner = DaskGraphRunner
    Message._combine_features = ORIGINAL_COMBINE
    EndpointConfig.session = ORIGINAL_SESSION
    LogisticRegressionClassifier._create_X = ORIGINAL_CREATE_X
    Domain.is_empty = ORIGINAL_IS_EMPTY
    DialogueStateTracker.copy = ORIGINAL_COPY
    DialogueStateTracker.past_states = ORIGINAL_PAST_STATES
    DialogueStateTracker.applied_events = ORIGINAL_APPLIED
    Policy.format_tracker_states = ORIGINAL_FORMAT
    Policy._prediction_states = ORIGINAL_PREDICTION_STATES
    ActionExtractSlots._execute_validation_action = ORIGINAL_VALIDATION
    rasa.core.policies.memoization.copy = ORIGINAL_MEMOIZATION_COPY


GOOD: list[dict[str, Any]] = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "country", "value": "IT"}], "responses": []},
    {"responses": [{"response": "utter_greet"}]},
    {
        "events": [
            {"event": "slot", "name": "language", "value": "ps", "timestamp": None},
            {"event": "followup", "name": "action_answer_topic"},
            {"event": "pause", "metadata": {"urgent": True}},
            {"event": "bot", "text": "hi", "data": {"buttons": []}},
            {"event": "user", "text": "salam", "parse_data": {"intent": {"name": "greet"}}},
            {"event": "action", "name": "action_listen", "policy": None, "confidence": 1.0},
        ],
        "responses": [{"response": "utter_menu", "language": "ps"}],
    },
]
BAD: list[Any] = [
    {"events": "not a list"},
    {"events": [{"no_event_key": 1}]},
    {"responses": [42]},
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"event": "slot", "name": 1}]},
    {"events": [{"event": "slot", "name": "x", "timestamp": "yesterday"}]},
    {"events": [{"event": "user", "parse_data": {"intent": {"name": 3}}}]},
    {"events": [42]},
    "not an answer",
]


@pytest.mark.parametrize("result", GOOD + BAD)
def test_action_answers_are_judged_as_rasa_judges_them(
    installed: None, result: dict[str, Any]
) -> None:
    action = RemoteAction("action_x", None)

    def outcome(validate: Any) -> str:
        try:
            validate(action, result)
        except ValidationError as exc:
            return f"invalid: {exc.message.split('. Failed')[0]}"
        return "valid"

    assert outcome(RemoteAction._validate_action_result) == outcome(ORIGINAL_VALIDATE)
    assert outcome(RemoteAction._validate_action_result).startswith(
        "valid" if result in GOOD else "invalid"
    )
    # valid answers take the quick path; the others get the full validator's error
    assert speedups._quickly_valid(result) == (result in GOOD)


def test_every_event_type_resolves_to_rasas_class(installed: None) -> None:
    for cls in all_subclasses(Event):
        if cls.type_name != "event":
            assert Event.resolve_by_type(cls.type_name) is ORIGINAL_RESOLVE(cls.type_name)
    assert Event.resolve_by_type("user") is UserUttered  # now remembered
    assert Event.resolve_by_type("slot") is SlotSet
    assert Event.resolve_by_type("nonsense", ActionExecuted) is ActionExecuted
    assert Event.resolve_by_type("topic") is None  # Rasa's legacy name, still ignored
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("nonsense")


def test_intent_probabilities_stay_the_same_without_the_copy() -> None:
    from scipy.sparse import random as sparse_random
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    features = sparse_random(60, 500, density=0.05, format="csr", random_state=0)
    model = LogisticRegression(max_iter=200).fit(features, rng.integers(0, 5, 60))
    before = model.predict_proba(features[:7])
    assert not model.coef_.T.flags.c_contiguous  # what made scipy copy it

    speedups.column_major(model)

    assert model.coef_.T.flags.c_contiguous
    np.testing.assert_array_equal(model.predict_proba(features[:7]), before)


def test_the_intent_classifier_loads_column_major(installed: None) -> None:
    assert LogisticRegressionClassifier.load.__func__ is speedups._load_classifier


class Add(GraphComponent):
    """A toy node: adds what its parents give it and counts its runs."""

    runs: ClassVar[list[str]] = []

    def __init__(self, name: str) -> None:
        self.name = name

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> Add:
        return cls(str(execution_context.node_name))

    def add(self, **numbers: int) -> int:
        Add.runs.append(self.name)
        return sum(numbers.values())


def node(**needs: str) -> SchemaNode:
    return SchemaNode(needs=needs, uses=Add, constructor_name="create", fn="add", config={})


def test_the_graph_runs_as_dask_runs_it(tmp_path: Path) -> None:
    # a diamond (top needs left and right, both need base) beside an unused node
    schema = GraphSchema(
        {
            "base": node(a="x", b="y"),
            "left": node(a="base"),
            "right": node(a="base", b="y"),
            "top": node(a="left", b="right"),
            "unused": node(a="x"),
        }
    )
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(schema, "model")
    answers = []
    for runner_class in (DaskGraphRunner, speedups.SequentialGraphRunner):
        Add.runs.clear()
        runner = runner_class(schema, storage, context)
        answers.append(runner.run({"x": 1, "y": 10}, ["top", "left"]))
        assert sorted(Add.runs) == ["base", "left", "right", "top"]  # each once
    assert answers[0] == answers[1] == {"top": 32, "left": 11}
    with pytest.raises(GraphRunError, match="clashes"):
        speedups.SequentialGraphRunner(schema, storage, context).run({"x": "base"})


def test_models_load_with_the_sequential_runner(installed: None) -> None:
    assert rasa.core.processor.DaskGraphRunner is speedups.SequentialGraphRunner


def featurised(kinds: str) -> Message:
    """A message with one sequence and one sentence matrix per featurizer kind
    (s: sparse, d: dense), as the NLU pipeline leaves it."""
    rng = np.random.default_rng(len(kinds))
    message = Message(data={"text": "someone keeps my passport"})
    for i, kind in enumerate(kinds):
        for feature_type, rows in (("sequence", 4), ("sentence", 1)):
            if kind == "s":
                matrix: Any = sparse.random(rows, 5 + i, density=0.4, format="coo", random_state=i)
            else:
                matrix = rng.random((rows, 3 + i))
            message.add_features(Features(matrix, feature_type, "text", f"featurizer{i}"))
    return message


@pytest.mark.parametrize("kinds", ["s", "ssss", "d", "dd", "ssdd"])
def test_a_messages_features_are_joined_as_rasa_joins_them(kinds: str) -> None:
    def joined(message: Message) -> list[Any]:
        out = []
        for pair in (message.get_sparse_features("text"), message.get_dense_features("text")):
            for f in pair:
                if f is None:
                    out.append(None)
                    continue
                dense = f.features.toarray() if f.is_sparse() else f.features
                out.append((f.type, f.attribute, f.origin, type(f.features), dense.tolist()))
        return out

    message = featurised(kinds)
    rasas = joined(message)
    Message._combine_features = staticmethod(speedups._combine_features)
    try:
        assert joined(message) == rasas
    finally:
        Message._combine_features = ORIGINAL_COMBINE


def test_sparse_and_dense_features_are_not_joined() -> None:
    mixed = [
        Features(sparse.coo_matrix(np.ones((1, 2))), "sentence", "text", "a"),
        Features(np.ones((1, 2)), "sentence", "text", "b"),
    ]
    with pytest.raises(ValueError, match="sparse and dense"):
        speedups._combine_features(mixed, [])


async def test_an_endpoint_keeps_one_session_per_event_loop(installed: None) -> None:
    endpoint = EndpointConfig(
        "http://127.0.0.1:5055/webhook",
        headers={"X-Test": "1"},
        basic_auth={"username": "u", "password": "p"},
    )
    async with endpoint.session() as first:
        pass
    async with endpoint.session() as second:
        assert second is first and not first.closed  # left open for the next request
    assert first.headers["X-Test"] == "1"
    assert first.auth is not None and first.auth.login == "u"
    other = EndpointConfig("http://127.0.0.1:5056/webhook")
    async with other.session() as elsewhere:
        assert elsewhere is not first

    await speedups.close_sessions()

    assert first.closed and elsewhere.closed
    async with endpoint.session() as fresh:
        assert fresh is not first and not fresh.closed
    await speedups.close_sessions()


@pytest.mark.parametrize("kinds", ["s", "ssss", "d", "ssdd"])
def test_the_classifiers_read_the_row_rasa_builds(kinds: str) -> None:
    message = featurised(kinds)
    rasas = ORIGINAL_CREATE_X(None, [message])
    ours = speedups._create_x(None, [message])  # type: ignore[arg-type]
    assert ours.dtype == rasas.dtype and ours.shape == rasas.shape
    assert (ours.toarray() == rasas.toarray()).all()


def test_a_kept_row_is_built_again_when_features_change() -> None:
    message = featurised("ss")
    first = sentence_row(message, keep=True)
    assert sentence_row(message, keep=True) is first
    message.add_features(Features(sparse.coo_matrix(np.ones((1, 2))), "sentence", "text", "late"))
    assert sentence_row(message, keep=True).shape[1] == first.shape[1] + 2
    assert sentence_row(featurised("ss")) is not sentence_row(featurised("ss"))


def test_a_domain_is_empty_as_rasa_says(installed: None) -> None:
    assert Domain.empty().is_empty()
    full = Domain.from_yaml('version: "3.1"\nintents: [greet]')
    assert not full.is_empty() and not full.is_empty()
    assert ORIGINAL_IS_EMPTY(Domain.empty()) and not ORIGINAL_IS_EMPTY(full)


def test_the_dialogue_states_are_built_as_they_grow(installed: None) -> None:
    assert DialogueStateTracker.past_states is states.past_states
    assert Policy._prediction_states is states.prediction_states


def state_of(tracker: DialogueStateTracker) -> dict[str, Any]:
    """Everything a tracker holds, comparable."""
    return {
        **tracker.current_state(EventVerbosity.ALL),
        "events": list(tracker.events),
        "slot_values": {name: slot.value for name, slot in tracker.slots.items()},
        "slots_set": {name: slot.has_been_set for name, slot in tracker.slots.items()},
        "active_loop": tracker.active_loop,
        "latest_action": tracker.latest_action,
        "latest_bot_utterance": tracker.latest_bot_utterance,
        "ids": (tracker.model_id, tracker.assistant_id, tracker.sender_source),
    }


@pytest.mark.parametrize("name", sorted(CONVERSATIONS))
def test_a_tracker_copy_is_the_one_rasa_makes(name: str) -> None:
    tracker = DialogueStateTracker("child", STATES_DOMAIN.slots)
    tracker.model_id, tracker.assistant_id = "model", "lantern"
    for event in CONVERSATIONS[name]:
        tracker.update(event)
        ours = speedups._copy_tracker(tracker)
        assert state_of(ours) == state_of(ORIGINAL_COPY(tracker))
        # and a copy of its own: events applied to it leave the original as it was
        before = state_of(tracker)
        ours.update_with_events([ActiveLoop("country_form"), SlotSet("country", "fr")], None)
        assert state_of(tracker) == before


VALIDATING_DOMAIN = Domain.from_dict(
    {**STATES_DOMAIN.as_dict(), "actions": ["action_answer_topic", "action_validate_slot_mappings"]}
)


async def validated(
    run: Any, tracker: DialogueStateTracker, extracted: list[Event]
) -> tuple[dict[str, Any], list[Event]]:
    """What the validation action is shown, and the events that come back."""
    shown: list[dict[str, Any]] = []

    async def action(
        name: str, output_channel: Any, nlg: Any, seen: DialogueStateTracker, domain: Domain
    ) -> list[Event]:
        shown.append(state_of(seen))
        return [SlotSet("asked", False)]  # answers for one slot, not the other

    extractor = ActionExtractSlots(None)
    extractor._run_custom_action = action  # type: ignore[method-assign]
    events = await run(extractor, extracted, None, None, tracker, VALIDATING_DOMAIN)
    return shown[0], events


@pytest.mark.parametrize("name", sorted(CONVERSATIONS))
async def test_the_validation_action_sees_the_tracker_rasa_builds(name: str) -> None:
    tracker = DialogueStateTracker("child", VALIDATING_DOMAIN.slots)
    tracker.model_id = "model"  # Rasa's rebuilt tracker has none, and neither has ours
    extracted: list[Event] = [SlotSet("asked", True), SlotSet("country", "fr")]
    for event in CONVERSATIONS[name]:
        tracker.update(event)
        before = state_of(tracker)
        ours = await validated(speedups._execute_validation_action, tracker, extracted)
        assert ours == await validated(ORIGINAL_VALIDATION, tracker, extracted)
        assert state_of(tracker) == before  # the slots went on a copy


def test_a_bounded_history_is_copied_as_rasa_copies_it() -> None:
    events = CONVERSATIONS["plain"]
    tracker = DialogueStateTracker.from_events("child", events, STATES_DOMAIN.slots, 4)
    assert state_of(speedups._copy_tracker(tracker)) == state_of(ORIGINAL_COPY(tracker))


def test_memoization_copies_states_for_its_debug_log_only_when_it_is_written(
    installed: None, caplog: pytest.LogCaptureFixture
) -> None:
    tracker = DialogueStateTracker.from_events("child", CONVERSATIONS["plain"], STATES_DOMAIN.slots)
    past = states._rasa_past_states(tracker, STATES_DOMAIN)
    deepcopy = rasa.core.policies.memoization.copy.deepcopy
    with caplog.at_level(logging.INFO, logger="rasa"):
        assert deepcopy(past) is past
    with caplog.at_level(logging.DEBUG, logger="rasa"):
        copied = deepcopy(past)
        assert copied == past and copied is not past and copied[-1] is not past[-1]


def test_states_are_formatted_for_the_debug_log_only_when_it_is_written(
    installed: None, caplog: pytest.LogCaptureFixture
) -> None:
    tracker = DialogueStateTracker.from_events("child", CONVERSATIONS["plain"], STATES_DOMAIN.slots)
    past = states._rasa_past_states(tracker, STATES_DOMAIN)
    with caplog.at_level(logging.INFO, logger="rasa"):
        assert Policy.format_tracker_states(past) == ""
    with caplog.at_level(logging.DEBUG, logger="rasa"):
        assert Policy.format_tracker_states(past) == ORIGINAL_FORMAT(past)
        assert "[state 1]" in Policy.format_tracker_states(past)
