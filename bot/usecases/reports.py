"""A patient's report, with the triage decision, and the photos they send."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import List, Optional, Tuple

from bot.escalation.policy import EscalationPolicy
from bot.escalation.states import EscalationState
from bot.store import repository
from bot.store.models import REPORT_SOURCES, AlertDelivery, Escalation, Photo, SymptomReport, utcnow
from bot.store.uow import UnitOfWork
from bot.triage.model import Decision
from bot.usecases import checks, escalations, use_case

# How long before a report a photo that belongs to nothing yet is taken to be part of it.
PHOTO_JOINS_REPORT_WITHIN = dt.timedelta(minutes=10)
# The deliveries that alerted a practitioner about an escalation (a photo sent afterwards is forwarded to them).
ALERT_KINDS = ("initial", "realert", "backup", "failover")


@dataclass(frozen=True)
class RecordedReport:
    report: SymptomReport
    escalation: Optional[Escalation]
    deliveries: Tuple[AlertDelivery, ...] = ()


def _record_report(
    uow: UnitOfWork,
    patient_id: int,
    treatment_id: Optional[int],
    text: str,
    decision: Decision,
    source: str,
    now: Optional[dt.datetime] = None,
    policy: Optional[EscalationPolicy] = None,
) -> RecordedReport:
    """Store what the patient said and the triage decision. If the level escalates, also open an escalation
    and queue the first alerts, in this same transaction."""
    now = now or utcnow()
    checks.choice(source, REPORT_SOURCES, "source")
    # The treating practitioner comes with the treatment (an escalation alerts them); a treatment of this patient
    # also proves the patient is there (its foreign key), so only a report without one looks the patient up.
    treatment = None
    if treatment_id is not None:
        treatment = repository.get_treatment(uow, treatment_id, with_practitioner=True)
    if treatment is None or treatment.patient_id != patient_id:
        repository.get_patient(uow, patient_id)
    report = repository.add_report(
        uow, patient_id, treatment_id, text, decision.findings, decision.level.value, decision.criteria, source, now
    )
    repository.audit(
        uow,
        "symptom_report",
        report.id,
        "recorded",
        f"patient:{patient_id}",
        {"level": decision.level.value, "criteria": list(decision.criteria), "source": source},
        now,
    )
    # A photo sent just before (with its caption, which is this report, or before the words) shows what the
    # report is about: it joins the report, so the alert it may raise carries it.
    for photo in repository.loose_photos_since(uow, patient_id, now - PHOTO_JOINS_REPORT_WITHIN):
        photo.report_id = report.id
        repository.audit(
            uow, "photo", photo.id, "joined_report", f"patient:{patient_id}", {"report_id": report.id}, now
        )
    if not decision.level.escalates:
        return RecordedReport(report, None)
    escalation, deliveries = escalations.open_for_report(uow, report, treatment, now, policy or EscalationPolicy())
    return RecordedReport(report, escalation, tuple(deliveries))


def _reports_since(
    uow: UnitOfWork, patient_id: int, since: dt.datetime, source: Optional[str] = None
) -> List[Tuple[SymptomReport, Optional[Escalation]]]:
    """The patient's reports received at or after `since` (oldest first), each with its escalation if any.

    The gateway's safety net uses it to see whether Rasa's triage action recorded a message before failing."""
    return repository.reports_since(uow, patient_id, since, source)


def _attach_photo(
    uow: UnitOfWork,
    patient_id: int,
    file_id: str,
    report_id: Optional[int] = None,
    escalation_id: Optional[int] = None,
    now: Optional[dt.datetime] = None,
    caption: Optional[str] = None,
) -> Photo:
    """Keep a reference to a photo the patient sent (Telegram's file_id), optionally tied to a report/escalation.

    Without an explicit escalation, the photo joins the patient's newest unresolved escalation, so the
    practitioner looking at that case sees it. When it joins an unresolved escalation, it is also forwarded
    (outbox rows of kind "photo", one per practitioner, deduplicated on the photo's id) to the practitioners
    already alerted about it (an alert sent or still pending).
    """
    now = now or utcnow()
    repository.get_patient(uow, patient_id)
    if escalation_id is None and report_id is None:
        unresolved = repository.patient_escalations_not_in(uow, patient_id, EscalationState.RESOLVED.value)
        escalation_id = unresolved[0].id if unresolved else None
    photo = repository.add_photo(
        uow, patient_id, checks.required_text(file_id, "file_id"), report_id, escalation_id, caption or None, now
    )
    repository.audit(
        uow,
        "photo",
        photo.id,
        "attached",
        f"patient:{patient_id}",
        {"report_id": report_id, "escalation_id": escalation_id},
        now,
    )
    if escalation_id is not None:
        _forward_photo(uow, photo, escalation_id, now)
    return photo


def _forward_photo(uow: UnitOfWork, photo: Photo, escalation_id: int, now: dt.datetime) -> int:
    """Queue the photo for each practitioner already alerted about the (unresolved) escalation. Returns the rows
    queued."""
    escalation = repository.escalation_for_update(uow, escalation_id)
    if escalation.state == EscalationState.RESOLVED.value:
        return 0
    queued = 0
    for person in repository.alerted_practitioners(uow, escalation_id, ALERT_KINDS):
        queued += repository.queue_delivery(
            uow,
            escalation_id,
            f"practitioner:{person.id}",
            person.telegram_chat_id,
            "photo",
            photo.id,
            now,
            practitioner_id=person.id,
            actor=f"patient:{photo.patient_id}",
        )
    return queued


record_report = use_case(_record_report)
reports_since = use_case(_reports_since)
attach_photo = use_case(_attach_photo)
