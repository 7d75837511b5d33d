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


def _real_answers():
    """What our actions answer (as the action server sends it): a triage that opens the form, one that ends it."""
    from rasa_sdk.events import ActionExecuted, ActiveLoop, SessionStarted, SlotSet

    return [
        {
            "events": [
                SlotSet("pending_report", {"findings": [{"symptom": "pain"}], "said": ["sore"]}),
                ActiveLoop("triage_details_form"),
                ActionExecuted("triage_details_form"),
                SlotSet("requested_slot", "detail_pain_score"),
            ],
            "responses": [{"response": "utter_ask_detail_pain_score", "text": None, "buttons": [], "custom": {}}],
        },
        {"events": [SessionStarted(), SlotSet("disclaimer_shown", True), ActionExecuted("action_listen")]},
        {
            "events": [SlotSet("requested_slot", None), ActiveLoop(None), ActionExecuted("action_triage")],
            "responses": [{"response": "utter_advice_practitioner_alerted", "attachment": None}],
        },
    ]


MORE_INVALID = [
    {"events": [{"event": "slot", "name": 3, "value": 1}]},  # a name that is no string
    {"events": [{"event": "action", "name": "x", "timestamp": "yesterday"}]},  # the common part fails
    {"events": [{"name": "x"}]},  # no event name
    {"events": [["not", "an", "event"]]},
    {"events": [], "responses": ["not an object"]},
    {"responses": {"text": "not a list"}},
    ["not", "an", "object"],
]


@pytest.mark.parametrize("result", VALID + INVALID + MORE_INVALID + _real_answers())
def test_the_shorter_path_accepts_only_what_rasas_check_accepts(result) -> None:
    try:
        jsonschema.validate(result, SPEC)
        rasa_accepts = True
    except jsonschema.ValidationError:
        rasa_accepts = False
    assert speedups._passes_for_certain(result) is rasa_accepts


def test_every_kind_of_event_has_its_own_branch() -> None:
    from rasa.shared.utils.schemas.events import EVENT_SCHEMA

    assert len(speedups._event_validators()) == len(EVENT_SCHEMA["oneOf"])


def test_rasa_uses_the_cached_check() -> None:
    assert RemoteAction._validate_action_result is speedups._validate_action_result


@pytest.mark.parametrize("result", VALID)
def test_what_rasa_accepts_is_accepted(result) -> None:
    jsonschema.validate(result, SPEC)  # Rasa's own check accepts it
    assert RemoteAction._validate_action_result(RemoteAction("action_x", None), result) is True


@pytest.mark.parametrize("result", INVALID + MORE_INVALID)
def test_what_rasa_refuses_is_refused_with_the_same_error(result) -> None:
    with pytest.raises(jsonschema.ValidationError) as theirs:
        jsonschema.validate(result, SPEC)
    with pytest.raises(jsonschema.ValidationError) as ours:
        RemoteAction._validate_action_result(RemoteAction("action_x", None), result)
    assert ours.value.message.startswith(theirs.value.message)
    assert "Failed to validate Action server response" in ours.value.message


# --- finding an event's class by its name --------------------------------------------------------------------------


def _rasas_own_resolve(type_name, default=None):
    """Rasa 3.6's Event.resolve_by_type, as written there: the walk over every subclass, each time."""
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    for cls in all_subclasses(Event):
        if cls.type_name == type_name:
            return cls
    if type_name == "topic":
        return None
    if default is not None:
        return default
    raise ValueError(f"Unknown event name '{type_name}'.")


def test_rasa_uses_the_table_of_event_classes() -> None:
    from rasa.shared.core.events import Event

    assert Event.resolve_by_type is speedups._resolve_event_type


def test_every_event_name_finds_the_same_class_as_rasas_walk() -> None:
    from rasa.shared.core.events import Event, UserUttered
    from rasa.shared.utils.common import all_subclasses

    names = {cls.type_name for cls in all_subclasses(Event)}
    assert {"user", "slot", "action", "bot", "active_loop", "session_started"} <= names
    for name in names:
        assert Event.resolve_by_type(name) is _rasas_own_resolve(name), name
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("no_such_event", default=UserUttered) is UserUttered
    with pytest.raises(ValueError, match="Unknown event name 'no_such_event'"):
        Event.resolve_by_type("no_such_event")


def test_a_tracker_reads_back_the_same_events() -> None:
    from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered, deserialise_events

    written = [UserUttered("hi", {"name": "greet"}), SlotSet("pending_report", {"a": 1}), ActionExecuted("action_x")]
    assert deserialise_events([e.as_dict() for e in written]) == written


def test_a_class_defined_later_is_found() -> None:
    from rasa.shared.core.events import Event, SessionStarted

    Event.resolve_by_type("slot")  # the table is built

    class LateEvent(SessionStarted):  # defined after the table, as a plugin might
        type_name = "late_event_for_the_test"

    assert Event.resolve_by_type("late_event_for_the_test") is LateEvent
