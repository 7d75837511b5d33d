"""One cut in Rasa's own work per message, applied when Rasa loads our components (bot.rasa_nlu.components).

Rasa 3.6 checks every answer of the action server with `jsonschema.validate(result, schema)`. That call first
checks the schema itself against JSON Schema's meta-schema and builds a new validator, every time: 56 ms of CPU
per action call here, 43 % of the Rasa worker's CPU for a red flag (`make profile`). The same schema checked by
one validator built once gives the same verdict, and the same error, in about 6 ms.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any, Dict, Text

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


def apply() -> None:
    """Idempotent: Rasa may load the components more than once."""
    global _APPLIED
    if _APPLIED:
        return
    import rasa
    from rasa.core.actions.action import RemoteAction

    if not rasa.__version__.startswith("3.6."):
        # Written against Rasa 3.6's RemoteAction; another version may check differently: leave it alone.
        logging.getLogger(__name__).warning("Rasa %s: the action-response speed-up is not applied", rasa.__version__)
        return

    RemoteAction._validate_action_result = _validate_action_result
    _APPLIED = True
