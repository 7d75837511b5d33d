"""The pre-treatment screening form: validate_screening_form reads each answer, action_submit_screening
stores them (the service queues the practitioner's alert when something needs review) and tells the patient
what happens next. No diagnosis: the patient only hears that their practitioner will review.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import constants as c
from actions.service import get_service
from bot.screening import items

DomainDict = Dict[Text, Any]


class ValidateScreeningForm(FormValidationAction):
    def name(self) -> Text:
        return c.VALIDATE_SCREENING_FORM

    def _answer(self, slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker) -> Dict[Text, Any]:
        intent = (tracker.latest_message or {}).get("intent") or {}
        text = value if isinstance(value, str) else None
        answer = items.read_answer(text, intent.get("name"))
        if answer is None and intent.get("name") == c.INTENT_ASK_AFTERCARE:
            if items.is_question(text) and intent.get("full_retrieval_intent_name"):
                # A question back ("must I stop fish oil?"): answer it from the guide; the form asks again.
                dispatcher.utter_message(response=f"utter_{intent['full_retrieval_intent_name']}")
                return {slot: None}
            # A statement on the topic with no clear yes or no ("fish oil daily"): the practitioner looks.
            answer = items.UNSURE
        if answer is None:
            dispatcher.utter_message(response=c.UTTER_SCREENING_ANSWER_HELP)
        return {slot: answer}

    # One method per slot: FormValidationAction looks them up by name.
    def validate_screening_infection(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._answer("screening_infection", value, dispatcher, tracker)

    def validate_screening_isotretinoin(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._answer("screening_isotretinoin", value, dispatcher, tracker)

    def validate_screening_autoimmune_bleeding(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._answer("screening_autoimmune_bleeding", value, dispatcher, tracker)

    def validate_screening_blood_thinners(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._answer("screening_blood_thinners", value, dispatcher, tracker)

    def validate_screening_keloid(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._answer("screening_keloid", value, dispatcher, tracker)

    def validate_screening_pregnancy(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._answer("screening_pregnancy", value, dispatcher, tracker)

    def validate_screening_cold_sores(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._answer("screening_cold_sores", value, dispatcher, tracker)


class ActionSubmitScreening(Action):
    def name(self) -> Text:
        return c.ACTION_SUBMIT_SCREENING

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        service = get_service()
        answers = answers_from(tracker)
        outcome = service.record_screening(tracker.sender_id, answers)
        phone = service.settings.clinic_phone
        if outcome.screening_id is None:
            dispatcher.utter_message(response=c.UTTER_SCREENING_NOT_RECORDED, clinic_phone=phone)
        elif outcome.to_review:
            dispatcher.utter_message(response=c.UTTER_SCREENING_REVIEW)
        else:
            dispatcher.utter_message(response=c.UTTER_SCREENING_ALL_CLEAR, clinic_phone=phone)
        if outcome.reschedule_advice:
            dispatcher.utter_message(response=c.UTTER_SCREENING_RESCHEDULE)
        # Cleared, so asking for the screening again (a new appointment) asks every question again.
        return [SlotSet(items.slot_name(key), None) for key in items.ITEM_KEYS]


def answers_from(tracker: Tracker) -> Dict[str, str]:
    """The form's answers by item key; an item without a valid answer is left out (counted as unsure)."""
    answers: Dict[str, str] = {}
    for key in items.ITEM_KEYS:
        value: Optional[str] = tracker.get_slot(items.slot_name(key))
        if value in items.ANSWERS:
            answers[key] = value
    return answers
