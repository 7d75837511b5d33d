"""The triage use case: a patient's message in, the triage decision (and its record, escalation and alerts) out.
Rasa's actions, the Telegram gateway's safety net and the triage CLI all go through `ClinicService`.

    outcome = service.assess(sender, text, entities, intent_confidence, pending=..., answers=...)
    if outcome.final: service.record(outcome, source="rasa")   # else ask outcome.to_ask first

Nothing here is built at import time: the composition root (bot.bootstrap.clinic_service) builds the service.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Tuple

from bot.escalation.policy import EscalationPolicy
from bot.nlp.second_reading import read_or_none
from bot.screening import items as screening_items
from bot.settings import Settings
from bot.store.uow import UnitOfWork
from bot.triage.conversation import merge, with_answers, without_detail
from bot.triage.criteria import Criteria
from bot.triage.engine import triage
from bot.triage.findings import report_from_entities
from bot.triage.model import Decision, PatientContext, Report, SecondReading
from bot.triage.screen import concern_topics, general_question
from bot.usecases import appointments, records, reports

logger = logging.getLogger(__name__)

_SENDER = re.compile(r"^patient-(\d+)$")
# How sure the intent classifier must be that words naming no known symptom describe an emergency.
STATED_EMERGENCY_CONFIDENCE = 0.8


def intent_confidence(parsed_message: Mapping[str, Any]) -> Optional[float]:
    """DIET's own confidence in a parsed message, also when the SafetyRouter re-routed the intent."""
    override = parsed_message.get("safety_override") or {}
    if override.get("confidence") is not None:
        return float(override["confidence"])
    confidence = (parsed_message.get("intent") or {}).get("confidence")
    return None if confidence is None else float(confidence)


def intent_name(parsed_message: Mapping[str, Any]) -> Optional[str]:
    """DIET's own intent (the pair of intent_confidence), also when the SafetyRouter re-routed it."""
    override = parsed_message.get("safety_override") or {}
    if override.get("from"):
        return str(override["from"])
    return (parsed_message.get("intent") or {}).get("name")


# DIET intents that read as a report even when no symptom was recognised ("something is wrong with my eye").
REPORT_INTENTS = frozenset({"report_symptom", "emergency"})
# Intents that are not reports, whatever they name ("thanks, treatment yesterday went well").
NOT_REPORT_INTENTS = frozenset(
    {
        "greet",
        "goodbye",
        "thank",
        "affirm",
        "deny",
        "bot_challenge",
        "ask_aftercare",
        "stop",
        "start_screening",
        "all_good",
        "out_of_scope",
    }
)
_REPORT_HINTS = frozenset({"body_area", "treatment_method", "time_expression"})

# The learned second reading (bot.nlp.second_reading.SecondReader): (text, entities) -> SecondReading.
Reader = Callable[[str, Sequence[Mapping[str, Any]]], SecondReading]


def unexplained_concern(text: str, entities: Sequence[Mapping[str, Any]], intent: Optional[str]) -> Tuple[str, ...]:
    """For a message that reads like a report but names no symptom: the concern topics it touches (eyes,
    breathing, swallowing, speech), or ("other",); () when it does not read like a report or names a symptom."""
    if any(e.get("entity") == "symptom" for e in entities):
        return ()
    hinted = any(e.get("entity") in _REPORT_HINTS for e in entities) and intent not in NOT_REPORT_INTENTS
    if (intent not in REPORT_INTENTS and not hinted) or general_question(text):
        return ()
    return concern_topics(text) or ("other",)


def patient_id_from_sender(sender_id: Optional[str]) -> Optional[int]:
    """The gateway talks to Rasa as sender "patient-<id>"; any other sender is not a known patient."""
    match = _SENDER.match(sender_id or "")
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class Outcome:
    patient_id: Optional[int]
    treatment_id: Optional[int]
    text: str
    report: Report
    decision: Decision
    # The details still worth asking for (bot.triage.conversation.DETAILS), in order; empty when final.
    to_ask: Tuple[str, ...] = ()

    @property
    def final(self) -> bool:
        return not self.to_ask


@dataclass(frozen=True)
class Recorded:
    report_id: Optional[int]
    escalation_id: Optional[int]
    # Alerts queued for practitioners; 0 with an escalation means nobody could be alerted (no practitioner set up).
    alerts_queued: int = 0

    @property
    def nobody_to_alert(self) -> bool:
        return self.escalation_id is not None and self.alerts_queued == 0


@dataclass(frozen=True)
class ScreeningRecorded:
    """What the patient is told after the screening: whether it was saved, and what the practitioner reviews."""

    screening_id: Optional[int]
    to_review: Tuple[Tuple[str, str], ...]  # (item key, "yes" | "unsure")
    reschedule_advice: bool


class ClinicService:
    def __init__(
        self,
        criteria: Criteria,
        session_factory: Any = None,
        settings: Optional[Settings] = None,
        reader: Optional[Reader] = None,
    ):
        self.criteria = criteria
        self.session_factory = session_factory
        self.settings = settings or Settings.from_env()
        self.reader = reader

    # --- reading ------------------------------------------------------------------------------------------------
    def context_for(self, patient_id: Optional[int], fallback: PatientContext = PatientContext()):
        """(treatment_id, context) from the record when the patient is known, else the given fallback."""
        if patient_id is None or self.session_factory is None:
            return None, fallback
        return records.patient_context(UnitOfWork(self.session_factory), patient_id)

    # --- deciding -----------------------------------------------------------------------------------------------
    def assess(
        self,
        sender_id: Optional[str],
        text: str,
        entities: Sequence[Dict[str, Any]],
        intent_confidence: Optional[float] = None,
        *,
        pending: Optional[Report] = None,
        answers: Optional[Mapping[str, Any]] = None,
        leave_out: Optional[str] = None,
        fallback_context: PatientContext = PatientContext(),
        intent: Optional[str] = None,
        known_record: Optional[Tuple[Optional[int], PatientContext]] = None,
    ) -> Outcome:
        """Triage the message `text` (with its NLU entities) on top of the `pending` report and the `answers` to
        clarifying questions (detail -> parsed value or SKIPPED). `leave_out` ignores what this message says about
        one detail: "does this message say more than its answer to the question?". `known_record` is what
        `context_for` gave for this sender earlier in the same request (else it is read)."""
        patient_id = patient_id_from_sender(sender_id)
        if known_record is None:
            known_record = self.context_for(patient_id, fallback_context)
        treatment_id, context = known_record
        new = report_from_entities(text, list(entities), intent_confidence=intent_confidence)
        if leave_out:
            new = without_detail(new, leave_out)
        # "Vision fine, breathing fine" names emergencies only to deny them, "my bf fainted" someone else's: no
        # stated emergency. Words that name no symptom at all still count.
        denies_everything = bool(new.findings) and not any(f.current for f in new.findings)
        if (
            intent == "emergency"
            and (intent_confidence or 0.0) >= STATED_EMERGENCY_CONFIDENCE
            and not denies_everything
        ):
            new = replace(new, stated_emergency=True)
        if pending is None and not leave_out:
            new = replace(new, unexplained_concern=unexplained_concern(text, entities, intent))
        # Only a new report is read: an answer to a clarifying question ("about the same", "38.9") says too little
        # to read on its own, and the report keeps the reading of the message it answers.
        if pending is None and not leave_out:
            new = replace(new, second_reading=read_or_none(self.reader, text, entities))
        answers = answers or {}
        report = with_answers(merge(pending, new), answers)
        decision = triage(report, context, self.criteria)
        to_ask: Tuple[str, ...] = ()
        # Never hold back an escalation to ask a question: urgent and emergency are answered at once.
        if not decision.level.escalates:
            to_ask = tuple(m for m in decision.missing if m not in answers)
        return Outcome(patient_id, treatment_id, text, report, decision, to_ask)

    # --- recording ----------------------------------------------------------------------------------------------
    def record(self, outcome: Outcome, source: str = "rasa") -> Recorded:
        """Store the report; an escalation and its alerts are written in the same transaction (the outbox)."""
        if outcome.patient_id is None or self.session_factory is None:
            if outcome.decision.level.escalates:
                logger.warning(
                    "escalating report from an unlinked sender could not be recorded (level=%s)",
                    outcome.decision.level.value,
                )
            return Recorded(None, None)
        recorded = reports.record_report(
            UnitOfWork(self.session_factory),
            outcome.patient_id,
            outcome.treatment_id,
            outcome.text,
            outcome.decision,
            source,
            policy=EscalationPolicy.from_settings(self.settings),
        )
        result = Recorded(
            recorded.report.id, recorded.escalation.id if recorded.escalation else None, len(recorded.deliveries)
        )
        logger.info(
            "report %s recorded: level=%s criteria=%s escalation=%s",
            result.report_id,
            outcome.decision.level.value,
            ",".join(outcome.decision.criteria),
            result.escalation_id,
        )
        return result

    def record_screening(self, sender_id: Optional[str], answers: Mapping[str, str]) -> ScreeningRecorded:
        """Store the pre-treatment screening; answers needing review queue an alert in the same transaction."""
        to_review = tuple(screening_items.flagged(answers))
        advice = screening_items.needs_rescheduling_advice(answers)
        patient_id = patient_id_from_sender(sender_id)
        if patient_id is None or self.session_factory is None:
            logger.warning(
                "screening from an unlinked sender could not be recorded (%d item(s) to review)", len(to_review)
            )
            return ScreeningRecorded(None, to_review, advice)
        recorded = appointments.record_screening(
            UnitOfWork(self.session_factory), patient_id, answers, policy=EscalationPolicy.from_settings(self.settings)
        )
        screening_id = recorded.screening.id
        logger.info(
            "screening %s recorded: %d item(s) to review, %d alert(s) queued",
            screening_id,
            len(to_review),
            len(recorded.deliveries),
        )
        return ScreeningRecorded(screening_id, to_review, advice)
