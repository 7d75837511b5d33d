"""The screening form's validation and submit actions with tracker fixtures: events, responses, records."""

import datetime as dt

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.action_screening import ActionSubmitScreening, ValidateScreeningForm, answers_from
from bot.screening import items
from bot.store.models import AlertDelivery, Screening
from bot.store.uow import UnitOfWork
from bot.usecases import appointments, enrolment
from tests.unit.actions.conftest import responses, slot_events

SLOTS = [items.slot_name(key) for key in items.ITEM_KEYS]
DOMAIN = {
    "forms": {"screening_form": {"required_slots": SLOTS}},
    "slots": {slot: {"type": "text", "mappings": [{"type": "from_text"}]} for slot in SLOTS + ["requested_slot"]},
}


def form_tracker(requested: str, text: str, intent: str, sender: str = "default", slots=None) -> Tracker:
    """The tracker as the form validation action sees it: the text already extracted into the requested slot."""
    values = dict(slots or {}, requested_slot=requested)
    events = [
        {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}},
        {"event": "slot", "name": requested, "value": text},
    ]
    values[requested] = text
    return Tracker(
        sender_id=sender,
        slots=values,
        latest_message={"text": text, "intent": {"name": intent}},
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": "screening_form"},
        latest_action_name="action_listen",
    )


async def validate(tracker):
    dispatcher = CollectingDispatcher()
    events = await ValidateScreeningForm().run(dispatcher, tracker, DOMAIN)
    return dispatcher, events


@pytest.mark.parametrize(
    "text, intent, expected",
    [
        ("/affirm", "affirm", "yes"),
        ("nope", "deny", "no"),
        ("yes on warfarin", "affirm", "yes"),
        ("not sure", "inform", "unsure"),
        ("no idea", "deny", "unsure"),
    ],
)
async def test_each_answer_is_read_into_its_slot(text, intent, expected):
    dispatcher, events = await validate(form_tracker("screening_blood_thinners", text, intent))
    assert slot_events(events)["screening_blood_thinners"] == expected
    assert responses(dispatcher) == []


async def test_a_question_back_is_answered_from_the_guide_and_the_question_asked_again():
    tracker = form_tracker("screening_blood_thinners", "do I have to stop my fish oil?", "ask_aftercare")
    tracker.latest_message["intent"]["full_retrieval_intent_name"] = "ask_aftercare/blood_thinners_supplements"
    dispatcher, events = await validate(tracker)
    assert slot_events(events)["screening_blood_thinners"] is None
    assert responses(dispatcher) == ["utter_ask_aftercare/blood_thinners_supplements"]


async def test_an_on_topic_statement_without_yes_or_no_is_flagged_as_unsure():
    tracker = form_tracker("screening_blood_thinners", "fish oil capsules", "ask_aftercare")
    tracker.latest_message["intent"]["full_retrieval_intent_name"] = "ask_aftercare/blood_thinners_supplements"
    dispatcher, events = await validate(tracker)
    assert slot_events(events)["screening_blood_thinners"] == "unsure"
    assert responses(dispatcher) == []


async def test_an_unclear_answer_is_asked_again_with_help():
    dispatcher, events = await validate(form_tracker("screening_keloid", "what's the weather", "out_of_scope"))
    assert slot_events(events)["screening_keloid"] is None
    assert responses(dispatcher) == ["utter_screening_answer_help"]


def submit_tracker(answers, sender):
    slots = {items.slot_name(key): value for key, value in answers.items()}
    return Tracker(
        sender_id=sender,
        slots=slots,
        latest_message={"text": "no", "intent": {"name": "deny"}},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="screening_form",
    )


async def submit(answers, sender):
    dispatcher = CollectingDispatcher()
    events = await ActionSubmitScreening().run(dispatcher, submit_tracker(answers, sender), {})
    return dispatcher, events


def stored(factory):
    with UnitOfWork(factory) as uow:
        screenings = list(uow.session.execute(select(Screening)).scalars())
        deliveries = list(uow.session.execute(select(AlertDelivery)).scalars())
    return screenings, deliveries


ALL_NO = {key: "no" for key in items.ITEM_KEYS}


async def test_all_no_is_stored_and_the_patient_is_thanked_without_an_alert(clinic):
    dispatcher, events = await submit(ALL_NO, clinic["sender"])
    assert responses(dispatcher) == ["utter_screening_all_clear"]
    assert dispatcher.messages[0]["clinic_phone"] == "0123 456"
    # Every answer slot is cleared, so a later screening asks again.
    assert slot_events(events) == {slot: None for slot in SLOTS}
    screenings, deliveries = stored(clinic["factory"])
    assert [s.flagged for s in screenings] == [[]] and deliveries == []


async def test_a_yes_is_recorded_for_review_and_the_practitioner_alerted(clinic):
    uow = UnitOfWork(clinic["factory"])  # a booked appointment with the same practitioner
    doctor = enrolment.list_practitioners(uow)[0]
    appointments.add_appointment(
        uow,
        clinic["patient_id"],
        dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=5),
        "face",
        "microneedling",
        doctor.id,
    )
    dispatcher, _ = await submit(dict(ALL_NO, blood_thinners="yes", pregnancy="unsure"), clinic["sender"])
    assert responses(dispatcher) == ["utter_screening_review"]
    screenings, deliveries = stored(clinic["factory"])
    assert screenings[0].answers["blood_thinners"] == "yes" and screenings[0].appointment_id is not None
    assert [(d.kind, d.chat_id) for d in deliveries] == [("screening", 500)]


async def test_an_active_infection_or_cold_sore_adds_the_rescheduling_advice(clinic):
    dispatcher, _ = await submit(dict(ALL_NO, cold_sores="yes"), clinic["sender"])
    assert responses(dispatcher) == ["utter_screening_review", "utter_screening_reschedule"]


async def test_an_unlinked_chat_is_told_to_go_through_it_with_the_clinic(clinic):
    dispatcher, _ = await submit(dict(ALL_NO, infection="yes"), "someone-else")
    assert responses(dispatcher) == ["utter_screening_not_recorded", "utter_screening_reschedule"]
    assert stored(clinic["factory"]) == ([], [])


def test_answers_from_ignores_slots_without_a_valid_answer():
    tracker = submit_tracker({"infection": "no", "keloid": "banana"}, "x")
    assert answers_from(tracker) == {"infection": "no"}
