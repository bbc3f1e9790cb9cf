"""Render every response from the text catalogue, in the conversation's language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from catalogue import Catalogue, default_catalogue

LANGUAGE_SLOT = "language"


class CatalogueNLG(TemplatedNaturalLanguageGenerator):  # type: ignore[misc]
    """Pick a response variation as Rasa does, then put it into words from the catalogue.

    Configured in endpoints.yml as ``nlg: {type: rasa_ext.nlg.CatalogueNLG}``;
    an optional ``locales:`` key there points to another locale directory.
    """

    def __init__(self, endpoint_config: EndpointConfig, domain: Domain) -> None:
        super().__init__(domain.responses)
        locales = (endpoint_config.kwargs or {}).get("locales") if endpoint_config else None
        self.catalogue: Catalogue = (
            Catalogue.load(Path(locales)) if locales else default_catalogue()
        )

    async def generate(
        self,
        utter_action: str,
        tracker: DialogueStateTracker,
        output_channel: str,
        **kwargs: Any,
    ) -> dict[str, Any] | None:
        """Return the message for ``utter_action`` in the conversation's language.

        An action may pass ``language=`` itself: the slot-mapping action decides
        the language and speaks in the same turn, before its SlotSet applies.
        """
        slots = tracker.current_slot_values()
        variation = self._random_response_for(utter_action, output_channel, slots)
        if variation is None:
            return None
        values = {**slots, **kwargs}
        language = kwargs.get(LANGUAGE_SLOT) or slots.get(LANGUAGE_SLOT)
        return self.catalogue.render(variation, language, values)
