"""action_triage: every symptom report and emergency ends here, and so does the triage details form.

Reads the latest message's entities (negation included), the pending report and the form's answers, and asks
the core. A new report whose advice could change with a detail we do not know (time since treatment, pain score,
trend, measured temperature) opens the triage details form; everything else, and a report coming back from the
form (completed, stopped, or left for something urgent), gets the advice for its level. Escalation is recorded
through the service (outbox): this action never talks to Telegram. When the form ends on a patient's message, its
validation action gives this answer (`triage`) in its own call and logs it as this action's run.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import constants as c
from actions.service import get_service
from actions.triage_input import (
    assess_latest,
    detail_slots_to_fill,
    one_call,
    only_changes,
    pending_json,
    routed_question_answer,
    words_so_far,
)
from bot.triage.advice import PRACTITIONER_ALERTED, response_name
from bot.triage.model import Level

logger = logging.getLogger(__name__)


class ActionTriage(Action):
    def name(self) -> Text:
        return c.ACTION_TRIAGE

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        with one_call():
            return await triage(dispatcher, tracker)


async def triage(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[Text, Any]]:
    """action_triage's answer to the tracker as it stands; the details form's validation action gives it itself on
    the message that ends the form (within its own one_call)."""
    return only_changes(tracker, await _triage(dispatcher, tracker))


async def _triage(dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[Text, Any]]:
    message = tracker.latest_message or {}
    from_form = tracker.get_slot(c.SLOT_PENDING_REPORT) is not None
    outcome = assess_latest(tracker)
    events: List[Dict[Text, Any]] = []
    if outcome.report.hours_since_treatment is not None and outcome.patient_id is None:
        events.append(SlotSet(c.SLOT_TREATMENT_HOURS, outcome.report.hours_since_treatment))

    decision = outcome.decision
    answer = None if decision.level.escalates else routed_question_answer(message)
    if answer:
        # A question that mentions a symptom: answered, and triaged as well. Not when it escalates: then the
        # urgent advice must stand alone.
        dispatcher.utter_message(response=answer)
    if decision.level is Level.NONE and not outcome.report.findings:
        if outcome.report.unexplained_concern:
            # Reads like a report but we recognised no symptom: one question in plain words, never a guess.
            dispatcher.utter_message(response=c.UTTER_DESCRIBE)
            return events
        return events + ([] if answer else _nothing_to_triage(dispatcher, message))

    # Open the details form and ask its first question here, with the events the form's first run would log
    # (Rasa puts the question's bot message before them): that run only asked the validation action which
    # question comes first, which is this same core answer (detail_slots_to_fill), at the price of a second
    # call to the action server on the turn. The form reads the answer, and asks the rest, from the patient's
    # next message on. Nothing left unanswered to ask: the advice now, as the form would have ended at once.
    opens_form = not from_form and not outcome.final
    unanswered = (
        [s for s in detail_slots_to_fill(tracker, outcome) if tracker.get_slot(s) is None] if opens_form else []
    )
    if unanswered:
        first = unanswered[0]
        dispatcher.utter_message(response=c.UTTER_ASK_DETAIL[first])
        return events + [
            SlotSet(c.SLOT_PENDING_REPORT, pending_json(tracker, outcome.report)),
            ActiveLoop(c.FORM_TRIAGE_DETAILS),
            ActionExecuted(c.FORM_TRIAGE_DETAILS),
            SlotSet(c.SLOT_REQUESTED, first),
        ]

    advice = list(decision.advice)
    try:
        recorded = get_service().record(replace(outcome, text=" / ".join(words_so_far(tracker))), source="rasa")
        recorded_id = recorded.report_id
        if recorded.nobody_to_alert:
            # Never say "I've alerted them" when there was nobody to alert: the patient must call.
            dispatcher.utter_message(response=c.UTTER_NOBODY_TO_ALERT)
            advice = [key for key in advice if key != PRACTITIONER_ALERTED]
    except Exception as error:  # the database is down or locked: the patient still gets the advice
        logger.error("triage report could not be recorded (level=%s): %s", decision.level.value, type(error).__name__)
        recorded_id = None
        dispatcher.utter_message(response=c.UTTER_RECORD_FAILED)
    for key in advice:
        dispatcher.utter_message(response=response_name(key))
    logger.info("triage level=%s criteria=%s report=%s", decision.level.value, ",".join(decision.criteria), recorded_id)
    return (
        events
        + [SlotSet(c.SLOT_TRIAGE_LEVEL, decision.level.value), SlotSet(c.SLOT_PENDING_REPORT, None)]
        + [SlotSet(slot, None) for slot in c.DETAIL_SLOTS.values()]
    )


def _nothing_to_triage(dispatcher: CollectingDispatcher, message: Dict[str, Any]) -> List[Dict[Text, Any]]:
    intent = (message.get("intent") or {}).get("name")
    if intent in (c.INTENT_REPORT_SYMPTOM, c.INTENT_EMERGENCY):
        # The patient says something is wrong but we recognised no symptom: ask in plain words, never guess.
        dispatcher.utter_message(response=c.UTTER_DESCRIBE)
    elif intent == c.INTENT_INFORM:
        dispatcher.utter_message(response=c.UTTER_NOTED)
    else:
        dispatcher.utter_message(response=c.UTTER_HOW_CAN_HELP)
    return []
