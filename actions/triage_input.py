"""What the triage actions read from a tracker: the latest message, the pending report and the answers to the
clarifying questions, handed to the service in one call. Shared by action_triage and the details form's
validation action so that both ask the core the same question."""

from __future__ import annotations

import json
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Tuple

from rasa_sdk import Tracker

from actions import constants as c
from actions.service import get_service
from bot.triage.conversation import parse_detail, report_from_json, report_to_json
from bot.triage.model import PatientContext, Report
from bot.usecases.triage import Outcome, intent_confidence, intent_name, patient_id_from_sender

# Key of the pending report's JSON that keeps the patient's words of this triage, so the practitioner's record
# reads "it's a bit sore / now there's pus coming out", not only the last answer.
SAID = "said"


@dataclass
class _Call:
    """What the current action call has asked already. A form's validation asks the core the same question up to
    four times per message (run, required_slots, the slot's validation, the pending report), and two or three
    different ones (the answer left out, then in), each reading the patient's record from the database: make
    profile counted them. Within one call the record cannot change (the triage records last, after its
    assessment, whether action_triage or the form's validation runs it), so the same question gets the same
    answer, and the record is read once."""

    assessments: Dict[str, Outcome] = field(default_factory=dict)
    records: Dict[Tuple[Optional[str], PatientContext], Tuple[Optional[int], PatientContext]] = field(
        default_factory=dict
    )


_THIS_CALL: ContextVar[Optional[_Call]] = ContextVar("asked_this_call", default=None)


@contextmanager
def one_call() -> Iterator[None]:
    """Around an action's run: each distinct assessment is made, and the patient's record read, once (the context
    is the request's own task)."""
    token = _THIS_CALL.set(_Call())
    try:
        yield
    finally:
        _THIS_CALL.reset(token)


def detail_answers(tracker: Tracker, leave_out: Optional[str] = None) -> Dict[str, Any]:
    """detail -> parsed answer (a value or SKIPPED) for every form slot holding a usable answer."""
    answers = {}
    for detail, slot in c.DETAIL_SLOTS.items():
        value = parse_detail(detail, tracker.get_slot(slot))
        if detail != leave_out and value is not None:
            answers[detail] = value
    return answers


def assess_latest(tracker: Tracker, leave_out: Optional[str] = None) -> Outcome:
    """The core's view of the latest message on top of the pending report and the answers so far.

    `leave_out` names the detail the latest message is answering: its value is then ignored (both in the
    message and in the slot), to tell whether the message says something more than its answer.
    """
    message = tracker.latest_message or {}
    fallback = PatientContext(
        hours_since_treatment=tracker.get_slot(c.SLOT_TREATMENT_HOURS),
        method=tracker.get_slot(c.SLOT_TREATMENT_METHOD),
        area=tracker.get_slot(c.SLOT_TREATMENT_AREA),
    )
    question = dict(
        sender_id=tracker.sender_id,
        text=message.get("text") or "",
        entities=message.get("entities") or [],
        intent_confidence=intent_confidence(message),
        pending=tracker.get_slot(c.SLOT_PENDING_REPORT),
        answers=detail_answers(tracker, leave_out),
        leave_out=leave_out,
        fallback_context=fallback,
        intent=intent_name(message),
    )
    call = _THIS_CALL.get()
    key = json.dumps(question, sort_keys=True, default=repr)
    if call is not None and key in call.assessments:
        return call.assessments[key]
    service = get_service()
    record = _patient_record(call, service, tracker.sender_id, fallback)
    outcome = service.assess(**{**question, "pending": report_from_json(question["pending"])}, known_record=record)
    if call is not None:
        call.assessments[key] = outcome
    return outcome


def _patient_record(
    call: Optional[_Call], service: Any, sender_id: Optional[str], fallback: PatientContext
) -> Tuple[Optional[int], PatientContext]:
    """(treatment_id, context) of the patient, read from the database once per action call."""
    key = (sender_id, fallback)
    if call is not None and key in call.records:
        return call.records[key]
    record = service.context_for(patient_id_from_sender(sender_id), fallback)
    if call is not None:
        call.records[key] = record
    return record


def detail_slots_to_fill(tracker: Tracker, outcome: Outcome) -> List[str]:
    """The details form's required slots: those answered so far, then those the core still asks for, in order."""
    answered = [slot for slot in c.DETAIL_SLOTS.values() if tracker.get_slot(slot) is not None]
    still_open = [c.DETAIL_SLOTS[d] for d in outcome.to_ask if c.DETAIL_SLOTS[d] not in answered]
    return answered + still_open


def words_so_far(tracker: Tracker) -> List[str]:
    """The patient's messages of this triage, the latest included (a button's payload is left out)."""
    said = list((tracker.get_slot(c.SLOT_PENDING_REPORT) or {}).get(SAID, []))
    text = ((tracker.latest_message or {}).get("text") or "").strip()
    if text and not text.startswith("/") and (not said or said[-1] != text):
        said.append(text)
    return said


def pending_json(tracker: Tracker, report: Report) -> Dict[str, Any]:
    """The pending report slot's value: the report so far and the words it came from."""
    return {**report_to_json(report), SAID: words_so_far(tracker)}


def routed_question_answer(latest_message: Dict[str, Any]) -> Optional[str]:
    """The aftercare answer (utter_ask_aftercare/<topic>) for a question the SafetyRouter sent to triage.

    "What can I take for the soreness?" mentions a symptom, so it is triaged (safety first); but it is also a
    question, and the patient should get its answer as well. None when DIET did not read it as a question."""
    if (latest_message.get("safety_override") or {}).get("from") != c.INTENT_ASK_AFTERCARE:
        return None
    selected = ((latest_message.get("response_selector") or {}).get(c.INTENT_ASK_AFTERCARE) or {}).get("response")
    return (selected or {}).get("utter_action") or None


def only_changes(tracker: Tracker, events: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The events without the slot sets that set a slot to the value it already has.

    Every event is stored, replayed on every later turn and sent to the action server with the tracker: six
    "clear the form's slots" events on every triage made trackers grow three times faster than they need to
    (make profile: tracker store, in-memory events and the action server's request parsing). Other events pass."""
    return [e for e in events if e.get("event") != "slot" or tracker.get_slot(e.get("name")) != e.get("value")]
