from __future__ import annotations

from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from catalogue import default_catalogue
from rasa_ext.nlg import CatalogueNLG

ROOT = Path(__file__).resolve().parents[2]
CAT = default_catalogue()


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


def tracker(domain: Domain, language: str | None) -> DialogueStateTracker:
    events = [SlotSet("language", language)] if language else []
    return DialogueStateTracker.from_events("s", events, slots=domain.slots)


@pytest.mark.parametrize("language", ["en", "ar", None])
async def test_every_response_renders_in_the_slot_language(
    domain: Domain, language: str | None
) -> None:
    nlg = CatalogueNLG(EndpointConfig(type="rasa_ext.nlg.CatalogueNLG"), domain)
    for name in domain.responses:
        message = await nlg.generate(name, tracker(domain, language), "lantern")
        assert message is not None, name
        assert message["language"] == (language or "en")
        assert message["text"] == CAT.text(domain.responses[name][0]["text"], language)
        for button in message.get("buttons") or []:
            assert not button["title"].startswith("button."), (name, button)


async def test_buttons_from_an_action_are_kept(domain: Domain) -> None:
    nlg = CatalogueNLG(EndpointConfig(type="rasa_ext.nlg.CatalogueNLG"), domain)
    message = await nlg.generate("utter_menu", tracker(domain, "ar"), "lantern")
    assert message is not None
    assert message["direction"] == "rtl"
    assert await nlg.generate("utter_does_not_exist", tracker(domain, "ar"), "lantern") is None


async def test_an_action_can_name_the_language(domain: Domain) -> None:
    nlg = CatalogueNLG(EndpointConfig(type="rasa_ext.nlg.CatalogueNLG"), domain)
    message = await nlg.generate("utter_greet", tracker(domain, "en"), "lantern", language="ar")
    assert message is not None and message["text"] == CAT.text("utter_greet", "ar")
