"""Rasa 3.6 hot spots, made cheap without changing what Rasa does.

Measured with cProfile on Lantern turns (see bench/load.py for the figures):

* Rasa checks every action server answer against its response schema with
  ``jsonschema.validate``, which first checks that constant schema against the
  JSON Schema metaschema, every time: 46 ms of CPU per custom action call,
  most of a Lantern turn. Here the same answers are checked against the same
  schema by one validator, built once.
* Loading a tracker turns every stored event's type name into its class by
  walking all Event subclasses (about 30 calls deep) per event. Here the
  classes found are remembered; a name not seen yet still takes Rasa's walk.

``install()`` is called when the Lantern channel starts.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jsonschema import ValidationError, exceptions, validators
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event

_rasa_resolve_by_type = Event.resolve_by_type
_event_classes: dict[str, type[Event]] = {}


@cache
def _response_validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)  # once, not per answer
    return cls(schema)


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    """RemoteAction._validate_action_result with a prebuilt validator; same errors."""
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


def install() -> None:
    """Put the cheap versions in Rasa's place (idempotent)."""
    RemoteAction._validate_action_result = _validate_action_result
    Event.resolve_by_type = staticmethod(_resolve_by_type)
