"""action_triage with tracker fixtures: the events it returns and the responses it utters."""

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions.action_triage import ActionTriage
from actions.constants import DETAIL_SLOTS
from actions.form_triage_details import ValidateTriageDetailsForm
from actions.triage_input import intent_confidence
from bot.store.models import AlertDelivery, Escalation, SymptomReport
from bot.store.uow import UnitOfWork
from tests.unit.actions.conftest import DOMAIN, FORM, responses, slot_events


async def run(tracker):
    dispatcher = CollectingDispatcher()
    events = await ActionTriage().run(dispatcher, tracker, {})
    return dispatcher, events


def count(factory, model):
    with UnitOfWork(factory) as uow:
        return uow.session.execute(select(func.count()).select_from(model)).scalar_one()


async def test_normal_reaction_for_a_linked_patient_is_reassured_and_recorded(clinic, conversation):
    # 30 h after treatment, redness that is getting worse would be a red flag: the details form asks first.
    chat = conversation(clinic["sender"])
    assert await chat.say("no pus, just a bit red") == ["utter_ask_detail_trend"]
    assert count(clinic["factory"], SymptomReport) == 0

    said = await chat.say("it's getting better", intent="inform")
    assert said and all(name.startswith("utter_advice_") for name in said)
    assert "utter_advice_practitioner_alerted" not in said
    assert chat.slots["triage_level"] == "normal"
    assert count(clinic["factory"], SymptomReport) == 1
    assert count(clinic["factory"], Escalation) == 0


async def test_red_flag_alerts_the_practitioner_through_the_outbox(clinic, make_tracker):
    dispatcher, events = await run(
        make_tracker("there is yellow pus oozing and the redness is spreading", sender=clinic["sender"])
    )
    said = responses(dispatcher)
    assert said[0] == "utter_advice_practitioner_alerted"
    assert slot_events(events)["triage_level"] == "urgent"
    assert count(clinic["factory"], Escalation) == 1
    with UnitOfWork(clinic["factory"]) as uow:
        delivery = uow.session.execute(select(AlertDelivery)).scalar_one()
        assert (delivery.chat_id, delivery.status) == (500, "pending")


async def test_emergency_tells_to_call_emergency_services_first(clinic, make_tracker):
    dispatcher, events = await run(
        make_tracker("my throat is closing and I can't breathe", intent="emergency", sender=clinic["sender"])
    )
    assert responses(dispatcher)[0] == "utter_advice_call_emergency"
    assert slot_events(events)["triage_level"] == "emergency"
    assert count(clinic["factory"], Escalation) == 1


async def test_a_report_needing_details_opens_the_form_and_keeps_the_findings(clinic, make_tracker):
    dispatcher, events = await run(make_tracker("my face is quite swollen"))  # not a linked patient
    assert responses(dispatcher) == ["utter_ask_detail_hours_since_treatment"]  # the form's first question only
    kinds = [(e["event"], e.get("name")) for e in events]
    # The form's first run, logged by the action (Rasa then listens): active, run, asking for the first detail.
    assert kinds[-3:] == [("active_loop", FORM), ("action", FORM), ("slot", "requested_slot")]
    assert slot_events(events)["requested_slot"] == "detail_hours_since_treatment"
    assert slot_events(events)["pending_report"]["findings"][0]["symptom"] == "swelling"


@pytest.mark.parametrize(
    "message, linked",
    [
        ("my face is quite swollen", False),
        ("my face is quite swollen", True),
        ("it's a bit sore", True),
        ("my cheeks feel hot", True),
        ("a bit red and itchy", False),
        ("my skin is flaking a little", True),
    ],
)
async def test_the_first_question_is_the_one_the_forms_validation_would_ask(clinic, make_tracker, message, linked):
    """action_triage asks the first question in place of the form's first run, which asked the validation action
    which slot comes first: the same question, for each kind of detail, with and without a treatment record."""
    sender = clinic["sender"] if linked else "default"
    _, events = await run(make_tracker(message, sender=sender))
    slots = slot_events(events)
    assert slots["requested_slot"] in DETAIL_SLOTS.values()
    del slots["requested_slot"]
    after = make_tracker(message, sender=sender, slots=slots, active_loop=FORM)
    required = await ValidateTriageDetailsForm().required_slots(
        list(DETAIL_SLOTS.values()), CollectingDispatcher(), after, DOMAIN
    )
    assert slot_events(events)["requested_slot"] == next(s for s in required if after.get_slot(s) is None)


async def test_coming_back_from_the_form_decides_with_the_answers_and_clears_them(clinic, make_tracker):
    _, events = await run(make_tracker("my face is quite swollen"))
    slots = {**slot_events(events), "detail_hours_since_treatment": 120.0, "detail_trend": "skipped"}
    dispatcher, events = await run(make_tracker("not sure", intent="inform", slots=slots))
    # swelling beyond a few days is one of the guide's red flags
    assert "utter_advice_practitioner_alerted" in responses(dispatcher)
    after = slot_events(events)
    assert after["triage_level"] == "urgent" and after["pending_report"] is None
    assert after["detail_hours_since_treatment"] is None and after["detail_trend"] is None
    assert after["hours_since_treatment"] == 120.0  # remembered for this unlinked sender
    assert not any(e["event"] == "active_loop" for e in events)


async def test_a_red_flag_is_never_held_back_by_a_question(clinic, make_tracker):
    dispatcher, _ = await run(make_tracker("fever and the needle marks are weeping"))  # time unknown
    assert responses(dispatcher)[0] == "utter_advice_practitioner_alerted"


async def test_low_confidence_message_with_a_red_flag_word_fails_closed(clinic, make_tracker):
    tracker = make_tracker("pus??", intent="nlu_fallback", confidence=0.2, sender=clinic["sender"])
    dispatcher, events = await run(tracker)
    assert slot_events(events)["triage_level"] in ("urgent", "emergency")


async def test_no_symptom_recognised_asks_to_describe(clinic, make_tracker):
    dispatcher, events = await run(make_tracker("something weird is going on with my face"))
    assert responses(dispatcher) == ["utter_ask_describe"]
    assert slot_events(events) == {}


async def test_safety_router_confidence_is_what_counts():
    message = {
        "intent": {"name": "report_symptom", "confidence": 0.3},
        "safety_override": {"from": "greet", "confidence": 0.3},
    }
    assert intent_confidence(message) == pytest.approx(0.3)
    assert intent_confidence({"intent": {"name": "greet", "confidence": 0.9}}) == pytest.approx(0.9)


async def test_confident_emergency_without_a_known_symptom_is_an_emergency(clinic, make_tracker):
    dispatcher, events = await run(
        make_tracker("please help I need an ambulance", intent="emergency", confidence=0.93, sender=clinic["sender"])
    )
    assert responses(dispatcher)[0] == "utter_advice_call_emergency"
    assert slot_events(events)["triage_level"] == "emergency"


async def test_unsure_emergency_without_a_symptom_asks_for_words(clinic, make_tracker):
    dispatcher, _ = await run(make_tracker("help", intent="emergency", confidence=0.4))
    assert responses(dispatcher) == ["utter_ask_describe"]


def _routed_question(tracker, topic: str):
    """What the SafetyRouter leaves for a question DIET read as ask_aftercare but that mentions a symptom."""
    tracker.latest_message["safety_override"] = {"from": "ask_aftercare", "confidence": 0.9}
    tracker.latest_message["response_selector"] = {
        "ask_aftercare": {
            "response": {
                "intent_response_key": f"ask_aftercare/{topic}",
                "utter_action": f"utter_ask_aftercare/{topic}",
            }
        }
    }
    return tracker


async def test_a_question_routed_to_triage_is_answered_and_triaged(clinic, make_tracker):
    tracker = _routed_question(
        make_tracker("is peeling normal, and what should I put on it", sender=clinic["sender"]), "peeling_flaking_care"
    )
    dispatcher, events = await run(tracker)
    said = responses(dispatcher)
    assert said[0] == "utter_ask_aftercare/peeling_flaking_care"
    # ... and triage goes on as for any report: advice for its level, or the details form's questions
    opened_form = any(e.get("event") == "active_loop" for e in events)
    assert opened_form or (said[1:] and all(name.startswith("utter_advice_") for name in said[1:]))


async def test_a_routed_question_that_escalates_gets_only_the_urgent_advice(clinic, make_tracker):
    tracker = _routed_question(
        make_tracker("can I put cream on the pus coming out of the needle marks", sender=clinic["sender"]),
        "moisturiser_hydration",
    )
    dispatcher, _ = await run(tracker)
    said = responses(dispatcher)
    assert said[0] == "utter_advice_practitioner_alerted"
    assert not [name for name in said if name.startswith("utter_ask_aftercare")]


async def test_a_message_diet_did_not_read_as_a_question_gets_no_aftercare_answer(clinic, make_tracker):
    tracker = make_tracker("my skin is peeling", sender=clinic["sender"])
    tracker.latest_message["response_selector"] = {
        "ask_aftercare": {"response": {"utter_action": "utter_ask_aftercare/what_is_normal"}}
    }
    dispatcher, _ = await run(tracker)
    assert not [name for name in responses(dispatcher) if name.startswith("utter_ask_aftercare")]


async def test_a_database_failure_still_answers_with_the_advice_and_the_clinic_phone(clinic, make_tracker, monkeypatch):
    from actions.service import get_service

    def broken_record(*args, **kwargs):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(get_service(), "record", broken_record)
    dispatcher, events = await run(
        make_tracker("there is yellow pus oozing and the redness is spreading", sender=clinic["sender"])
    )
    said = responses(dispatcher)
    assert said[0] == "utter_record_failed"  # call the clinic: the alert may not have been queued
    assert "utter_advice_practitioner_alerted" in said
    assert slot_events(events)["triage_level"] == "urgent"


@pytest.mark.parametrize("text", ["no pus, no fever, no swelling", "I can't see any redness"])
async def test_a_message_whose_findings_are_all_denied_gets_a_reply(clinic, make_tracker, text):
    dispatcher, events = await run(make_tracker(text, sender=clinic["sender"]))
    assert responses(dispatcher) == ["utter_advice_nothing_wrong"]
    assert count(clinic["factory"], Escalation) == 0


async def test_a_what_if_about_a_red_flag_is_answered_without_an_alert(clinic, make_tracker):
    dispatcher, events = await run(make_tracker("what if I get a fever and pus tonight?", sender=clinic["sender"]))
    assert responses(dispatcher) == ["utter_advice_watch_for"]
    assert count(clinic["factory"], Escalation) == 0


async def test_a_report_about_the_eyes_that_names_no_symptom_is_escalated(clinic, make_tracker):
    dispatcher, events = await run(
        make_tracker("something is wrong with my left eye", intent="report_symptom", sender=clinic["sender"])
    )
    assert responses(dispatcher)[0] == "utter_advice_not_understood_escalated"
    assert count(clinic["factory"], Escalation) == 1


async def test_a_report_that_names_no_symptom_gets_one_question(clinic, make_tracker):
    dispatcher, events = await run(
        make_tracker("my cheek feels a bit odd", intent="report_symptom", sender=clinic["sender"])
    )
    assert responses(dispatcher) == ["utter_ask_describe"]
    assert count(clinic["factory"], Escalation) == 0


async def test_with_nobody_to_alert_the_patient_is_not_told_a_practitioner_was_alerted(clinic, make_tracker):
    from sqlalchemy import update

    from bot.store.models import Practitioner

    with UnitOfWork(clinic["factory"]) as uow:  # the only practitioner has left the clinic
        uow.session.execute(update(Practitioner).values(active=False))
        uow.commit()
    dispatcher, events = await run(
        make_tracker("there is yellow pus oozing and the redness is spreading", sender=clinic["sender"])
    )
    said = responses(dispatcher)
    assert said[0] == "utter_nobody_to_alert"
    assert "utter_advice_practitioner_alerted" not in said
    assert count(clinic["factory"], Escalation) == 1 and count(clinic["factory"], AlertDelivery) == 0


async def test_nothing_unanswered_to_ask_gives_the_advice_instead_of_failing(clinic, make_tracker):
    """A stale detail slot holding words the core cannot use (left from an earlier triage) is not an answer, so
    the core still wants that detail, but the form would find nothing unfilled to ask and end at once: the
    patient gets the advice for what is known, not an error."""
    stale = {slot: "whenever" for slot in DETAIL_SLOTS.values()}
    dispatcher, events = await run(make_tracker("my face is quite swollen", slots=stale))
    assert responses(dispatcher) and not any(r.startswith("utter_ask_detail") for r in responses(dispatcher))
    assert not any(e["event"] == "active_loop" for e in events)
    assert slot_events(events)["triage_level"]
