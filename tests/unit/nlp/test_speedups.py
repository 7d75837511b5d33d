"""The action-response check Rasa runs on every action call: same verdict and same error as Rasa's own."""

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction

import bot.rasa_nlu.components  # noqa: F401  (applies the cut, as Rasa's model loading does)
from bot.rasa_nlu import speedups

SPEC = RemoteAction.action_response_format_spec()

VALID = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "pending_report", "value": {"a": 1}}], "responses": [{"text": "hi"}]},
    {"events": [{"event": "active_loop", "name": None}, {"event": "followup", "name": "action_x"}]},
]
INVALID = [
    {"events": [{"event": "slot"}]},  # a slot event needs a name
    {"events": "not a list"},
    {"events": [{"event": "no_such_event"}]},
]


def test_rasa_uses_the_cached_check() -> None:
    assert RemoteAction._validate_action_result is speedups._validate_action_result


@pytest.mark.parametrize("result", VALID)
def test_what_rasa_accepts_is_accepted(result) -> None:
    jsonschema.validate(result, SPEC)  # Rasa's own check accepts it
    assert RemoteAction._validate_action_result(RemoteAction("action_x", None), result) is True


@pytest.mark.parametrize("result", INVALID)
def test_what_rasa_refuses_is_refused_with_the_same_error(result) -> None:
    with pytest.raises(jsonschema.ValidationError) as theirs:
        jsonschema.validate(result, SPEC)
    with pytest.raises(jsonschema.ValidationError) as ours:
        RemoteAction._validate_action_result(RemoteAction("action_x", None), result)
    assert ours.value.message.startswith(theirs.value.message)
    assert "Failed to validate Action server response" in ours.value.message
