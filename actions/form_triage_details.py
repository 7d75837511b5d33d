"""validate_triage_details_form: the clarifying questions of a triage, as a Rasa form.

The core decides what to ask: the required slots are the details (bot.triage.conversation.DETAILS) that
`ClinicService.assess` says could still change the advice, asked again after every answer. Each answer is read by
`parse_detail`; one that cannot be used is explained and the question asked again. A message that brings a new
red flag or an emergency ends the form at once. Whichever way the form ends on a message (last answer, or
something urgent), action_triage's answer with everything known comes in this same call (data/rules: form ended ->
action_triage, logged as that action's run). Only the answer to the question asked is read as that answer;
anything else the message says is triaged.
A message that answers nothing but brings a new concern ("also my skin is peeling a lot") is not asked again: the
question is skipped and the concern joins the report.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from actions import constants as c
from actions.action_triage import triage
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
            # Something urgent beyond the answer: stop asking and answer now.
            return await _end_with_triage(
                dispatcher, tracker, [SlotSet(requested, None), SlotSet(c.SLOT_REQUESTED, None)]
            )
        events = await super().run(dispatcher, tracker, domain)
        if any(e.get("name") in c.SLOT_DETAILS and e.get("value") is not None for e in events):
            # Keep what the answer said besides the value ("about 5, and it's spreading now"): the triage reads
            # only the last message.
            events.append(SlotSet(c.SLOT_PENDING_REPORT, pending_json(tracker, assess_latest(tracker).report)))
        asked_next = [e for e in events if e.get("event") == "slot" and e.get("name") == c.SLOT_REQUESTED]
        if asked_next and asked_next[-1].get("value") is None:
            return await _end_with_triage(dispatcher, tracker, events)
        return events

    async def next_requested_slot(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        """Always says what comes next (None: the form ends here). rasa_sdk's says nothing when the required slots
        happen to be all of the form's, in its order (all four details answered), and Rasa then ends the form
        itself, after this call: action_triage would need a call of its own."""
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        return SlotSet(c.SLOT_REQUESTED, next((slot for slot in required if tracker.slots.get(slot) is None), None))

    def domain_slots(self, domain: Dict[Text, Any]) -> List[Text]:
        """All the form may ask (domain.yml's required_slots for it), from the constants: Rasa does not send this
        action the domain (~33 KB of JSON on every answer), and rasa_sdk reads the form's slots only from here."""
        return list(c.DETAIL_SLOTS.values())

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


async def _end_with_triage(
    dispatcher: CollectingDispatcher, tracker: Tracker, events: List[Dict[Text, Any]]
) -> List[Dict[Text, Any]]:
    """The form ends on this message (`events` set requested_slot to None): its events, then action_triage's answer
    with everything known, logged as that action's run where the rule (form ended -> action_triage) puts it. Rasa
    then listens: one call to the action server for the message instead of two (make bench: such answers were
    among the slowest 5 % of replies)."""
    ended = [*events, ActiveLoop(None), ActionExecuted(c.ACTION_TRIAGE)]
    tracker.add_slots(ended)  # the triage reads the slots as the form leaves them (this call's own tracker)
    return ended + await triage(dispatcher, tracker)


def _brings_a_new_concern(tracker: Tracker, detail: str) -> bool:
    """The latest message names a symptom the patient has that the pending report does not have yet."""
    pending = report_from_json(tracker.get_slot(c.SLOT_PENDING_REPORT))
    known = {f.symptom for f in pending.findings if f.current} if pending else set()
    latest = assess_latest(tracker, leave_out=detail).report
    return any(f.current and f.symptom not in known for f in latest.findings)
