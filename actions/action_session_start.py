"""action_session_start: the first-contact disclaimer, once per patient, and the clinic's contact details
(phone, emergency number, callback minutes, opening hours) as slots for the responses' {placeholders}."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import constants as c
from actions.service import get_service
from bot.responses import clinic_slots

_CLINIC_DETAILS = (c.SLOT_CLINIC_PHONE, c.SLOT_EMERGENCY_NUMBER, c.SLOT_CALLBACK_MINUTES, c.SLOT_CLINIC_HOURS)
_NOT_CARRIED_OVER = frozenset({c.SLOT_PENDING_REPORT, c.SLOT_REQUESTED, *c.DETAIL_SLOTS.values(), *_CLINIC_DETAILS})


class ActionSessionStart(Action):
    def name(self) -> Text:
        return c.ACTION_SESSION_START

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        settings = get_service().settings
        events: List[Dict[Text, Any]] = [SessionStarted()]
        # Carry slots over (domain: carry_over_slots_to_new_session) so the disclaimer is said once, not daily; but
        # not a half-answered triage: the questions were about how things were then, and the form has ended. A
        # slot still at its initial value needs no event (the new session starts from it): every event is stored
        # and read back on every later message of the session. The initial values come from the constants, not
        # the domain: Rasa does not send this action the domain (~33 KB of JSON on every new session).
        events += [
            SlotSet(key, value)
            for key, value in tracker.current_slot_values().items()
            if value is not None and key not in _NOT_CARRIED_OVER and value != c.SLOT_INITIAL_VALUES.get(key)
        ]
        # The clinic's details the responses' {placeholders} use (bot.responses renders the same values when Rasa
        # is down), set afresh each session so a changed setting reaches returning patients too.
        details = clinic_slots(settings)
        events += [SlotSet(slot, details[slot]) for slot in _CLINIC_DETAILS]
        metadata = tracker.get_slot(c.SLOT_SESSION_METADATA) or {}
        if metadata.get("disclaimer_shown"):  # the Telegram gateway said it when the chat was linked
            events.append(SlotSet(c.SLOT_DISCLAIMER_SHOWN, True))
        elif not tracker.get_slot(c.SLOT_DISCLAIMER_SHOWN):
            dispatcher.utter_message(
                response=c.UTTER_DISCLAIMER,
                clinic_phone=settings.clinic_phone,
                emergency_number=settings.emergency_number,
            )
            events.append(SlotSet(c.SLOT_DISCLAIMER_SHOWN, True))
        events.append(ActionExecuted("action_listen"))
        return events
