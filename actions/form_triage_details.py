"""validate_triage_details_form: the clarifying questions of a triage, as a Rasa form.

The core decides what to ask: the required slots are the details (bot.triage.conversation.DETAILS) that
`ClinicService.assess` says could still change the advice, asked again after every answer. Each answer is read by
`parse_detail`; one that cannot be used is explained and the question asked again. A message that brings a new
red flag or an emergency ends the form at once, and action_triage (rule: form ended) answers it with everything
known. Only the answer to the question asked is read as that answer; anything else the message says is triaged.
A message that answers nothing but brings a new concern ("also my skin is peeling a lot") is not asked again: the
question is skipped and the concern joins the report.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from actions import constants as c
from actions.triage_input import assess_latest, detail_slots_to_fill, one_call, pending_json
from bot.triage.conversation import SKIPPED, parse_detail, report_from_json


class ValidateTriageDetailsForm(FormValidationAction):
    def name(self) -> Text:
        return c.ACTION_VALIDATE_TRIAGE_DETAILS

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        with one_call():
            return await self._validate(dispatcher, tracker, domain)

    async def _validate(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        requested = tracker.get_slot(c.SLOT_REQUESTED)
        detail = c.SLOT_DETAILS.get(requested)
        if detail and assess_latest(tracker, leave_out=detail).decision.level.escalates:
            # Something urgent beyond the answer: stop asking, action_triage answers now.
            return [SlotSet(requested, None), SlotSet(c.SLOT_REQUESTED, None)]
        events = await super().run(dispatcher, tracker, domain)
        if any(e.get("name") in c.SLOT_DETAILS and e.get("value") is not None for e in events):
            # Keep what the answer said besides the value ("about 5, and it's spreading now"): action_triage
            # only sees the last message.
            events.append(SlotSet(c.SLOT_PENDING_REPORT, pending_json(tracker, assess_latest(tracker).report)))
        return events

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Text]:
        return detail_slots_to_fill(tracker, assess_latest(tracker))

    @staticmethod
    def _answer(detail: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[Text, Any]:
        parsed = parse_detail(detail, value)
        if parsed is None and _brings_a_new_concern(tracker, detail):
            parsed = SKIPPED  # heard: the concern joins the report (run() keeps it), the question is not repeated
        elif parsed is None:
            dispatcher.utter_message(response=c.UTTER_INVALID_DETAIL[detail])
        return {c.DETAIL_SLOTS[detail]: parsed}

    async def validate_detail_hours_since_treatment(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        return self._answer("hours_since_treatment", value, dispatcher, tracker)

    async def validate_detail_pain_score(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        return self._answer("pain_score", value, dispatcher, tracker)

    async def validate_detail_trend(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        return self._answer("trend", value, dispatcher, tracker)

    async def validate_detail_temperature(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        return self._answer("temperature", value, dispatcher, tracker)


def _brings_a_new_concern(tracker: Tracker, detail: str) -> bool:
    """The latest message names a symptom the patient has that the pending report does not have yet."""
    pending = report_from_json(tracker.get_slot(c.SLOT_PENDING_REPORT))
    known = {f.symptom for f in pending.findings if f.current} if pending else set()
    latest = assess_latest(tracker, leave_out=detail).report
    return any(f.current and f.symptom not in known for f in latest.findings)
