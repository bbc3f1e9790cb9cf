"""rasa_ext.states gives every caller the states Rasa's own past_states gives."""

from __future__ import annotations

import collections
import copy
import logging
from collections.abc import Iterator

import pytest
from rasa.core.policies.memoization import MemoizationPolicy
from rasa.core.policies.policy import Policy, PolicyPrediction
from rasa.core.policies.rule_policy import RulePolicy
from rasa.core.training import load_data
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    Event,
    FollowupAction,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_ext import states

RASAS_PREDICTION_STATES = Policy._prediction_states

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [greet, ask_asylum, inform_country, affirm, deny]
entities: [country]
slots:
  country:
    type: categorical
    values: [it, de, fr]
    mappings: [{type: from_entity, entity: country}]
  asked:
    type: bool
    influence_conversation: true
    mappings: [{type: custom}]
  requested_slot:
    type: text
    influence_conversation: false
    mappings: [{type: custom}]
forms:
  country_form:
    required_slots: [country]
actions: [action_answer_topic, action_safety]
responses:
  utter_greet: [{text: "hi"}]
  utter_ask_country: [{text: "where"}]
"""
)
RULE_ONLY = {"slots": ["asked"], "active_loops": ["country_form"]}
WAYS = [
    {},
    {"omit_unset_slots": True},
    {"ignore_rule_only_turns": True, "rule_only_data": RULE_ONLY},
    {"ignore_rule_only_turns": True, "rule_only_data": RULE_ONLY, "omit_unset_slots": True},
]


def user(intent: str, text: str = "x", country: str | None = None) -> UserUttered:
    entities = [{"entity": "country", "value": country}] if country else []
    return UserUttered(text, {"name": intent, "confidence": 1.0}, entities)


def act(name: str, hide: bool = False) -> ActionExecuted:
    return ActionExecuted(name, hide_rule_turn=hide)


LISTEN = "action_listen"
CONVERSATIONS: dict[str, list[Event]] = {
    "plain": [
        act("action_session_start"), SessionStarted(), act(LISTEN),
        user("greet"), act("utter_greet"), act(LISTEN),
        user("ask_asylum"), SlotSet("asked", True), act("action_answer_topic"), act(LISTEN),
        user("inform_country", country="it"), SlotSet("country", "it"),
        act("action_answer_topic"), act(LISTEN),
    ],
    "rule turns hidden": [
        act(LISTEN), user("greet"), act("utter_greet", hide=True), act(LISTEN, hide=True),
        user("ask_asylum"), act("action_safety", hide=True), SlotSet("asked", True),
        act("action_answer_topic"), act(LISTEN),
        user("affirm"), FollowupAction("action_answer_topic"),
        act("action_answer_topic", hide=True), act(LISTEN),
    ],
    "reverted": [
        act(LISTEN), user("greet"), act("utter_greet"), act(LISTEN),
        user("deny"), UserUtteranceReverted(), user("ask_asylum"),
        act("action_answer_topic"), ActionReverted(), act("utter_greet"), act(LISTEN),
    ],
    "restarted and new session": [
        act(LISTEN), user("greet"), act("utter_greet"), act(LISTEN), Restarted(),
        act(LISTEN), user("ask_asylum"), act("action_answer_topic"), act(LISTEN),
        act("action_session_start"), SessionStarted(), act(LISTEN), user("greet"),
        act("utter_greet"), act(LISTEN),
    ],
    "form": [
        act(LISTEN), user("ask_asylum"), act("country_form"), ActiveLoop("country_form"),
        SlotSet("requested_slot", "country"), act(LISTEN), user("deny"),
        act("country_form"), act(LISTEN), user("inform_country", country="de"),
        SlotSet("country", "de"), act("country_form"), ActiveLoop(None),
        SlotSet("requested_slot", None), act("action_answer_topic"), act(LISTEN),
    ],
}  # fmt: skip


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    states.forget(None)
    yield
    states.forget(None)


def rasas(tracker: DialogueStateTracker, **way: object) -> list[dict[str, object]]:
    return states._rasa_past_states(tracker, DOMAIN, **way)  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", sorted(CONVERSATIONS))
def test_states_grow_as_rasa_builds_them(name: str) -> None:
    tracker = DialogueStateTracker("child", DOMAIN.slots)
    for event in CONVERSATIONS[name]:
        tracker.update(event)
        for way in WAYS:
            assert states.past_states(tracker, DOMAIN, **way) == rasas(tracker, **way), way


def test_a_tracker_loaded_afresh_is_built_again() -> None:
    events = CONVERSATIONS["plain"]
    first = DialogueStateTracker.from_events("child", events[:6], DOMAIN.slots)
    states.past_states(first, DOMAIN)
    again = DialogueStateTracker.from_events("child", events, DOMAIN.slots)
    assert states.past_states(again, DOMAIN) == rasas(again)


def test_callers_get_their_own_copy() -> None:
    tracker = DialogueStateTracker.from_events("child", CONVERSATIONS["plain"], DOMAIN.slots)
    for state in states.past_states(tracker, DOMAIN):
        for sub in state.values():
            sub.clear()
    assert states.past_states(tracker, DOMAIN) == rasas(tracker)


def test_forget_drops_a_conversation() -> None:
    for sender in ("a", "b"):
        tracker = DialogueStateTracker.from_events(sender, CONVERSATIONS["plain"], DOMAIN.slots)
        states.past_states(tracker, DOMAIN)
    states.forget("a")
    assert {key[0] for key in states._kept} == {"b"}
    states.forget(None)
    assert not states._kept


def test_only_so_many_conversations_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(states, "KEPT", 3)
    for number in range(5):
        tracker = DialogueStateTracker.from_events(
            f"child{number}", CONVERSATIONS["plain"], DOMAIN.slots
        )
        states.past_states(tracker, DOMAIN)
    assert [key[0] for key in states._kept] == ["child2", "child3", "child4"]


def test_appended_events_are_applied_without_walking_the_session(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    walks: list[int] = []
    rasas_applied = DialogueStateTracker.applied_events

    def counted(self: DialogueStateTracker) -> list[Event]:
        walks.append(len(self.events))
        return rasas_applied(self)

    monkeypatch.setattr(DialogueStateTracker, "applied_events", counted)
    tracker = DialogueStateTracker("child", DOMAIN.slots)
    for event in CONVERSATIONS["plain"]:
        tracker.update(event)
        states.past_states(tracker, DOMAIN)
    # the first call, and the new session's start; none for the appended events after it
    assert walks == [1, 2]


def test_a_copy_that_went_elsewhere_is_not_taken_for_the_tracker() -> None:
    events = CONVERSATIONS["plain"]
    tracker = DialogueStateTracker.from_events("child", events[:6], DOMAIN.slots)
    states.past_states(tracker, DOMAIN)
    elsewhere = tracker.copy()
    elsewhere.update(ActionExecuted("action_other"))
    states.past_states(elsewhere, DOMAIN)
    for event in events[6:]:
        tracker.update(event)
        assert states.past_states(tracker, DOMAIN) == rasas(tracker)


@pytest.mark.parametrize("name", sorted(CONVERSATIONS))
def test_applied_events_grow_as_rasa_finds_them(name: str) -> None:
    tracker = DialogueStateTracker("child", DOMAIN.slots)
    for event in CONVERSATIONS[name]:
        tracker.update(event)
        ours = states.applied_events(tracker)
        assert ours == states._rasa_applied_events(tracker)
        ours.clear()  # the caller's own list
        assert states.applied_events(tracker) == states._rasa_applied_events(tracker)


def test_a_shallow_copy_keeps_its_own_applied_events() -> None:
    events = CONVERSATIONS["plain"]
    tracker = DialogueStateTracker.from_events("child", events[:6], DOMAIN.slots)
    states.applied_events(tracker)
    twin = copy.copy(tracker)
    twin.events = collections.deque(tracker.events)
    twin.update(ActionExecuted("action_other"))
    assert states.applied_events(twin) == states._rasa_applied_events(twin)
    for event in events[6:]:
        tracker.update(event)
        assert states.applied_events(tracker) == states._rasa_applied_events(tracker)


LEARNT = """
version: "3.1"
stories:
- story: greets, asks, says where
  steps:
  - intent: greet
  - action: utter_greet
  - intent: ask_asylum
  - action: action_answer_topic
  - intent: inform_country
    entities: [{country: it}]
  - slot_was_set: [{country: it}]
  - action: action_answer_topic
rules:
- rule: a greeting is answered
  steps:
  - intent: greet
  - action: utter_greet
- rule: yes after an answer gives the answer again
  steps:
  - action: action_answer_topic
  - action: action_listen
  - intent: affirm
  - action: action_answer_topic
- rule: no at the start
  conversation_start: true
  steps:
  - intent: deny
  - action: action_safety
"""


@pytest.fixture(scope="module")
def policies(tmp_path_factory: pytest.TempPathFactory) -> list[Policy]:
    """A memoization and a rule policy, trained on a story and three rules."""
    folder = tmp_path_factory.mktemp("learnt")
    (folder / "learnt.yml").write_text(LEARNT)
    trackers = load_data(str(folder), DOMAIN, augmentation_factor=0)
    (folder / "storage").mkdir()
    storage = LocalModelStorage(folder / "storage")
    context = ExecutionContext(GraphSchema({}), "test")
    trained: list[Policy] = []
    for kind in (MemoizationPolicy, RulePolicy):
        policy = kind.create(kind.get_default_config(), storage, Resource(kind.__name__), context)
        policy.train(trackers, DOMAIN)
        trained.append(policy)
    return trained


def predictions(
    monkeypatch: pytest.MonkeyPatch, ours: bool, policy: Policy, tracker: DialogueStateTracker
) -> PolicyPrediction:
    """The policy's prediction with the windowed states, or with Rasa's."""
    monkeypatch.setattr(
        Policy, "_prediction_states", states.prediction_states if ours else RASAS_PREDICTION_STATES
    )
    monkeypatch.setattr(
        DialogueStateTracker,
        "past_states",
        states.past_states if ours else states._rasa_past_states,
    )
    return policy.predict_action_probabilities(tracker, DOMAIN, rule_only_data=None)


LONG = CONVERSATIONS["plain"] + CONVERSATIONS["plain"][2:] * 6 + [user("affirm")]
# the memoization policy leaves out the states after these before it looks
UNLIKELY = [
    act(LISTEN), user("greet"), act("action_unlikely_intent"), act("utter_greet"), act(LISTEN),
    user("ask_asylum"), act("action_unlikely_intent"), act("action_answer_topic"), act(LISTEN),
    user("inform_country", country="it"), SlotSet("country", "it"), act("action_answer_topic"),
    act(LISTEN),
]  # fmt: skip


@pytest.mark.parametrize(
    "events", [*CONVERSATIONS.values(), LONG, UNLIKELY], ids=[*CONVERSATIONS, "long", "unlikely"]
)
def test_policies_predict_from_the_window_what_they_predict_from_all_states(
    policies: list[Policy], events: list[Event], monkeypatch: pytest.MonkeyPatch
) -> None:
    tracker = DialogueStateTracker("child", DOMAIN.slots)
    for event in events:
        tracker.update(event)
        for policy in policies:
            ours = predictions(monkeypatch, True, policy, tracker)
            assert ours == predictions(monkeypatch, False, policy, tracker), (policy, event)


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(DialogueStateTracker, "past_states", states.past_states)


def test_the_window_is_one_state_more_than_the_longest_story_or_rule(
    policies: list[Policy], installed: None
) -> None:
    memoization, rules = policies
    # the story's seven states: the start, then two for each of its three messages
    assert states._window(memoization) == 8
    # the longest rules' three: after the answer, yes, after the answer again
    assert states._window(rules) == 4
    tracker = DialogueStateTracker.from_events("child", LONG, DOMAIN.slots)
    assert len(states.prediction_states(memoization, tracker, DOMAIN)) == 8
    assert len(states.prediction_states(rules, tracker, DOMAIN)) == 4
    assert len(states.past_states(tracker, DOMAIN)) > 20


def test_the_rules_states_go_whole_while_its_debug_line_is_written(
    policies: list[Policy], installed: None, caplog: pytest.LogCaptureFixture
) -> None:
    tracker = DialogueStateTracker.from_events("child", LONG, DOMAIN.slots)
    with caplog.at_level(logging.DEBUG, logger="rasa.core.policies.rule_policy"):
        assert states._window(policies[1]) is None
        chosen = states.prediction_states(policies[1], tracker, DOMAIN)
    assert chosen == RASAS_PREDICTION_STATES(policies[1], tracker, DOMAIN)
    assert len(chosen) > 20
