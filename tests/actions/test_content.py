from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.content import (
    ActionAnswerTopic,
    ActionSetCountry,
    ActionTellMeMore,
    parse_country,
    plan_answer,
)
from catalogue.content import OTHER_COUNTRY, default_content

CONTENT = default_content()


def country_buttons() -> list[dict[str, str]]:
    """What the domain's utter_ask_country must offer: every country with facts, then other."""
    codes = [*sorted(CONTENT.countries), OTHER_COUNTRY]
    return [
        {"title": f"country.{code}", "payload": f'/inform_country{{"country":"{code}"}}'}
        for code in codes
    ]


def tracker(
    intent: str, slots: dict[str, Any] | None = None, entities: list[dict[str, Any]] | None = None
) -> Tracker:
    return Tracker(
        sender_id="s1",
        slots={"language": "en", **(slots or {})},
        latest_message={
            "text": "x",
            "intent": {"name": intent, "confidence": 1.0},
            "entities": entities or [],
        },
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def country(code: str) -> list[dict[str, Any]]:
    return [{"entity": "country", "value": code}]


def test_plan_asks_the_country_once_and_only_when_the_answer_depends_on_it() -> None:
    assert plan_answer(CONTENT, "ask_guardian", None, None).ask_country
    assert not plan_answer(CONTENT, "ask_school", None, None).ask_country
    assert not plan_answer(
        CONTENT, "feeling_distress", None, None
    ).ask_country  # safety never waits
    assert not plan_answer(CONTENT, "ask_guardian", OTHER_COUNTRY, None).ask_country
    named = plan_answer(CONTENT, "ask_asylum", None, "IT")
    assert named.country == "IT" and named.remember_country == "IT"
    # a country named in a question answers for it, but does not replace the known one
    other = plan_answer(CONTENT, "ask_asylum", "DE", "FR")
    assert other.country == "FR" and other.remember_country is None


def test_parse_country_and_buttons() -> None:
    assert parse_country(CONTENT, "GR") == "GR"
    assert parse_country(CONTENT, "PL") == OTHER_COUNTRY
    assert parse_country(CONTENT, None) == OTHER_COUNTRY
    buttons = country_buttons()
    assert buttons[-1]["payload"] == '/inform_country{"country":"other"}'
    assert all(len(b["payload"].encode()) <= 64 for b in buttons)


async def test_a_country_dependent_topic_asks_first_then_answers() -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerTopic().run(dispatcher, tracker("ask_guardian"), {})
    assert dispatcher.messages[0]["response"] == "utter_ask_country"
    assert events == [SlotSet("pending_topic", "ask_guardian")]

    dispatcher = CollectingDispatcher()
    slots = {"pending_topic": "ask_guardian"}
    events = await ActionSetCountry().run(
        dispatcher, tracker("inform_country", slots, country("IT")), {}
    )
    responses = [m["response"] for m in dispatcher.messages]
    assert responses == ["utter_country_set", "utter_topic_answer"]
    assert dispatcher.messages[1]["topic"] == "ask_guardian"
    assert dispatcher.messages[1]["country"] == "IT"
    assert SlotSet("country", "IT") in events and SlotSet("pending_topic", None) in events


async def test_changing_country_later_shows_the_menu() -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionSetCountry().run(
        dispatcher, tracker("inform_country", {"country": "IT"}, country("FR")), {}
    )
    assert [m["response"] for m in dispatcher.messages] == ["utter_country_set", "utter_menu"]
    assert events == [SlotSet("country", "FR")]


async def test_another_country_gets_eu_wide_answers() -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionSetCountry().run(
        dispatcher, tracker("inform_country", entities=country("other")), {}
    )
    assert dispatcher.messages[0]["response"] == "utter_country_other"
    assert events[0] == SlotSet("country", OTHER_COUNTRY)


async def test_no_country_named_asks_with_buttons_and_keeps_what_was_known() -> None:
    dispatcher = CollectingDispatcher()
    slots = {"country": "IT", "pending_topic": "ask_asylum"}
    events = await ActionSetCountry().run(dispatcher, tracker("inform_country", slots), {})
    assert dispatcher.messages[0]["response"] == "utter_ask_country"
    assert events == []


async def test_tell_me_more_sends_every_part_of_the_topic() -> None:
    dispatcher = CollectingDispatcher()
    entities = [{"entity": "topic", "value": "ask_rights"}]
    await ActionTellMeMore().run(dispatcher, tracker("tell_me_more", entities=entities), {})
    answer = CONTENT.answer("ask_rights", "en", None)
    assert answer is not None
    assert [m["part"] for m in dispatcher.messages] == list(range(len(answer.more)))
    assert {m["response"] for m in dispatcher.messages} == {"utter_topic_more"}


async def test_a_non_topic_intent_gets_the_default_answer() -> None:
    dispatcher = CollectingDispatcher()
    assert await ActionAnswerTopic().run(dispatcher, tracker("greet"), {}) == []
    assert dispatcher.messages[0]["response"] == "utter_default"


def test_the_domain_offers_every_country_with_facts() -> None:
    import yaml

    from catalogue import ROOT

    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    buttons = domain["responses"]["utter_ask_country"][0]["buttons"]
    assert buttons == country_buttons()
