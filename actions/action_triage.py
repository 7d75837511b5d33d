"""action_triage: every symptom report, emergency and clarifying answer ends here.

Reads the latest message's entities (negation included) and the pending report, asks the core, and either asks
one clarifying question or answers with the advice for the level. Escalation is recorded through the service
(outbox): this action never talks to Telegram.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import constants as c
from actions.service import get_service
from bot.triage.advice import ASK_RESPONSES, response_name
from bot.triage.conversation import report_from_json, report_to_json
from bot.triage.model import Level, PatientContext

logger = logging.getLogger(__name__)


def intent_confidence(latest_message: Dict[str, Any]) -> Optional[float]:
    """DIET's own confidence, also when the SafetyRouter re-routed the intent."""
    override = latest_message.get("safety_override") or {}
    if override.get("confidence") is not None:
        return float(override["confidence"])
    confidence = (latest_message.get("intent") or {}).get("confidence")
    return None if confidence is None else float(confidence)


class ActionTriage(Action):
    def name(self) -> Text:
        return c.ACTION_TRIAGE

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        service = get_service()
        message = tracker.latest_message or {}
        asked = list(tracker.get_slot(c.SLOT_ASKED) or [])
        pending = report_from_json(tracker.get_slot(c.SLOT_PENDING_REPORT))
        hours_slot = tracker.get_slot(c.SLOT_TREATMENT_HOURS)
        fallback = PatientContext(hours_since_treatment=hours_slot, method=tracker.get_slot(c.SLOT_TREATMENT_METHOD),
                                  area=tracker.get_slot(c.SLOT_TREATMENT_AREA))
        outcome = service.assess(
            tracker.sender_id, message.get("text") or "", message.get("entities") or [],
            intent_confidence(message), pending=pending, question=asked[-1] if asked and pending else None,
            asked=asked, fallback_context=fallback, intent=(message.get("intent") or {}).get("name"),
        )
        events: List[Dict[Text, Any]] = []
        if outcome.report.hours_since_treatment is not None and outcome.patient_id is None:
            events.append(SlotSet(c.SLOT_TREATMENT_HOURS, outcome.report.hours_since_treatment))

        decision = outcome.decision
        if decision.level is Level.NONE and not outcome.report.findings:
            return events + self._nothing_to_triage(dispatcher, message)

        if not outcome.final:
            dispatcher.utter_message(response=ASK_RESPONSES[outcome.ask])
            return events + [SlotSet(c.SLOT_PENDING_REPORT, report_to_json(outcome.report)),
                             SlotSet(c.SLOT_ASKED, asked + [outcome.ask])]

        recorded = service.record(outcome, source="rasa")
        for key in decision.advice:
            dispatcher.utter_message(response=response_name(key))
        logger.info("triage level=%s criteria=%s report=%s", decision.level.value, ",".join(decision.criteria),
                    recorded.report_id)
        return events + [SlotSet(c.SLOT_TRIAGE_LEVEL, decision.level.value), SlotSet(c.SLOT_PENDING_REPORT, None),
                         SlotSet(c.SLOT_ASKED, [])]

    @staticmethod
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
