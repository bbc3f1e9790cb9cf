from __future__ import annotations

from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from catalogue import default_catalogue
from catalogue.content import default_content
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
        if "custom" in domain.responses[name][0]:
            continue  # content answers: see the tests below
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


@pytest.mark.parametrize("language", ["en", "ps", "ti", "ar", "fr"])
async def test_a_topic_answer_comes_from_the_content_in_the_slot_language(
    domain: Domain, language: str
) -> None:
    nlg = CatalogueNLG(EndpointConfig(type="rasa_ext.nlg.CatalogueNLG"), domain)
    content = default_content()
    answer = content.answer("ask_guardian", language, "IT")
    assert answer is not None
    expected = content.messages(answer, CAT)[0]
    message = await nlg.generate(
        "utter_topic_answer",
        tracker(domain, language),
        "lantern",
        topic="ask_guardian",
        country="IT",
    )
    assert message is not None
    assert message["text"] == expected["text"]
    assert message["language"] == language
    assert "Tribunale per i minorenni" in message["text"]
    assert message["sources"] and message["checked"] == "2026-11-23"
    assert message["buttons"][0]["payload"] == '/tell_me_more{"topic":"ask_guardian"}'


async def test_tell_me_more_parts_and_a_missing_topic(domain: Domain) -> None:
    nlg = CatalogueNLG(EndpointConfig(type="rasa_ext.nlg.CatalogueNLG"), domain)
    answer = default_content().answer("ask_age_assessment", "fa", None)
    assert answer is not None
    more = default_content().messages(answer, CAT, more=True)
    for part, expected in enumerate(more):
        message = await nlg.generate(
            "utter_topic_more",
            tracker(domain, "fa"),
            "lantern",
            topic="ask_age_assessment",
            part=part,
        )
        assert message is not None and message["text"] == expected["text"]
    assert "buttons" in more[-1] and "buttons" not in more[0]
    # a topic with no entry is answered honestly, never guessed
    message = await nlg.generate(
        "utter_topic_answer", tracker(domain, "en"), "lantern", topic="nope"
    )
    assert message is not None and message["text"] == CAT.text("utter_topic_pending", "en")


async def test_the_country_name_is_in_the_child_language(domain: Domain) -> None:
    nlg = CatalogueNLG(EndpointConfig(type="rasa_ext.nlg.CatalogueNLG"), domain)
    message = await nlg.generate(
        "utter_country_set", tracker(domain, "uk"), "lantern", country="DE"
    )
    assert message is not None and "Німеччина" in message["text"]
