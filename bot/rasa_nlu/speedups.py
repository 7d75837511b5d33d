"""Two cuts in Rasa's own work per message, applied when Rasa loads our components (bot.rasa_nlu.components).

1. Rasa 3.6 checks every answer of the action server with `jsonschema.validate(result, schema)`. That call first
checks the schema itself against JSON Schema's meta-schema and builds a new validator, every time: 56 ms of CPU
per action call here, 43 % of the Rasa worker's CPU for a red flag (`make profile`). The same schema checked by
one validator built once gives the same verdict, and the same error, in about 6 ms.

2. Every event Rasa reads back (the tracker from the tracker store on every message, the action server's answer)
finds its class with `Event.resolve_by_type`, which walks the whole Event class tree, with an `inspect.isabstract`
per class, for each event: 4-11 % of the worker's CPU per message (`make profile`), more the longer the
conversation. The same first match, looked up in a table built from the same walk, is kept until a name is not
found (then the walk is made again, so a class defined later is still found).
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any, Dict, Optional, Text, Type

_APPLIED = False


@lru_cache(maxsize=1)
def _validator() -> Any:
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)  # once, as jsonschema.validate does on every call
    return cls(schema)


def _validate_action_result(self: Any, result: Dict[Text, Any]) -> bool:
    """RemoteAction._validate_action_result with a validator built once (same schema, same errors)."""
    from jsonschema.exceptions import best_match
    from rasa.shared.constants import DOCS_BASE_URL

    error = best_match(_validator().iter_errors(result))
    if error is not None:
        error.message += (
            ". Failed to validate Action server response from API, make sure your response from the Action "
            f"endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


_EVENT_CLASSES: Dict[Text, Any] = {}


def _resolve_event_type(type_name: Text, default: Optional[Type[Any]] = None) -> Optional[Type[Any]]:
    """Event.resolve_by_type from a table: the first class of Rasa's walk with that type name."""
    found = _EVENT_CLASSES.get(type_name)
    if found is None:
        from rasa.shared.core.events import Event
        from rasa.shared.utils.common import all_subclasses

        table: Dict[Text, Any] = {}
        for cls in all_subclasses(Event):
            table.setdefault(cls.type_name, cls)
        _EVENT_CLASSES.clear()
        _EVENT_CLASSES.update(table)
        found = table.get(type_name)
    if found is not None:
        return found
    if type_name == "topic":
        return None  # as Rasa: old TopicSet events are skipped
    if default is not None:
        return default
    raise ValueError(f"Unknown event name '{type_name}'.")


def apply() -> None:
    """Idempotent: Rasa may load the components more than once. Only on Rasa 3.6, the code they replace."""
    global _APPLIED
    if _APPLIED:
        return
    import rasa
    from rasa.core.actions.action import RemoteAction

    if not rasa.__version__.startswith("3.6."):
        # Written against Rasa 3.6's RemoteAction; another version may check differently: leave it alone.
        logging.getLogger(__name__).warning("Rasa %s: the speed-ups are not applied", rasa.__version__)
        return
    from rasa.shared.core.events import Event

    RemoteAction._validate_action_result = _validate_action_result
    Event.resolve_by_type = staticmethod(_resolve_event_type)
    _APPLIED = True
