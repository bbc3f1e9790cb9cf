"""Render every response from the text catalogue, in the conversation's language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from catalogue import Catalogue, default_catalogue
from catalogue.content import Content, default_content

LANGUAGE_SLOT = "language"
COUNTRY_SLOT = "country"
CONTENT_KEY = "content"  # a response whose `custom` names this is a content answer
TOPIC_PENDING = "utter_topic_pending"


class CatalogueNLG(TemplatedNaturalLanguageGenerator):  # type: ignore[misc]
    """Pick a response variation as Rasa does, then put it into words from the catalogue.

    Configured in endpoints.yml as ``nlg: {type: rasa_ext.nlg.CatalogueNLG}``;
    optional ``locales:`` and ``content:`` keys there point to other directories.
    Responses whose ``custom`` is ``{content: first}`` or ``{content: more}``
    are topic answers from the content catalogue (data/content).
    """

    def __init__(self, endpoint_config: EndpointConfig, domain: Domain) -> None:
        super().__init__(domain.responses)
        options = (endpoint_config.kwargs or {}) if endpoint_config else {}
        locales, content = options.get("locales"), options.get("content")
        self.catalogue: Catalogue = (
            Catalogue.load(Path(locales)) if locales else default_catalogue()
        )
        self.content: Content = Content.load(Path(content)) if content else default_content()

    async def generate(
        self,
        utter_action: str,
        tracker: DialogueStateTracker,
        output_channel: str,
        **kwargs: Any,
    ) -> dict[str, Any] | None:
        """Return the message for ``utter_action`` in the conversation's language.

        An action may pass ``language=`` or ``country=`` itself: it may decide
        them and speak in the same turn, before its SlotSet applies.
        """
        slots = tracker.current_slot_values()
        variation = self._random_response_for(utter_action, output_channel, slots)
        if variation is None:
            return None
        values = {**slots, **kwargs}
        language = self.catalogue.resolve(values.get(LANGUAGE_SLOT))
        country = values.get(COUNTRY_SLOT)
        if isinstance(country, str) and self.catalogue.has(f"country.{country}"):
            values["country_name"] = self.catalogue.text(f"country.{country}", language)
        kind = (variation.get("custom") or {}).get(CONTENT_KEY)
        if kind:
            message = self._content(kind, language, country, values)
            if message is not None:
                return message
            # no entry: say so honestly rather than guess
            variation = self._random_response_for(TOPIC_PENDING, output_channel, slots)
        return self.catalogue.render(variation, language, values)

    def _content(
        self, kind: str, language: str, country: object, values: dict[str, Any]
    ) -> dict[str, Any] | None:
        """One message of a topic answer: the first, or "tell me more" number ``part``."""
        topic = values.get("topic")
        answer = self.content.answer(
            str(topic), language, country if isinstance(country, str) else None
        )
        if answer is None:
            return None
        messages = self.content.messages(answer, self.catalogue, more=kind == "more")
        part = int(values.get("part") or 0)
        if not 0 <= part < len(messages):
            return None
        message = messages[part]
        message["checked"] = answer.checked.isoformat()
        message["sources"] = list(answer.sources)
        return message
