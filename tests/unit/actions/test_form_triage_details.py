"""The triage details form: which questions the core makes it ask, how each answer is read (and re-asked when it
cannot be used), and leaving the form for something urgent or on "stop"."""

from unittest.mock import patch

import pytest
from rasa_sdk.events import ActionExecuted, ActiveLoop
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions.form_triage_details import ValidateTriageDetailsForm
from bot.store.models import Escalation, SymptomReport
from bot.store.uow import UnitOfWork
from bot.triage.conversation import SKIPPED
from tests.unit.actions.conftest import DOMAIN, FORM, responses, slot_events


def count(factory, model):
    with UnitOfWork(factory) as uow:
        return uow.session.execute(select(func.count()).select_from(model)).scalar_one()


# --- which questions ---------------------------------------------------------------------------------------------


async def test_a_report_that_needs_details_opens_the_form_without_advice_yet(clinic, conversation):
    chat = conversation(clinic["sender"])
    said = await chat.say("it's a bit sore")
    assert said == ["utter_ask_detail_pain_score"]  # the form's first question, nothing else
    assert any(e["event"] == "active_loop" and e["name"] == FORM for e in chat.events)
    assert chat.slots["pending_report"]["findings"][0]["symptom"] == "pain"
    assert count(clinic["factory"], SymptomReport) == 0  # recorded once, with the answers


async def test_time_since_treatment_is_asked_only_without_a_treatment_record(clinic, conversation):
    unlinked = conversation()
    assert await unlinked.say("my face is quite swollen") == ["utter_ask_detail_hours_since_treatment"]
    linked = conversation(clinic["sender"])  # treated 30 h ago according to the record
    assert await linked.say("my face is quite swollen") == ["utter_ask_detail_trend"]


async def test_warmth_without_a_number_asks_for_a_measured_temperature(clinic, conversation):
    chat = conversation(clinic["sender"])
    assert await chat.say("my cheeks feel hot") == ["utter_ask_detail_trend"]
    assert await chat.say("about the same", intent="inform") == ["utter_ask_detail_temperature"]


async def test_a_fever_is_escalated_at_once_not_asked_about(clinic, conversation):
    chat = conversation(clinic["sender"])
    said = await chat.say("I feel hot and shivery")
    assert said[0] == "utter_advice_practitioner_alerted"
    assert not chat.form_active and count(clinic["factory"], Escalation) == 1


async def test_required_slots_are_what_the_core_still_needs(clinic, make_tracker):
    action, dispatcher = ValidateTriageDetailsForm(), CollectingDispatcher()
    pending = {"findings": [{"symptom": "pain", "text": "sore"}]}
    tracker = make_tracker(
        "it's a bit sore", sender=clinic["sender"], slots={"pending_report": pending}, active_loop=FORM
    )
    domain_slots = DOMAIN["forms"][FORM]["required_slots"]
    assert await action.required_slots(domain_slots, dispatcher, tracker, DOMAIN) == [
        "detail_pain_score",
        "detail_trend",
    ]
    # a score of 2 settles the pain; better-or-worse still matters after 24 h
    answered = make_tracker(
        "2",
        intent="inform",
        sender=clinic["sender"],
        slots={"pending_report": pending, "detail_pain_score": 2},
        active_loop=FORM,
    )
    assert await action.required_slots(domain_slots, dispatcher, answered, DOMAIN) == [
        "detail_pain_score",
        "detail_trend",
    ]
    worse = make_tracker(
        "worse",
        intent="inform",
        sender=clinic["sender"],
        active_loop=FORM,
        slots={"pending_report": pending, "detail_pain_score": 2, "detail_trend": "worsening"},
    )
    assert await action.required_slots(domain_slots, dispatcher, worse, DOMAIN) == [
        "detail_pain_score",
        "detail_trend",
    ]  # both answered, nothing more to ask


# --- each answer: read, or explained and asked again ---------------------------------------------------------------


async def answer(make_tracker, clinic, slot, text, pending_text="it's a bit sore", pending_symptom="pain"):
    """What the validation action said and set after the patient answered `text` to the question for `slot`.

    When the answer ends the form, the action goes on to action_triage's answer in the same call: that part is
    left out here (replaced by a marker) so these tests see how the answer itself was read; the whole-form tests
    below run both."""
    pending = {"findings": [{"symptom": pending_symptom, "text": pending_text}]}
    tracker = make_tracker(
        text,
        intent="inform",
        sender=clinic["sender"],
        active_loop=FORM,
        slots={"pending_report": pending, "requested_slot": slot, slot: text},
        events=[{"event": "slot", "name": slot, "value": text}],
    )
    dispatcher = CollectingDispatcher()

    async def triage_marker(dispatcher, tracker):
        return [{"event": "triaged"}]

    with patch("actions.form_triage_details.triage", triage_marker):
        events = await ValidateTriageDetailsForm().run(dispatcher, tracker, DOMAIN)
    return responses(dispatcher), slot_events(events)


@pytest.mark.parametrize("text, value", [("about a 6", 6), ("3", 3), ("8 out of 10", 8), ("zero", 0)])
async def test_pain_score_answers(clinic, make_tracker, text, value):
    said, slots = await answer(make_tracker, clinic, "detail_pain_score", text)
    assert said == [] and slots["detail_pain_score"] == value


@pytest.mark.parametrize("text", ["eleven", "-3", "lots", "15/10"])
async def test_pain_score_out_of_range_or_without_a_number_is_asked_again(clinic, make_tracker, text):
    said, slots = await answer(make_tracker, clinic, "detail_pain_score", text)
    assert said == ["utter_invalid_detail_pain_score"]
    assert slots["detail_pain_score"] is None and slots["requested_slot"] == "detail_pain_score"


@pytest.mark.parametrize(
    "text, value",
    [
        ("38.4", 38.4),
        ("101F", 38.3),
        ("37,2 degrees", 37.2),
        ("I didn't measure it", SKIPPED),
        ("not measured", SKIPPED),
    ],
)
async def test_temperature_answers(clinic, make_tracker, text, value):
    said, slots = await answer(make_tracker, clinic, "detail_temperature", text)
    assert said == [] and slots["detail_temperature"] == value


@pytest.mark.parametrize("text", ["50 °C", "hot", "very high"])
async def test_temperature_that_is_no_body_temperature_is_asked_again(clinic, make_tracker, text):
    # The thermometer question follows warmth, so "hot" repeats what the patient said: no new concern.
    said, slots = await answer(
        make_tracker, clinic, "detail_temperature", text, pending_text="feels warm", pending_symptom="warmth"
    )
    assert said == ["utter_invalid_detail_temperature"] and slots["detail_temperature"] is None


async def test_a_new_concern_instead_of_an_answer_is_heard_not_asked_again(clinic, make_tracker):
    said, slots = await answer(make_tracker, clinic, "detail_pain_score", "also my skin is a bit itchy now")
    assert "utter_invalid_detail_pain_score" not in said
    assert slots["detail_pain_score"] == SKIPPED
    kept = {f["symptom"] for f in slots["pending_report"]["findings"]}
    assert {"pain", "itching"} <= kept  # the new concern joins the report that action_triage answers


@pytest.mark.parametrize("text, value", [("2 days ago", 48.0), ("yesterday", 24.0), ("3", 72.0)])
async def test_time_since_treatment_answers(make_tracker, clinic, text, value):
    said, slots = await answer(make_tracker, {"sender": "default"}, "detail_hours_since_treatment", text)
    assert said == [] and slots["detail_hours_since_treatment"] == value


async def test_time_since_treatment_on_a_weekday_counts_back(make_tracker, clinic):
    said, slots = await answer(make_tracker, {"sender": "default"}, "detail_hours_since_treatment", "on monday")
    assert said == [] and 24.0 <= slots["detail_hours_since_treatment"] <= 168.0


async def test_time_since_treatment_not_understood_is_asked_again(make_tracker, clinic):
    said, slots = await answer(make_tracker, {"sender": "default"}, "detail_hours_since_treatment", "ages")
    assert said == ["utter_invalid_detail_hours_since_treatment"]


@pytest.mark.parametrize(
    "text, value",
    [
        ("worse", "worsening"),
        ("getting better", "improving"),
        ("about the same", "persisting"),
        ("worsening", "worsening"),
        ("not worse", "persisting"),
    ],
)
async def test_trend_answers(clinic, make_tracker, text, value):
    said, slots = await answer(make_tracker, clinic, "detail_trend", text)
    assert said == [] and slots["detail_trend"] == value


async def test_trend_not_understood_is_asked_again(clinic, make_tracker):
    said, slots = await answer(make_tracker, clinic, "detail_trend", "purple")
    assert said == ["utter_invalid_detail_trend"] and slots["detail_trend"] is None


# --- whole form runs -----------------------------------------------------------------------------------------------


async def test_happy_path_asks_each_detail_then_gives_the_advice_once(clinic, conversation):
    chat = conversation()  # no treatment record: time, pain and trend may all matter
    assert await chat.say("it's a bit sore") == ["utter_ask_detail_hours_since_treatment"]
    assert await chat.say("yesterday", intent="inform") == ["utter_ask_detail_pain_score"]
    assert await chat.say("lots", intent="inform") == ["utter_invalid_detail_pain_score", "utter_ask_detail_pain_score"]
    assert await chat.say("about a 3", intent="inform") == ["utter_ask_detail_trend"]
    said = await chat.say("getting better", intent="inform")
    assert said and all(name.startswith("utter_advice_") for name in said)
    assert "utter_advice_practitioner_alerted" not in said
    assert chat.slots["triage_level"] == "normal" and chat.slots["pending_report"] is None
    assert all(chat.slots[f"detail_{d}"] is None for d in ("hours_since_treatment", "pain_score", "trend"))
    assert chat.slots["hours_since_treatment"] == 24.0  # remembered for this unlinked sender
    assert ActionExecuted("action_triage") in chat.events  # answered in the validation's own call


async def test_the_last_of_all_four_answers_is_answered_in_the_same_call(clinic, conversation):
    """With every detail answered the required slots are all of the form's, in order: rasa_sdk would then leave
    the next question to Rasa, which ends the form after the call and calls action_triage separately."""
    chat = conversation()
    asked = [await chat.say("my cheeks feel hot and it is sore")]
    for answer in ("2 days ago", "2", "getting better"):
        asked.append(await chat.say(answer, intent="inform"))
    assert asked == [[f"utter_ask_detail_{d}"] for d in ("hours_since_treatment", "pain_score", "trend", "temperature")]
    events_before = len(chat.events)
    said = await chat.say("36.8", intent="inform")
    assert said and all(name.startswith("utter_advice_") for name in said)
    assert ActionExecuted("action_triage") in chat.events[events_before:]
    assert not chat.form_active and chat.slots["pending_report"] is None


async def test_an_answer_that_escalates_ends_the_form_with_the_urgent_advice(clinic, conversation):
    chat = conversation()
    assert await chat.say("my face is quite swollen") == ["utter_ask_detail_hours_since_treatment"]
    said = await chat.say("5 days ago", intent="inform")  # swelling beyond 72 h is a red flag
    assert said[0] == "utter_advice_practitioner_alerted" and chat.slots["triage_level"] == "urgent"


async def test_an_answer_mentioning_a_symptom_still_fills_the_slot(clinic, conversation):
    chat = conversation(clinic["sender"])
    await chat.say("it's a bit sore")
    said = await chat.say("the pain is about 7", intent="report_symptom")
    assert {"event": "slot", "timestamp": None, "name": "detail_pain_score", "value": 7} in chat.events
    assert said[0] == "utter_advice_practitioner_alerted"  # 7 out of 10 is urgent: no more questions
    assert count(clinic["factory"], Escalation) == 1


async def test_a_new_red_flag_breaks_out_of_the_form_and_is_escalated(clinic, conversation):
    chat = conversation(clinic["sender"])
    await chat.say("it's a bit sore")
    said = await chat.say("now there's pus coming out")
    assert "utter_invalid_detail_pain_score" not in said  # not read as a bad answer
    assert said[0] == "utter_advice_practitioner_alerted"
    assert chat.slots["triage_level"] == "urgent" and not chat.form_active
    assert count(clinic["factory"], Escalation) == 1
    with UnitOfWork(clinic["factory"]) as uow:  # the practitioner reads the whole exchange
        assert uow.session.execute(select(SymptomReport.text)).scalar_one() == (
            "it's a bit sore / now there's pus coming out"
        )


async def test_an_emergency_breaks_out_of_the_form(clinic, conversation):
    chat = conversation(clinic["sender"])
    await chat.say("my cheeks feel hot")
    said = await chat.say("I can't breathe", intent="emergency")
    assert said[0] == "utter_advice_call_emergency" and chat.slots["triage_level"] == "emergency"


async def test_break_out_events_end_the_form_and_drop_the_words_from_the_slot(clinic, make_tracker):
    pending = {"findings": [{"symptom": "pain", "text": "sore"}]}
    text = "now there's pus coming out"
    tracker = make_tracker(
        text,
        sender=clinic["sender"],
        active_loop=FORM,
        slots={"pending_report": pending, "requested_slot": "detail_pain_score", "detail_pain_score": text},
        events=[{"event": "slot", "name": "detail_pain_score", "value": text}],
    )
    dispatcher = CollectingDispatcher()
    events = await ValidateTriageDetailsForm().run(dispatcher, tracker, DOMAIN)
    ended = events[: events.index(ActionExecuted("action_triage"))]
    # The form's own events end it (the words are not a pain score), then action_triage's answer, in this call:
    assert slot_events(ended) == {"detail_pain_score": None, "requested_slot": None}
    assert ended[-1] == ActiveLoop(None)
    assert responses(dispatcher)[0] == "utter_advice_practitioner_alerted"
    assert slot_events(events)["triage_level"] == "urgent"


async def test_stop_leaves_the_form_politely_with_advice_for_what_is_known(clinic, conversation):
    chat = conversation(clinic["sender"])
    await chat.say("it's a bit sore")
    said = await chat.say("never mind", intent="stop")
    assert said[0] == "utter_details_stopped"
    assert len(said) > 1 and all(name.startswith("utter_advice_") for name in said[1:])
    assert chat.slots["pending_report"] is None and count(clinic["factory"], SymptomReport) == 1


async def test_what_an_answer_adds_besides_its_value_is_kept_for_the_decision(clinic, conversation):
    chat = conversation(clinic["sender"])
    assert await chat.say("my cheeks feel hot") == ["utter_ask_detail_trend"]
    # the trend answer also says the needle marks are weeping: urgent, whatever the thermometer says
    said = await chat.say("same, and the needle marks are weeping now", intent="inform")
    assert said[0] == "utter_advice_practitioner_alerted"


# --- cost -------------------------------------------------------------------------------------------------------


def _questions_to_the_core(service, monkeypatch) -> list:
    """Every assessment the service is asked for from now on, as (detail left out, answers)."""
    asked = []
    assess = service.assess

    def counting(*args, **kwargs):
        asked.append((kwargs.get("leave_out"), tuple(sorted((kwargs.get("answers") or {}).items()))))
        return assess(*args, **kwargs)

    monkeypatch.setattr(service, "assess", counting)
    return asked


async def test_each_distinct_question_reaches_the_core_once_per_action_call(clinic, conversation, monkeypatch):
    """The validation action asks the same question from run(), required_slots(), the slot's validation and the
    pending report: each reads the patient's record. Within one call it is asked once; across calls, afresh."""
    asked = _questions_to_the_core(clinic["service"], monkeypatch)
    chat = conversation(clinic["sender"])
    assert await chat.say("it's a bit sore") == ["utter_ask_detail_pain_score"]
    asked.clear()
    await chat.say("about 3", intent="inform")
    assert asked and len(asked) == len(set(asked)), asked  # no question asked twice in one call...
    first_answer_questions = list(asked)
    asked.clear()
    await chat.say("about the same", intent="inform")
    assert set(asked) - set(first_answer_questions)  # ...and the next message is assessed afresh


async def test_the_patients_record_is_read_once_per_action_call(clinic, conversation, monkeypatch):
    """The validation action asks the core two or three different questions about one answer (the answer left
    out, then in); the patient's record (treatment, earlier reports) is read from the database once for all."""
    asked, reads = _questions_to_the_core(clinic["service"], monkeypatch), []
    context_for = clinic["service"].context_for

    def counting_reads(*args, **kwargs):
        reads.append(args)
        return context_for(*args, **kwargs)

    monkeypatch.setattr(clinic["service"], "context_for", counting_reads)
    chat = conversation(clinic["sender"])
    assert await chat.say("it's a bit sore") == ["utter_ask_detail_pain_score"]
    assert len(reads) == 1
    asked.clear()
    reads.clear()
    assert await chat.say("about 3", intent="inform") == ["utter_ask_detail_trend"]  # one validation call
    assert len(set(asked)) >= 2 and len(reads) == 1
    asked.clear()
    reads.clear()
    said = await chat.say("about the same", intent="inform")  # the last answer: validation and triage, one call
    assert said and "utter_ask_detail_trend" not in said
    assert len(reads) == 1


def test_the_forms_slots_the_action_knows_are_the_domains():
    """The validation action is not sent the domain: its list of the form's slots must be domain.yml's."""
    assert ValidateTriageDetailsForm().domain_slots(None) == DOMAIN["forms"][FORM]["required_slots"]
