"""A turn whose custom action fails stops unsaved; a rejecting action is normal flow."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import rasa.core.actions.action
from aiohttp import web
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.processor import MessageProcessor
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from rasa_ext import turns
from tests.e2e.local_server import serve_locally

DOMAIN = Domain.from_yaml(
    'version: "3.1"\nslots:\n  country:\n    type: text\n    mappings: [{type: custom}]\n'
    "actions: [action_answer]"
)
ORIGINAL_TIMEOUT = rasa.core.actions.action.DEFAULT_REQUEST_TIMEOUT
ORIGINALS = (
    RemoteAction.run,
    MessageProcessor._run_action,
    MessageProcessor.run_action_extract_slots,
)


@pytest.fixture
def installed() -> Iterator[None]:
    turns.install()
    yield
    rasa.core.actions.action.DEFAULT_REQUEST_TIMEOUT = ORIGINAL_TIMEOUT
    (
        RemoteAction.run,
        MessageProcessor._run_action,
        MessageProcessor.run_action_extract_slots,
    ) = ORIGINALS


Answer = Callable[[dict[str, Any]], web.Response]


@pytest.fixture
async def action_server() -> AsyncIterator[Callable[[Answer], str]]:
    """An action server whose answer each test chooses."""
    answers: list[Answer] = []

    async def webhook(request: web.Request) -> web.Response:
        answer = answers[-1](await request.json())
        if answer.status == 504:  # stands for a server that hangs
            await asyncio.sleep(30)
        return answer

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner, url = await serve_locally(app)

    def answering(answer: Answer) -> str:
        answers.append(answer)
        return url + "/webhook"

    yield answering
    await runner.cleanup()


def processor(action_url: str) -> MessageProcessor:
    """A MessageProcessor with just what running one action needs."""
    proc = MessageProcessor.__new__(MessageProcessor)
    proc.domain = DOMAIN
    proc.action_endpoint = EndpointConfig(action_url)
    proc.nlg = TemplatedNaturalLanguageGenerator({})
    return proc


def tracker() -> DialogueStateTracker:
    return DialogueStateTracker.from_events(
        "s", [ActionExecuted("action_listen"), UserUttered("hi", message_id="tg:1")]
    )


async def run_answer(url: str) -> tuple[bool, DialogueStateTracker]:
    proc, conversation = processor(url), tracker()
    action = RemoteAction("action_answer", proc.action_endpoint)
    more = await proc._run_action(
        action, conversation, CollectingOutputChannel(), proc.nlg, PolicyPrediction([], "p")
    )
    return more, conversation


async def test_a_failing_action_server_stops_the_turn(
    installed: None, action_server: Callable[[Answer], str]
) -> None:
    url = action_server(lambda _: web.Response(status=500))
    with pytest.raises(turns.TurnAbandoned) as stopped:
        await run_answer(url)
    assert stopped.value.action == "action_answer"


async def test_an_unreachable_action_server_stops_the_turn(installed: None) -> None:
    with pytest.raises(turns.TurnAbandoned):
        await run_answer("http://127.0.0.1:1/webhook")


async def test_a_hanging_action_server_stops_the_turn_in_time(
    installed: None, action_server: Callable[[Answer], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert rasa.core.actions.action.DEFAULT_REQUEST_TIMEOUT == turns.ACTION_TIMEOUT_SECONDS
    monkeypatch.setattr(rasa.core.actions.action, "DEFAULT_REQUEST_TIMEOUT", 0.5)
    url = action_server(lambda _: web.Response(status=504))
    loop = asyncio.get_running_loop()
    began = loop.time()
    with pytest.raises(turns.TurnAbandoned):
        await run_answer(url)
    assert loop.time() - began < 5


async def test_an_invalid_answer_stops_the_turn(
    installed: None, action_server: Callable[[Answer], str]
) -> None:
    url = action_server(lambda _: web.json_response({"events": [{"event": "no such event"}]}))
    with pytest.raises(turns.TurnAbandoned):
        await run_answer(url)


async def test_a_working_action_runs_as_in_rasa(
    installed: None, action_server: Callable[[Answer], str]
) -> None:
    answer = {"events": [{"event": "slot", "name": "country", "value": "IT"}], "responses": []}
    url = action_server(lambda _: web.json_response(answer))
    more, conversation = await run_answer(url)
    assert more, "after a custom action Rasa predicts the next one"
    assert conversation.get_slot("country") == "IT"
    assert conversation.latest_action_name == "action_answer"


async def test_a_rejecting_action_is_normal_flow(
    installed: None, action_server: Callable[[Answer], str]
) -> None:
    rejection = {"action_name": "action_answer", "error": "not now"}
    url = action_server(lambda _: web.json_response(rejection, status=400))
    more, conversation = await run_answer(url)
    assert more and conversation.events[-1].as_dict()["event"] == "action_execution_rejected"
    with pytest.raises(ActionExecutionRejection):
        await RemoteAction("action_answer", EndpointConfig(url)).run(
            CollectingOutputChannel(), TemplatedNaturalLanguageGenerator({}), tracker(), DOMAIN
        )


async def test_a_failure_outside_a_processor_step_is_rasas_as_before(
    installed: None, action_server: Callable[[Answer], str]
) -> None:
    url = action_server(lambda _: web.Response(status=500))
    with pytest.raises(Exception) as raised:
        await RemoteAction("action_answer", EndpointConfig(url)).run(
            CollectingOutputChannel(), TemplatedNaturalLanguageGenerator({}), tracker(), DOMAIN
        )
    assert not isinstance(raised.value, turns.TurnAbandoned)


async def test_failed_slot_validation_stops_the_turn_too(
    installed: None, action_server: Callable[[Answer], str]
) -> None:
    """action_extract_slots swallows a failed validation action itself; the step does not."""
    domain = Domain.from_yaml(
        'version: "3.1"\nslots:\n  country:\n    type: text\n    mappings: [{type: custom}]\n'
        "actions: [action_validate_slot_mappings]"
    )
    url = action_server(lambda _: web.Response(status=502))
    proc = processor(url)
    proc.domain = domain
    with pytest.raises(turns.TurnAbandoned) as stopped:
        await proc.run_action_extract_slots(CollectingOutputChannel(), tracker())
    assert stopped.value.action == "action_validate_slot_mappings"


def test_install_is_idempotent(installed: None) -> None:
    turns.install()
    assert RemoteAction.run is turns._noting_failure
    assert turns._remote_run is ORIGINALS[0], "the wrapper never wraps itself"
