"""Answer topic questions from the content catalogue, asking the country once when needed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from catalogue import default_catalogue
from catalogue.content import OTHER_COUNTRY, Content, default_content

COUNTRY_SLOT = "country"
TOPIC_SLOT = "topic"  # the topic last answered, for "tell me more"
PENDING_SLOT = "pending_topic"  # a topic waiting for the child to say where they are


@dataclass(frozen=True)
class Plan:
    """What to do with a topic question: ask the country first, or answer for a country."""

    topic: str
    ask_country: bool
    country: str | None  # the country to answer for (None: EU-wide)
    remember_country: str | None  # a country to store in the slot


def plan_answer(
    content: Content, topic: str, known_country: str | None, mentioned: str | None
) -> Plan:
    """Decide how to answer ``topic``.

    A country named in the question ("asylum in Italia?") answers for that
    country, and is remembered when none was known. A topic that depends on the
    country asks for it once; after that ("other" included) it answers.
    """
    mentioned = mentioned if mentioned in content.countries else None
    country = mentioned or known_country
    if content.needs_country(topic) and country is None:
        return Plan(topic, ask_country=True, country=None, remember_country=None)
    remember = mentioned if mentioned and known_country is None else None
    return Plan(topic, ask_country=False, country=country, remember_country=remember)


def parse_country(content: Content, value: object) -> str:
    """A country code we have facts for, else ``other`` (EU-wide answers)."""
    return value if isinstance(value, str) and value in content.countries else OTHER_COUNTRY


def answer_topic(
    dispatcher: CollectingDispatcher, topic: str, country: str | None
) -> list[EventType]:
    """Send the first message of a topic's answer (the NLG writes it from the catalogue)."""
    dispatcher.utter_message(response="utter_topic_answer", topic=topic, country=country)
    return [SlotSet(TOPIC_SLOT, topic)]


def latest_entity(tracker: Tracker, name: str) -> str | None:
    value = next(tracker.get_latest_entity_values(name), None)
    return value if isinstance(value, str) else None


class ActionAnswerTopic(Action):  # type: ignore[misc]
    """Answer the topic the child asked about, or ask where they are first."""

    def name(self) -> str:
        return "action_answer_topic"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        content = default_content()
        topic = (tracker.latest_message.get("intent") or {}).get("name")
        if topic not in content.topics:
            dispatcher.utter_message(response="utter_default")
            return []
        plan = plan_answer(
            content, topic, tracker.get_slot(COUNTRY_SLOT), latest_entity(tracker, "country")
        )
        if plan.ask_country:
            dispatcher.utter_message(response="utter_ask_country")
            return [SlotSet(PENDING_SLOT, topic)]
        events = answer_topic(dispatcher, topic, plan.country)
        if plan.remember_country:
            events.append(SlotSet(COUNTRY_SLOT, plan.remember_country))
        return [*events, SlotSet(PENDING_SLOT, None)]


class ActionTellMeMore(Action):  # type: ignore[misc]
    """Send the "tell me more" messages of a topic (at most three)."""

    def name(self) -> str:
        return "action_tell_me_more"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        content = default_content()
        topic = latest_entity(tracker, "topic") or tracker.get_slot(TOPIC_SLOT)
        country = tracker.get_slot(COUNTRY_SLOT)
        language = default_catalogue().resolve(tracker.get_slot("language"))
        answer = content.answer(str(topic), language, country) if topic else None
        if answer is None or not answer.more:
            dispatcher.utter_message(response="utter_help")
            return []
        for part in range(len(answer.more)):
            dispatcher.utter_message(
                response="utter_topic_more", topic=topic, country=country, part=part
            )
        return [SlotSet(TOPIC_SLOT, topic)]


class ActionSetCountry(Action):  # type: ignore[misc]
    """Remember where the child is, then answer the topic that was waiting for it."""

    def name(self) -> str:
        return "action_set_country"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        content = default_content()
        named = latest_entity(tracker, "country")
        pending = tracker.get_slot(PENDING_SLOT)
        if named is None:
            # "I'm in ..." with no country we know: ask, with buttons (one is
            # "another country"), rather than guess or forget what was known
            dispatcher.utter_message(response="utter_ask_country")
            return []
        country = parse_country(content, named)
        events: list[EventType] = [SlotSet(COUNTRY_SLOT, country)]
        if country == OTHER_COUNTRY:
            dispatcher.utter_message(response="utter_country_other")
        else:
            dispatcher.utter_message(response="utter_country_set", country=country)
        if isinstance(pending, str) and pending in content.topics:
            events += answer_topic(dispatcher, pending, country)
            events.append(SlotSet(PENDING_SLOT, None))
        else:
            dispatcher.utter_message(response="utter_menu")
        return events
