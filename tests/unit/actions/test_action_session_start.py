"""action_session_start: the disclaimer once per patient, unless the Telegram gateway already gave it."""

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import constants as c
from actions.action_session_start import ActionSessionStart
from tests.unit.actions.conftest import DOMAIN, NoDomain, responses, slot_events


def tracker(slots):
    return Tracker(
        sender_id="patient-1",
        slots=slots,
        latest_message={},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


async def run(slots):
    dispatcher = CollectingDispatcher()
    events = await ActionSessionStart().run(dispatcher, tracker(slots), NoDomain())  # Rasa sends it none
    return responses(dispatcher), events


async def test_first_contact_gets_the_disclaimer_and_the_clinic_details(clinic):
    said, events = await run({})
    assert said == ["utter_disclaimer"]
    assert events[0]["event"] == "session_started" and events[-1]["name"] == "action_listen"
    slots = slot_events(events)
    assert slots["disclaimer_shown"] is True and slots["clinic_phone"] == "0123 456"
    # the placeholders of the advice responses: {callback_minutes} and {clinic_hours} as well
    assert slots["callback_minutes"] == "30" and slots["clinic_hours"] == "Mon–Fri 9:00–18:00"
    assert slots["emergency_number"] == clinic["service"].settings.emergency_number


async def test_disclaimer_is_said_once(clinic):
    said, events = await run({"disclaimer_shown": True})
    assert said == []
    assert slot_events(events)["disclaimer_shown"] is True  # carried over to the new session


async def test_no_second_disclaimer_after_the_gateways(clinic):
    said, events = await run({"session_started_metadata": {"disclaimer_shown": True}})
    assert said == []
    assert slot_events(events)["disclaimer_shown"] is True


async def test_a_half_answered_triage_is_not_carried_into_a_new_session(clinic):
    _, events = await run(
        {
            "disclaimer_shown": True,
            "pending_report": {"findings": []},
            "requested_slot": "detail_trend",
            "detail_pain_score": 3,
            "hours_since_treatment": 24.0,
        }
    )
    slots = slot_events(events)
    assert slots["hours_since_treatment"] == 24.0
    assert not {"pending_report", "requested_slot", "detail_pain_score"} & set(slots)


def test_every_placeholder_of_the_responses_is_a_domain_slot_that_does_not_steer_the_conversation():
    from bot.responses import CLINIC_PLACEHOLDERS

    for name in CLINIC_PLACEHOLDERS:
        slot = DOMAIN["slots"][name]
        assert slot["type"] == "text" and slot["influence_conversation"] is False, name
        assert slot.get("initial_value"), f"{name}: an initial value, in case a session did not set it"


async def test_carries_over_only_what_a_new_session_would_not_have(clinic):
    """Slots still at their initial value and the clinic's details (set afresh) are not carried over: each event
    is stored and read back with every later message of the session."""
    slots = {name: spec.get("initial_value") for name, spec in DOMAIN["slots"].items()}
    slots.update(hours_since_treatment=24.0, clinic_phone="an old number")
    dispatcher = CollectingDispatcher()
    events = await ActionSessionStart().run(dispatcher, tracker(slots), NoDomain())
    set_slots = [event["name"] for event in events if event["event"] == "slot"]
    assert sorted(set_slots) == sorted(
        ["hours_since_treatment", "clinic_phone", "emergency_number", "callback_minutes", "clinic_hours"]
        + ["disclaimer_shown"]  # said now, first contact
    )
    assert slot_events(events)["clinic_phone"] == "0123 456"  # the setting, not the old session's value


def test_the_initial_values_the_action_knows_are_the_domains():
    """action_session_start is not sent the domain: its copy of the slots' initial values must be domain.yml's."""
    in_domain = {name: spec["initial_value"] for name, spec in DOMAIN["slots"].items() if "initial_value" in spec}
    assert c.SLOT_INITIAL_VALUES == in_domain
