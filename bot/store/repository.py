"""The operations the rest of the bot performs on the records. Each takes a UnitOfWork; the caller commits.

    with UnitOfWork(factory) as uow:
        patient = patient_for_chat(uow, chat_id)
        recorded = record_report(uow, patient.id, treatment.id, text, decision, source="rasa")
        uow.commit()

Rules kept here rather than in callers:
* every state change writes an audit event in the same transaction;
* a report whose level escalates creates its escalation AND the outbox rows for the first alerts in the same
  transaction (so an alert is never lost between "stored" and "queued");
* acknowledge/resolve are idempotent: repeating them changes nothing and reports `changed=False`.
Problems are raised as bot.store.errors exceptions whose message can be shown to the user as is.
Patient names and words never go to INFO logs.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import secrets
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.checkins.schedule import plan_checkins
from bot.escalation.alerts import AlertContext, ScreeningAlertContext
from bot.escalation.policy import INITIAL, PATIENT_ACK_NOTICE, EscalationPolicy, PractitionerRef
from bot.store import errors
from bot.screening import items as screening_items
from bot.screening.preparation import PREPARATION, preparation_due
from bot.store.models import (
    AREAS,
    METHODS,
    REPORT_SOURCES,
    ROLES,
    AlertDelivery,
    Appointment,
    AuditEvent,
    ChatLink,
    Escalation,
    LinkCode,
    Patient,
    Photo,
    Practitioner,
    ScheduledCheckin,
    Screening,
    SymptomReport,
    Treatment,
    utcnow,
)
from bot.store.uow import UnitOfWork
from bot.triage.model import Decision, EarlierReport, Finding, Level, PatientContext

log = logging.getLogger(__name__)

DEFAULT_LINK_CODE_TTL = dt.timedelta(hours=72)
# A clock a few minutes fast on the clinic PC should not make "treated just now" an error.
FUTURE_TOLERANCE = dt.timedelta(minutes=5)


# Results --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NewPatient:
    patient: Patient
    treatment: Treatment
    link_code: str
    link_expires_at: dt.datetime


@dataclass(frozen=True)
class RecordedReport:
    report: SymptomReport
    escalation: Optional[Escalation]
    deliveries: Tuple[AlertDelivery, ...] = ()


@dataclass(frozen=True)
class RecordedScreening:
    screening: Screening
    deliveries: Tuple[AlertDelivery, ...] = ()


@dataclass(frozen=True)
class EscalationChange:
    """The outcome of acknowledge/resolve. `changed` is False when the call repeated an earlier one."""

    escalation: Escalation
    changed: bool


# Audit ----------------------------------------------------------------------------------------------------------
def audit(
    uow: UnitOfWork,
    entity: str,
    entity_id: Optional[int],
    action: str,
    actor: str,
    detail: Optional[Dict[str, Any]] = None,
    now: Optional[dt.datetime] = None,
) -> None:
    uow.session.add(
        AuditEvent(entity=entity, entity_id=entity_id, action=action, actor=actor, at=now or utcnow(),
                   detail=detail or {})
    )


# Practitioners --------------------------------------------------------------------------------------------------
def add_practitioner(
    uow: UnitOfWork,
    name: str,
    role: str = "treating",
    chat_id: Optional[int] = None,
    active: bool = True,
    actor: str = "admin",
) -> Practitioner:
    name = _required_text(name, "Practitioner name")
    _check_choice(role, ROLES, "role")
    if chat_id is not None and practitioner_for_chat(uow, chat_id) is not None:
        raise errors.DuplicateChatId(f"Telegram chat id {chat_id} already belongs to another practitioner.")
    practitioner = Practitioner(name=name, role=role, telegram_chat_id=chat_id, active=active, created_at=utcnow())
    uow.session.add(practitioner)
    uow.flush()
    audit(uow, "practitioner", practitioner.id, "created", actor, {"role": role, "has_chat": chat_id is not None})
    return practitioner


def update_practitioner(
    uow: UnitOfWork,
    practitioner_id: int,
    chat_id: Optional[int] = None,
    role: Optional[str] = None,
    active: Optional[bool] = None,
    actor: str = "admin",
) -> Practitioner:
    """Change what is given (None leaves a field as it is): add a chat id later, change role, deactivate."""
    practitioner = get_practitioner(uow, practitioner_id)
    changes: Dict[str, Any] = {}
    if chat_id is not None and chat_id != practitioner.telegram_chat_id:
        owner = practitioner_for_chat(uow, chat_id)
        if owner is not None:
            raise errors.DuplicateChatId(f"Telegram chat id {chat_id} already belongs to practitioner {owner.id}.")
        practitioner.telegram_chat_id = chat_id
        changes["has_chat"] = True
    if role is not None and role != practitioner.role:
        _check_choice(role, ROLES, "role")
        practitioner.role = changes["role"] = role
    if active is not None and active != practitioner.active:
        practitioner.active = changes["active"] = active
    if changes:
        audit(uow, "practitioner", practitioner.id, "updated", actor, changes)
    return practitioner


def get_practitioner(uow: UnitOfWork, practitioner_id: int) -> Practitioner:
    practitioner = uow.session.get(Practitioner, practitioner_id)
    if practitioner is None:
        raise errors.UnknownPractitioner(
            f"No practitioner with id {practitioner_id}; `aftercare practitioner list` shows the ids."
        )
    return practitioner


def list_practitioners(uow: UnitOfWork, active_only: bool = False) -> List[Practitioner]:
    query = select(Practitioner).order_by(Practitioner.id)
    if active_only:
        query = query.where(Practitioner.active.is_(True))
    return list(uow.session.execute(query).scalars())


def practitioner_for_chat(uow: UnitOfWork, chat_id: int) -> Optional[Practitioner]:
    """The practitioner using this Telegram chat (to authorise Acknowledge/Resolve button presses)."""
    query = select(Practitioner).where(Practitioner.telegram_chat_id == chat_id)
    return uow.session.execute(query).scalar_one_or_none()


# Patients, treatments, linking -------------------------------------------------------------------------------------
def add_patient_with_treatment(
    uow: UnitOfWork,
    display_name: str,
    performed_at: dt.datetime,
    area: str,
    method: str,
    practitioner_id: int,
    product_batch: Optional[str] = None,
    phone: Optional[str] = None,
    link_code_ttl: dt.timedelta = DEFAULT_LINK_CODE_TTL,
    now: Optional[dt.datetime] = None,
    actor: str = "admin",
    checkin_hours: Optional[Sequence[int]] = None,
    maintenance_days: Optional[Mapping[str, int]] = None,
) -> NewPatient:
    """Register a patient and their treatment; returns the one-time code that links their Telegram chat.

    checkin_hours / maintenance_days: schedule check-ins (hours after the treatment) and a maintenance
    reminder (days after it, by area), normally settings.checkin_schedule_hours and
    settings.maintenance_reminder_days. None (the default) schedules nothing.
    """
    now = now or utcnow()
    patient = add_patient(uow, display_name, phone, now=now, actor=actor)
    treatment = add_treatment(uow, patient.id, performed_at, area, method, practitioner_id, product_batch,
                              now=now, actor=actor)
    code = new_link_code(uow, patient.id, link_code_ttl, now=now, actor=actor)
    if checkin_hours is not None or maintenance_days:
        schedule_treatment_checkins(uow, treatment, checkin_hours or (), maintenance_days, now=now, actor=actor)
    return NewPatient(patient, treatment, code.code, code.expires_at)


def add_patient(uow: UnitOfWork, display_name: str, phone: Optional[str] = None, now: Optional[dt.datetime] = None,
                actor: str = "admin") -> Patient:
    """Register a patient with no treatment yet (one coming for a first appointment); see also new_link_code."""
    now = now or utcnow()
    patient = Patient(id=_next_patient_id(uow), display_name=_required_text(display_name, "Patient name"),
                      phone=(phone or None), created_at=now)
    uow.session.add(patient)
    uow.flush()
    audit(uow, "patient", patient.id, "created", actor, now=now)
    return patient


def _next_patient_id(uow: UnitOfWork) -> Optional[int]:
    """On SQLite, an id no patient ever had: one past both the highest id in use and the highest erased one (the
    tombstones in the audit trail). SQLite would otherwise give the id of an erased patient to the next one, who
    would inherit whatever still carried it (a conversation store unreachable at the erasure, a practitioner's
    memory of "patient 12"). PostgreSQL's sequences never reuse ids: None lets the database choose."""
    if uow.session.get_bind().dialect.name != "sqlite":
        return None
    highest = uow.session.execute(select(func.max(Patient.id))).scalar_one() or 0
    erased = uow.session.execute(
        select(func.max(AuditEvent.entity_id)).where(AuditEvent.entity == "patient", AuditEvent.action == ERASED)
    ).scalar_one() or 0
    return max(highest, erased) + 1


def add_treatment(
    uow: UnitOfWork,
    patient_id: int,
    performed_at: dt.datetime,
    area: str,
    method: str,
    practitioner_id: int,
    product_batch: Optional[str] = None,
    now: Optional[dt.datetime] = None,
    actor: str = "admin",
) -> Treatment:
    now = now or utcnow()
    _check_treatment(uow, patient_id, practitioner_id, area, method)
    if performed_at.tzinfo is None:
        raise errors.InvalidValue("Treatment time needs a timezone (e.g. 2026-11-24T14:30+00:00).")
    if performed_at > now + FUTURE_TOLERANCE:
        raise errors.TreatmentInFuture(
            f"Treatment time {performed_at.isoformat()} is in the future; enter when it was performed."
        )
    treatment = Treatment(patient_id=patient_id, practitioner_id=practitioner_id, performed_at=performed_at,
                          area=area, method=method, product_batch=(product_batch or None), created_at=now)
    uow.session.add(treatment)
    uow.flush()
    audit(uow, "treatment", treatment.id, "created", actor,
          {"patient_id": patient_id, "practitioner_id": practitioner_id, "area": area, "method": method}, now)
    return treatment


def get_patient(uow: UnitOfWork, patient_id: int) -> Patient:
    patient = uow.session.get(Patient, patient_id)
    if patient is None:
        raise errors.UnknownPatient(f"No patient with id {patient_id}.")
    return patient


def new_link_code(
    uow: UnitOfWork,
    patient_id: int,
    ttl: dt.timedelta = DEFAULT_LINK_CODE_TTL,
    now: Optional[dt.datetime] = None,
    actor: str = "admin",
) -> LinkCode:
    """A fresh one-time code. token_urlsafe only uses A-Z a-z 0-9 _ -, what Telegram's ?start= accepts."""
    now = now or utcnow()
    revoked = _revoke_unused_codes(uow, patient_id, now, actor)
    code = LinkCode(code=secrets.token_urlsafe(16), patient_id=patient_id, created_at=now, expires_at=now + ttl)
    uow.session.add(code)
    uow.flush()
    audit(uow, "link_code", code.id, "created", actor, {"patient_id": patient_id, "revoked_codes": revoked,
                                                          "expires_at": code.expires_at.isoformat()}, now)
    return code


def _revoke_unused_codes(uow: UnitOfWork, patient_id: int, now: dt.datetime, actor: str,
                         keep: Optional[int] = None) -> int:
    """Make the patient's unused, unexpired link codes (but `keep`) expire now: only the newest code links."""
    query = select(LinkCode).where(LinkCode.patient_id == patient_id, LinkCode.used_at.is_(None),
                                   LinkCode.expires_at > now).with_for_update()
    revoked = 0
    for old in uow.session.execute(query).scalars():
        if old.id == keep:
            continue
        old.expires_at = now
        audit(uow, "link_code", old.id, "revoked", actor, now=now)
        revoked += 1
    return revoked


def _unlink_other_chats(uow: UnitOfWork, patient_id: int, chat_id: int, now: dt.datetime, actor: str) -> int:
    """The patient re-linked from `chat_id`: every other chat of theirs loses the link (it no longer gets their
    messages nor writes as them), and notices still queued for an old chat go to the new one."""
    old_links = uow.session.execute(
        select(ChatLink).where(ChatLink.patient_id == patient_id, ChatLink.telegram_chat_id != chat_id)
    ).scalars().all()
    for link in old_links:
        audit(uow, "chat_link", link.id, "unlinked", actor, {"reason": "relinked"}, now)
        uow.session.delete(link)
    if old_links:
        uow.session.execute(
            update(AlertDelivery)
            .where(AlertDelivery.recipient == f"patient:{patient_id}", AlertDelivery.status == "pending")
            .values(chat_id=chat_id)
            .execution_options(synchronize_session=False)
        )
        uow.flush()
    return len(old_links)


def unlink_chats(uow: UnitOfWork, patient_id: int, actor: str = "admin", now: Optional[dt.datetime] = None) -> int:
    """Unlink every chat of the patient's now (a lost or stolen phone), without waiting for a new code to be used:
    those chats no longer get the patient's messages or write as them; notices still queued for them are cancelled.
    Returns how many chats were unlinked."""
    now = now or utcnow()
    get_patient(uow, patient_id)
    links = uow.session.execute(select(ChatLink).where(ChatLink.patient_id == patient_id)).scalars().all()
    for link in links:
        audit(uow, "chat_link", link.id, "unlinked", actor, {"reason": "revoked"}, now)
        uow.session.delete(link)
    uow.session.execute(
        update(AlertDelivery)
        .where(AlertDelivery.recipient == f"patient:{patient_id}", AlertDelivery.status == "pending")
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    )
    uow.flush()
    return len(links)


def redeem_link_code(uow: UnitOfWork, code: str, chat_id: int, now: Optional[dt.datetime] = None) -> Patient:
    """Link a Telegram chat to the patient the code was issued for. Re-sending the same code from the same
    chat is harmless (returns the patient again)."""
    now = now or utcnow()
    query = select(LinkCode).where(LinkCode.code == (code or "").strip()).with_for_update()
    link_code = uow.session.execute(query).scalar_one_or_none()
    if link_code is None:
        raise errors.UnknownLinkCode("This link code is not valid. Please ask the clinic for a new link.")
    existing = uow.session.execute(select(ChatLink).where(ChatLink.telegram_chat_id == chat_id)).scalar_one_or_none()
    if link_code.used_at is not None:
        if link_code.used_by_chat_id == chat_id and existing is not None:
            return get_patient(uow, existing.patient_id)
        raise errors.LinkCodeUsed("This link code has already been used. Please ask the clinic for a new link.")
    if link_code.expires_at <= now:
        raise errors.LinkCodeExpired("This link code has expired. Please ask the clinic for a new link.")
    if existing is not None and existing.patient_id != link_code.patient_id:
        raise errors.DuplicateChatId("This Telegram chat is already linked to another patient record.")

    link_code.used_at = now
    link_code.used_by_chat_id = chat_id
    actor = f"patient:{link_code.patient_id}"
    # Re-linking: the newest link wins. Older chats lose the link and older unused codes stop working.
    _unlink_other_chats(uow, link_code.patient_id, chat_id, now, actor)
    _revoke_unused_codes(uow, link_code.patient_id, now, actor, keep=link_code.id)
    if existing is None:
        link = ChatLink(patient_id=link_code.patient_id, telegram_chat_id=chat_id, linked_at=now)
        uow.session.add(link)
        uow.flush()
        audit(uow, "chat_link", link.id, "linked", f"patient:{link_code.patient_id}",
              {"link_code_id": link_code.id}, now)
    audit(uow, "link_code", link_code.id, "used", f"patient:{link_code.patient_id}", now=now)
    return get_patient(uow, link_code.patient_id)


def patient_for_chat(uow: UnitOfWork, chat_id: int) -> Optional[Patient]:
    query = select(Patient).join(ChatLink, ChatLink.patient_id == Patient.id).where(
        ChatLink.telegram_chat_id == chat_id
    )
    return uow.session.execute(query).scalar_one_or_none()


def latest_treatment(uow: UnitOfWork, patient_id: int) -> Optional[Treatment]:
    query = (
        select(Treatment)
        .where(Treatment.patient_id == patient_id)
        .order_by(Treatment.performed_at.desc(), Treatment.id.desc())
        .limit(1)
    )
    return uow.session.execute(query).scalar_one_or_none()


def earlier_reports(uow: UnitOfWork, treatment_id: int) -> Tuple[EarlierReport, ...]:
    """Symptoms reported before for this treatment, one entry per (non-negated) finding, oldest first."""
    treatment = uow.session.get(Treatment, treatment_id)
    if treatment is None:
        return ()
    query = select(SymptomReport).where(SymptomReport.treatment_id == treatment_id).order_by(
        SymptomReport.received_at, SymptomReport.id
    )
    result: List[EarlierReport] = []
    for report in uow.session.execute(query).scalars():
        hours = (report.received_at - treatment.performed_at).total_seconds() / 3600
        for finding in report.findings or ():
            if not finding.get("negated"):
                result.append(EarlierReport(finding["symptom"], round(hours, 2), Level(report.level)))
    return tuple(result)


def patient_context(uow: UnitOfWork, patient_id: int, now: Optional[dt.datetime] = None) -> PatientContext:
    """What the triage core should know about this patient's latest treatment (all fields None if none)."""
    treatment = latest_treatment(uow, patient_id)
    if treatment is None:
        return PatientContext()
    now = now or utcnow()
    return PatientContext(
        hours_since_treatment=(now - treatment.performed_at).total_seconds() / 3600,
        area=treatment.area,
        method=treatment.method,
        earlier=earlier_reports(uow, treatment.id),
    )


# Reports and escalations ----------------------------------------------------------------------------------------
def record_report(
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
    _check_choice(source, REPORT_SOURCES, "source")
    get_patient(uow, patient_id)
    treatment = uow.session.get(Treatment, treatment_id) if treatment_id is not None else None
    if treatment_id is not None and treatment is None:
        raise errors.UnknownTreatment(f"No treatment with id {treatment_id}.")

    report = SymptomReport(
        patient_id=patient_id, treatment_id=treatment_id, received_at=now, text=text,
        findings=[finding_to_json(f) for f in decision.findings], level=decision.level.value,
        criteria=list(decision.criteria), source=source,
    )
    uow.session.add(report)
    uow.flush()
    audit(uow, "symptom_report", report.id, "recorded", f"patient:{patient_id}",
          {"level": decision.level.value, "criteria": list(decision.criteria), "source": source}, now)
    if not decision.level.escalates:
        return RecordedReport(report, None)
    escalation, deliveries = _open_escalation(uow, report, treatment, now, policy or EscalationPolicy())
    return RecordedReport(report, escalation, tuple(deliveries))


def reports_since(uow: UnitOfWork, patient_id: int, since: dt.datetime,
                  source: Optional[str] = None) -> List[Tuple[SymptomReport, Optional[Escalation]]]:
    """The patient's reports received at or after `since` (oldest first), each with its escalation if any.

    The gateway's safety net uses it to see whether Rasa's triage action recorded a message before failing."""
    query = (
        select(SymptomReport, Escalation)
        .outerjoin(Escalation, Escalation.report_id == SymptomReport.id)
        .where(SymptomReport.patient_id == patient_id, SymptomReport.received_at >= since)
        .order_by(SymptomReport.received_at, SymptomReport.id)
    )
    if source is not None:
        query = query.where(SymptomReport.source == source)
    return [(report, escalation) for report, escalation in uow.session.execute(query).all()]


def _open_escalation(
    uow: UnitOfWork,
    report: SymptomReport,
    treatment: Optional[Treatment],
    now: dt.datetime,
    policy: EscalationPolicy,
) -> Tuple[Escalation, List[AlertDelivery]]:
    escalation = Escalation(report_id=report.id, level=report.level, state="open", created_at=now)
    uow.session.add(escalation)
    uow.flush()
    treating = _practitioner_ref(treatment.practitioner) if treatment is not None else None
    recipients = policy.initial_recipients(Level(report.level), treating, staff_refs(uow))
    audit(uow, "escalation", escalation.id, "opened", "system:triage",
          {"level": report.level, "report_id": report.id, "recipients": [p.id for p in recipients]}, now)
    if not recipients:
        # Nobody can be reached by Telegram: the escalation stays open and visible in `aftercare escalations`.
        log.error("escalation %s has no reachable practitioner (add one with a chat id)", escalation.id)
    for person in recipients:
        queue_delivery(uow, escalation.id, f"practitioner:{person.id}", person.chat_id, INITIAL, 0, now,
                       practitioner_id=person.id)
    query = select(AlertDelivery).where(AlertDelivery.escalation_id == escalation.id).order_by(AlertDelivery.id)
    return escalation, list(uow.session.execute(query).scalars())


def acknowledge(
    uow: UnitOfWork, escalation_id: int, practitioner_id: int, now: Optional[dt.datetime] = None
) -> EscalationChange:
    """Mark an escalation as seen by a practitioner, stop the reminders, and tell the patient."""
    now = now or utcnow()
    practitioner = get_practitioner(uow, practitioner_id)
    escalation = _locked_escalation(uow, escalation_id)
    if escalation.state != "open":
        return EscalationChange(escalation, changed=False)
    _mark_acknowledged(uow, escalation, practitioner, now)
    return EscalationChange(escalation, changed=True)


def resolve(
    uow: UnitOfWork,
    escalation_id: int,
    practitioner_id: int,
    note: Optional[str] = None,
    now: Optional[dt.datetime] = None,
) -> EscalationChange:
    """Close an escalation (acknowledging it first if nobody had)."""
    now = now or utcnow()
    practitioner = get_practitioner(uow, practitioner_id)
    escalation = _locked_escalation(uow, escalation_id)
    if escalation.state == "resolved":
        return EscalationChange(escalation, changed=False)
    if escalation.state == "open":
        _mark_acknowledged(uow, escalation, practitioner, now)
    escalation.state = "resolved"
    escalation.resolved_by = practitioner.id
    escalation.resolved_at = now
    escalation.note = note or None
    audit(uow, "escalation", escalation.id, "resolved", f"practitioner:{practitioner.id}",
          {"has_note": bool(note)}, now)
    return EscalationChange(escalation, changed=True)


def _locked_escalation(uow: UnitOfWork, escalation_id: int) -> Escalation:
    # Row lock on PostgreSQL (SQLite serialises writers with BEGIN IMMEDIATE): two practitioners pressing
    # Acknowledge at the same moment produce one state change, not two.
    escalation = uow.session.get(Escalation, escalation_id, with_for_update=True)
    if escalation is None:
        raise errors.UnknownEscalation(f"No escalation with id {escalation_id}.")
    return escalation


def _mark_acknowledged(uow: UnitOfWork, escalation: Escalation, practitioner: Practitioner, now: dt.datetime) -> None:
    escalation.state = "acknowledged"
    escalation.acknowledged_by = practitioner.id
    escalation.acknowledged_at = now
    cancelled = _cancel_pending_reminders(uow, escalation.id)
    audit(uow, "escalation", escalation.id, "acknowledged", f"practitioner:{practitioner.id}",
          {"reminders_cancelled": cancelled}, now)
    _queue_patient_notice(uow, escalation, now)


def _cancel_pending_reminders(uow: UnitOfWork, escalation_id: int) -> int:
    statement = (
        update(AlertDelivery)
        .where(AlertDelivery.escalation_id == escalation_id, AlertDelivery.status == "pending",
               AlertDelivery.kind.in_(("realert", "backup")))
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    )
    return uow.session.execute(statement).rowcount or 0


def _queue_patient_notice(uow: UnitOfWork, escalation: Escalation, now: dt.datetime) -> None:
    report = uow.session.get(SymptomReport, escalation.report_id)
    query = (
        select(ChatLink)
        .where(ChatLink.patient_id == report.patient_id)
        .order_by(ChatLink.linked_at.desc(), ChatLink.id.desc())
        .limit(1)
    )
    link = uow.session.execute(query).scalar_one_or_none()
    if link is None:
        audit(uow, "escalation", escalation.id, "patient_not_notified", "system:store",
              {"reason": "no linked chat"}, now)
        return
    queue_delivery(uow, escalation.id, f"patient:{report.patient_id}", link.telegram_chat_id,
                   PATIENT_ACK_NOTICE, 0, now)


def queue_delivery(
    uow: UnitOfWork,
    escalation_id: int,
    recipient: str,
    chat_id: int,
    kind: str,
    round_: int,
    now: dt.datetime,
    practitioner_id: Optional[int] = None,
    actor: str = "system:escalation",
) -> bool:
    """Insert an outbox row unless one with the same dedupe key exists. True if this call inserted it.

    INSERT ... ON CONFLICT DO NOTHING makes this safe when two processes schedule the same reminder at once.
    """
    values = dict(escalation_id=escalation_id, practitioner_id=practitioner_id, recipient=recipient,
                  chat_id=chat_id, kind=kind, round=round_, status="pending", attempts=0,
                  next_attempt_at=now, created_at=now)
    statement = _insert_ignoring_duplicates(uow.session, values)
    inserted = (uow.session.execute(statement).rowcount or 0) > 0
    if inserted:
        audit(uow, "escalation", escalation_id, f"queued_{kind}", actor,
              {"recipient": recipient, "round": round_}, now)
    return inserted


def _insert_ignoring_duplicates(session: Session, values: Dict[str, Any],
                                subject: str = "escalation_id") -> Any:
    dialect = session.get_bind().dialect.name
    dedupe = [subject, "recipient", "kind", "round"]
    if dialect == "postgresql":
        return postgresql.insert(AlertDelivery).values(**values).on_conflict_do_nothing(index_elements=dedupe)
    if dialect == "sqlite":
        return sqlite.insert(AlertDelivery).values(**values).on_conflict_do_nothing(index_elements=dedupe)
    return insert(AlertDelivery).values(**values)  # other databases: the unique constraint still protects us


def open_escalations(uow: UnitOfWork, include_acknowledged: bool = True) -> List[Escalation]:
    """Escalations not resolved yet (only the unacknowledged ones if include_acknowledged=False), oldest first."""
    states = ("open", "acknowledged") if include_acknowledged else ("open",)
    query = select(Escalation).where(Escalation.state.in_(states)).order_by(Escalation.created_at, Escalation.id)
    return list(uow.session.execute(query).scalars())


def escalation_summary(uow: UnitOfWork, escalation: Escalation) -> Dict[str, Any]:
    """A short description for staff lists (the CLI, a /open command)."""
    report = uow.session.get(SymptomReport, escalation.report_id)
    patient = uow.session.get(Patient, report.patient_id)
    treatment = uow.session.get(Treatment, report.treatment_id) if report.treatment_id else None
    return {
        "id": escalation.id,
        "level": escalation.level,
        "state": escalation.state,
        "created_at": escalation.created_at.isoformat(),
        "patient_id": patient.id,
        "patient": patient.display_name,
        "treating_practitioner_id": treatment.practitioner_id if treatment else None,
        "criteria": list(report.criteria or ()),
        "acknowledged_by": escalation.acknowledged_by,
    }


# Photos, check-ins ------------------------------------------------------------------------------------------------
def attach_photo(
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
    practitioner looking at that case sees it.
    """
    now = now or utcnow()
    get_patient(uow, patient_id)
    if escalation_id is None and report_id is None:
        current = _latest_unresolved_escalation(uow, patient_id)
        escalation_id = current.id if current else None
    photo = Photo(patient_id=patient_id, file_id=_required_text(file_id, "file_id"), report_id=report_id,
                  escalation_id=escalation_id, received_at=now, caption=(caption or None))
    uow.session.add(photo)
    uow.flush()
    audit(uow, "photo", photo.id, "attached", f"patient:{patient_id}",
          {"report_id": report_id, "escalation_id": escalation_id}, now)
    return photo


def _latest_unresolved_escalation(uow: UnitOfWork, patient_id: int) -> Optional[Escalation]:
    query = (
        select(Escalation)
        .join(SymptomReport, SymptomReport.id == Escalation.report_id)
        .where(SymptomReport.patient_id == patient_id, Escalation.state != "resolved")
        .order_by(Escalation.created_at.desc(), Escalation.id.desc())
        .limit(1)
    )
    return uow.session.execute(query).scalar_one_or_none()


def set_checkins_paused(
    uow: UnitOfWork, patient_id: int, paused: bool, actor: Optional[str] = None, now: Optional[dt.datetime] = None
) -> int:
    """Pause (/stop) or resume (/resume) the patient's pending check-ins. Returns how many changed.

    When resuming with `now` given, only check-ins still in the future are resumed; those that fell due while
    paused are skipped, so /resume does not trigger a "how are you?" the patient opted out of at the time.
    (Without `now` every pending one is resumed; the sender then still sends at most the latest due one.)
    """
    get_patient(uow, patient_id)
    pending = (ScheduledCheckin.patient_id == patient_id, ScheduledCheckin.sent_at.is_(None),
               ScheduledCheckin.skipped_at.is_(None))
    detail: Dict[str, Any] = {}
    if not paused and now is not None:
        missed = uow.session.execute(
            update(ScheduledCheckin)
            .where(*pending, ScheduledCheckin.paused.is_(True), ScheduledCheckin.due_at <= now)
            .values(skipped_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount or 0
        detail["skipped_while_paused"] = missed
        pending += (ScheduledCheckin.due_at > now,)
    statement = (
        update(ScheduledCheckin)
        .where(*pending, ScheduledCheckin.paused.is_(not paused))
        .values(paused=paused)
        .execution_options(synchronize_session=False)
    )
    changed = uow.session.execute(statement).rowcount or 0
    audit(uow, "patient", patient_id, "checkins_paused" if paused else "checkins_resumed",
          actor or f"patient:{patient_id}", {"checkins": changed, **detail}, now)
    return changed


def schedule_checkin(
    uow: UnitOfWork, patient_id: int, treatment_id: int, due_at: dt.datetime, kind: str, actor: str = "admin",
    now: Optional[dt.datetime] = None,
) -> ScheduledCheckin:
    checkin = ScheduledCheckin(patient_id=patient_id, treatment_id=treatment_id, due_at=due_at, kind=kind,
                               paused=False, attempts=0)
    uow.session.add(checkin)
    uow.flush()
    audit(uow, "checkin", checkin.id, "scheduled", actor, {"kind": kind, "due_at": due_at.isoformat()}, now)
    return checkin


def schedule_treatment_checkins(
    uow: UnitOfWork,
    treatment: Treatment,
    checkin_hours: Sequence[int],
    maintenance_days: Optional[Mapping[str, int]] = None,
    now: Optional[dt.datetime] = None,
    actor: str = "admin",
) -> List[ScheduledCheckin]:
    """Store the check-ins planned for this treatment (bot.checkins.schedule), skipping those already past.

    A check-in that is already due when the treatment is entered (entered days late) is not scheduled: the
    patient was just at the clinic, and a burst of "how are you?" messages on linking would be noise.
    """
    now = now or utcnow()
    planned = plan_checkins(treatment.performed_at, treatment.area, checkin_hours, maintenance_days)
    return [schedule_checkin(uow, treatment.patient_id, treatment.id, p.due_at, p.kind, actor=actor, now=now)
            for p in planned if p.due_at > now]


def due_checkins(uow: UnitOfWork, now: Optional[dt.datetime] = None) -> List[ScheduledCheckin]:
    query = (
        select(ScheduledCheckin)
        .where(ScheduledCheckin.sent_at.is_(None), ScheduledCheckin.skipped_at.is_(None),
               ScheduledCheckin.paused.is_(False), ScheduledCheckin.due_at <= (now or utcnow()))
        .order_by(ScheduledCheckin.due_at)
    )
    return list(uow.session.execute(query).scalars())


def mark_checkin_sent(uow: UnitOfWork, checkin_id: int, now: Optional[dt.datetime] = None) -> None:
    now = now or utcnow()
    checkin = uow.session.get(ScheduledCheckin, checkin_id)
    if checkin is not None and checkin.sent_at is None:
        checkin.sent_at = now
        audit(uow, "checkin", checkin.id, "sent", "system:checkins", now=now)


# Appointments and pre-treatment screening ---------------------------------------------------------------------
def add_appointment(
    uow: UnitOfWork,
    patient_id: int,
    scheduled_at: dt.datetime,
    area: str,
    method: str,
    practitioner_id: int,
    preparation_lead: Optional[dt.timedelta] = None,
    now: Optional[dt.datetime] = None,
    actor: str = "admin",
) -> Appointment:
    """Book a planned treatment. With `preparation_lead` (settings.preparation_lead_days), also schedule the
    preparation guidance that long before it (at once if the appointment is nearer; the check-in sender waits
    until the patient's chat is linked)."""
    now = now or utcnow()
    _check_treatment(uow, patient_id, practitioner_id, area, method)
    if scheduled_at.tzinfo is None:
        raise errors.InvalidValue("Appointment time needs a timezone (e.g. 2026-12-03T10:00+00:00).")
    if scheduled_at <= now:
        raise errors.AppointmentInPast(
            f"Appointment time {scheduled_at.isoformat()} is not in the future; for a treatment already done "
            "use `aftercare patient add`."
        )
    appointment = Appointment(patient_id=patient_id, practitioner_id=practitioner_id, scheduled_at=scheduled_at,
                              area=area, method=method, created_at=now)
    uow.session.add(appointment)
    uow.flush()
    audit(uow, "appointment", appointment.id, "created", actor,
          {"patient_id": patient_id, "practitioner_id": practitioner_id, "area": area, "method": method,
           "scheduled_at": scheduled_at.isoformat()}, now)
    due_at = preparation_due(scheduled_at, preparation_lead, now) if preparation_lead is not None else None
    if due_at is not None:
        checkin = ScheduledCheckin(patient_id=patient_id, appointment_id=appointment.id, due_at=due_at,
                                   kind=PREPARATION, paused=False, attempts=0)
        uow.session.add(checkin)
        uow.flush()
        audit(uow, "checkin", checkin.id, "scheduled", actor, {"kind": PREPARATION, "due_at": due_at.isoformat()},
              now)
    return appointment


def next_appointment(uow: UnitOfWork, patient_id: int, now: Optional[dt.datetime] = None) -> Optional[Appointment]:
    """The patient's earliest appointment still ahead, if any."""
    query = (
        select(Appointment)
        .where(Appointment.patient_id == patient_id, Appointment.scheduled_at > (now or utcnow()))
        .order_by(Appointment.scheduled_at, Appointment.id)
        .limit(1)
    )
    return uow.session.execute(query).scalar_one_or_none()


def record_screening(
    uow: UnitOfWork,
    patient_id: int,
    answers: Mapping[str, str],
    now: Optional[dt.datetime] = None,
    policy: Optional[EscalationPolicy] = None,
) -> RecordedScreening:
    """Store the patient's screening answers. If any item is "yes" or "unsure" (or unanswered), queue an alert
    for the practitioner of their next appointment (else of their latest treatment; on-call/backup when that
    one cannot be reached), in this same transaction."""
    now = now or utcnow()
    get_patient(uow, patient_id)
    try:
        answers = screening_items.check_answers(answers)
    except ValueError as error:
        raise errors.InvalidValue(str(error)) from None
    appointment = next_appointment(uow, patient_id, now)
    to_review = screening_items.flagged(answers)
    screening = Screening(patient_id=patient_id, appointment_id=appointment.id if appointment else None,
                          completed_at=now, answers=answers, flagged=[key for key, _ in to_review])
    uow.session.add(screening)
    uow.flush()
    audit(uow, "screening", screening.id, "recorded", f"patient:{patient_id}",
          {"appointment_id": screening.appointment_id, "flagged": list(screening.flagged)}, now)
    if not to_review:
        return RecordedScreening(screening)
    if appointment is not None:
        responsible: Optional[Practitioner] = appointment.practitioner
    else:
        treatment = latest_treatment(uow, patient_id)
        responsible = treatment.practitioner if treatment is not None else None
    treating = _practitioner_ref(responsible) if responsible is not None else None
    # A screening is not an emergency: the treating practitioner, else whoever the policy falls back to.
    recipients = (policy or EscalationPolicy()).initial_recipients(Level.MONITOR, treating, staff_refs(uow))
    if not recipients:
        log.error("screening %s needs review but no practitioner can be reached (add one with a chat id)",
                  screening.id)
    for person in recipients:
        values = dict(screening_id=screening.id, practitioner_id=person.id, recipient=f"practitioner:{person.id}",
                      chat_id=person.chat_id, kind="screening", round=0, status="pending", attempts=0,
                      next_attempt_at=now, created_at=now)
        if uow.session.execute(_insert_ignoring_duplicates(uow.session, values, "screening_id")).rowcount:
            audit(uow, "screening", screening.id, "queued_screening", "system:screening",
                  {"recipient": values["recipient"]}, now)
    query = select(AlertDelivery).where(AlertDelivery.screening_id == screening.id).order_by(AlertDelivery.id)
    return RecordedScreening(screening, tuple(uow.session.execute(query).scalars()))


def latest_screening(uow: UnitOfWork, patient_id: int) -> Optional[Screening]:
    query = (
        select(Screening).where(Screening.patient_id == patient_id)
        .order_by(Screening.completed_at.desc(), Screening.id.desc()).limit(1)
    )
    return uow.session.execute(query).scalar_one_or_none()


def screening_alert_context(uow: UnitOfWork, delivery: AlertDelivery) -> ScreeningAlertContext:
    """Everything bot.escalation.alerts needs to word a screening alert."""
    screening = uow.session.get(Screening, delivery.screening_id)
    patient = uow.session.get(Patient, screening.patient_id)
    appointment = uow.session.get(Appointment, screening.appointment_id) if screening.appointment_id else None
    answers = dict(screening.answers or {})
    return ScreeningAlertContext(
        screening_id=screening.id, kind=delivery.kind, round=delivery.round, patient_id=patient.id,
        patient_name=patient.display_name, phone=patient.phone, completed_at=screening.completed_at,
        to_review=tuple((key, answers.get(key, screening_items.UNSURE)) for key in screening.flagged or ()),
        appointment_at=appointment.scheduled_at if appointment else None,
        area=appointment.area if appointment else None, method=appointment.method if appointment else None,
    )


def patient_summary(uow: UnitOfWork, patient_id: int, recent: int = 5, viewer: Optional[str] = None,
                    now: Optional[dt.datetime] = None) -> Dict[str, Any]:
    """A short record for staff (/patient ID): latest treatment, the last few reports, unresolved escalations,
    the next appointment and the latest screening's answers that need review.

    viewer ("practitioner:3"): who reads it; the read goes to the audit trail (who, which patient, when), which
    the caller commits."""
    patient = get_patient(uow, patient_id)
    if viewer is not None:
        audit(uow, "patient", patient_id, "viewed", viewer, now=now)
    treatment = latest_treatment(uow, patient_id)
    appointment = next_appointment(uow, patient_id)
    screening = latest_screening(uow, patient_id)
    reports = uow.session.execute(
        select(SymptomReport).where(SymptomReport.patient_id == patient_id)
        .order_by(SymptomReport.received_at.desc(), SymptomReport.id.desc()).limit(recent)
    ).scalars().all()
    unresolved = uow.session.execute(
        select(Escalation).join(SymptomReport, SymptomReport.id == Escalation.report_id)
        .where(SymptomReport.patient_id == patient_id, Escalation.state != "resolved").order_by(Escalation.id)
    ).scalars().all()
    return {
        "id": patient.id,
        "name": patient.display_name,
        "phone": patient.phone,
        "treatment": None if treatment is None else {
            "id": treatment.id, "performed_at": treatment.performed_at.isoformat(), "area": treatment.area,
            "method": treatment.method, "product_batch": treatment.product_batch,
            "practitioner_id": treatment.practitioner_id,
        },
        "recent_reports": [
            {"id": r.id, "received_at": r.received_at.isoformat(), "level": r.level,
             "criteria": list(r.criteria or ()), "text": r.text}
            for r in reports
        ],
        "unresolved_escalations": [{"id": e.id, "level": e.level, "state": e.state} for e in unresolved],
        "next_appointment": None if appointment is None else {
            "id": appointment.id, "scheduled_at": appointment.scheduled_at.isoformat(), "area": appointment.area,
            "method": appointment.method, "practitioner_id": appointment.practitioner_id,
        },
        "latest_screening": None if screening is None else {
            "id": screening.id, "completed_at": screening.completed_at.isoformat(),
            "appointment_id": screening.appointment_id,
            "to_review": {key: (screening.answers or {}).get(key, screening_items.UNSURE)
                          for key in screening.flagged or ()},
        },
    }


# What the notifier needs ---------------------------------------------------------------------------------------
def staff_refs(uow: UnitOfWork) -> Tuple[PractitionerRef, ...]:
    return tuple(_practitioner_ref(p) for p in list_practitioners(uow, active_only=True))


def alert_context(
    uow: UnitOfWork, delivery: AlertDelivery, clinic_name: str = "the clinic",
    emergency_number: str = "your local emergency number",
) -> AlertContext:
    """Everything bot.escalation.alerts needs to word the message for one outbox row."""
    session = uow.session
    escalation = session.get(Escalation, delivery.escalation_id)
    report = session.get(SymptomReport, escalation.report_id)
    patient = session.get(Patient, report.patient_id)
    treatment = session.get(Treatment, report.treatment_id) if report.treatment_id else None
    treating = session.get(Practitioner, treatment.practitioner_id) if treatment else None
    acknowledged_by = session.get(Practitioner, escalation.acknowledged_by) if escalation.acknowledged_by else None
    photos = session.execute(
        select(func.count(Photo.id)).where((Photo.report_id == report.id) | (Photo.escalation_id == escalation.id))
    ).scalar_one()
    return AlertContext(
        escalation_id=escalation.id, kind=delivery.kind, round=delivery.round, level=escalation.level,
        patient_name=patient.display_name, report_text=report.text, received_at=report.received_at,
        findings=list(report.findings or ()), criteria=list(report.criteria or ()),
        treatment_at=treatment.performed_at if treatment else None,
        area=treatment.area if treatment else None, method=treatment.method if treatment else None,
        product_batch=treatment.product_batch if treatment else None,
        treating_name=treating.name if treating else None,
        acknowledged_by_name=acknowledged_by.name if acknowledged_by else None,
        photo_count=int(photos), clinic_name=clinic_name, emergency_number=emergency_number,
    )


# Export ------------------------------------------------------------------------------------------------------------
def export_patient(uow: UnitOfWork, patient_id: int, actor: Optional[str] = None,
                   now: Optional[dt.datetime] = None) -> Dict[str, Any]:
    """Everything on record about one patient, as JSON-serialisable data (subject access requests, handover).

    Link codes are listed without the code itself: an unused code still links a chat to this record.
    actor ("cli:alice"): who exports; the export goes to the audit trail (the caller commits).
    """
    session = uow.session
    patient = get_patient(uow, patient_id)
    if actor is not None:
        audit(uow, "patient", patient_id, "exported", actor, now=now)
        uow.flush()

    def rows(model: Any, *conditions: Any) -> List[Any]:
        return list(session.execute(select(model).where(*conditions).order_by(model.id)).scalars())

    treatments = rows(Treatment, Treatment.patient_id == patient_id)
    reports = rows(SymptomReport, SymptomReport.patient_id == patient_id)
    report_ids = [r.id for r in reports]
    escalations = rows(Escalation, Escalation.report_id.in_(report_ids)) if report_ids else []
    escalation_ids = [e.id for e in escalations]
    appointments = rows(Appointment, Appointment.patient_id == patient_id)
    screenings = rows(Screening, Screening.patient_id == patient_id)
    screening_ids = [s.id for s in screenings]
    deliveries = rows(AlertDelivery, AlertDelivery.escalation_id.in_(escalation_ids)) if escalation_ids else []
    deliveries += rows(AlertDelivery, AlertDelivery.screening_id.in_(screening_ids)) if screening_ids else []
    links = rows(ChatLink, ChatLink.patient_id == patient_id)
    codes = rows(LinkCode, LinkCode.patient_id == patient_id)
    photos = rows(Photo, Photo.patient_id == patient_id)
    checkins = rows(ScheduledCheckin, ScheduledCheckin.patient_id == patient_id)

    owned = {
        "patient": [patient_id], "treatment": [t.id for t in treatments], "symptom_report": report_ids,
        "escalation": escalation_ids, "chat_link": [c.id for c in links], "link_code": [c.id for c in codes],
        "photo": [p.id for p in photos], "checkin": [c.id for c in checkins],
        "appointment": [a.id for a in appointments], "screening": screening_ids,
        "alert_delivery": [d.id for d in deliveries],
    }
    audit_rows: List[AuditEvent] = []
    for entity, ids in owned.items():
        if ids:
            audit_rows += rows(AuditEvent, AuditEvent.entity == entity, AuditEvent.entity_id.in_(ids))
    audit_rows.sort(key=lambda a: (a.at, a.id))

    return {
        "exported_at": utcnow().isoformat(),
        "patient": _as_dict(patient),
        "treatments": [_as_dict(t) for t in treatments],
        "appointments": [_as_dict(a) for a in appointments],
        "screenings": [_as_dict(s) for s in screenings],
        "chat_links": [_as_dict(c) for c in links],
        "link_codes": [_as_dict(c, exclude=("code",)) for c in codes],
        "symptom_reports": [_as_dict(r) for r in reports],
        "photos": [_as_dict(p) for p in photos],
        "escalations": [_as_dict(e) for e in escalations],
        "alert_deliveries": [_as_dict(d, exclude=("claim_token",)) for d in deliveries],
        "checkins": [_as_dict(c, exclude=("claim_token",)) for c in checkins],
        "audit_events": [_as_dict(a) for a in audit_rows],
    }


# Erasure and retention ---------------------------------------------------------------------------------------------
ERASED = "erased"


@dataclass(frozen=True)
class PatientRows:
    """The ids of every row that belongs to one patient, table by table (what erase_patient removes)."""

    ids: Dict[str, List[int]]

    @property
    def counts(self) -> Dict[str, int]:
        return {table: len(ids) for table, ids in self.ids.items()}


def patient_rows(uow: UnitOfWork, patient_id: int) -> PatientRows:
    """Every row of the patient's: the record, treatments, appointments, screenings, chat links, link codes,
    reports (their words), escalations and their alert deliveries, photos (Telegram file ids), check-ins, and the
    audit events about any of these or done by the patient (whose details name levels, criteria, recipients)."""
    session = uow.session
    get_patient(uow, patient_id)

    def ids(model: Any, *conditions: Any) -> List[int]:
        return list(session.execute(select(model.id).where(*conditions).order_by(model.id)).scalars())

    reports = ids(SymptomReport, SymptomReport.patient_id == patient_id)
    escalations = ids(Escalation, Escalation.report_id.in_(reports)) if reports else []
    screenings = ids(Screening, Screening.patient_id == patient_id)
    deliveries = ids(AlertDelivery, or_(AlertDelivery.escalation_id.in_(escalations or [-1]),
                                        AlertDelivery.screening_id.in_(screenings or [-1]),
                                        AlertDelivery.recipient == f"patient:{patient_id}"))
    owned = {
        "patient": [patient_id],
        "treatment": ids(Treatment, Treatment.patient_id == patient_id),
        "appointment": ids(Appointment, Appointment.patient_id == patient_id),
        "screening": screenings,
        "chat_link": ids(ChatLink, ChatLink.patient_id == patient_id),
        "link_code": ids(LinkCode, LinkCode.patient_id == patient_id),
        "symptom_report": reports,
        "escalation": escalations,
        "photo": ids(Photo, Photo.patient_id == patient_id),
        "checkin": ids(ScheduledCheckin, ScheduledCheckin.patient_id == patient_id),
        "alert_delivery": deliveries,  # the notifier's "sent" / "failed" events (recipient, error text)
    }
    about = [(AuditEvent.entity == entity) & AuditEvent.entity_id.in_(entity_ids)
             for entity, entity_ids in owned.items() if entity_ids]
    audit_ids = ids(AuditEvent, or_(AuditEvent.actor == f"patient:{patient_id}", *about))
    return PatientRows({
        "patients": owned["patient"], "treatments": owned["treatment"], "appointments": owned["appointment"],
        "screenings": screenings, "chat_links": owned["chat_link"], "link_codes": owned["link_code"],
        "symptom_reports": reports, "escalations": escalations, "alert_deliveries": deliveries,
        "photos": owned["photo"], "scheduled_checkins": owned["checkin"], "audit_events": audit_ids,
    })


# Children first, so that every foreign key is satisfied on PostgreSQL and on SQLite (foreign_keys=ON).
_ERASE_ORDER = (
    ("alert_deliveries", AlertDelivery), ("photos", Photo), ("escalations", Escalation),
    ("scheduled_checkins", ScheduledCheckin), ("screenings", Screening), ("symptom_reports", SymptomReport),
    ("appointments", Appointment), ("treatments", Treatment), ("chat_links", ChatLink), ("link_codes", LinkCode),
    ("audit_events", AuditEvent), ("patients", Patient),
)


def erase_patient(uow: UnitOfWork, patient_id: int, actor: str, reason: str = "request",
                  now: Optional[dt.datetime] = None) -> Dict[str, int]:
    """Delete every row of the patient's (patient_rows) and leave one tombstone in the audit trail: entity
    "patient", their id, action "erased", who and when, and how many rows went per table (no name, no words, no
    health data). Returns those counts. The caller commits, then erases the Rasa conversation
    (bot.store.conversations) and records how that went with `record_conversation_erasure`."""
    now = now or utcnow()
    rows = patient_rows(uow, patient_id)
    counts = rows.counts
    uow.session.expunge_all()  # the bulk deletes below must not meet stale objects at the next flush
    for table, model in _ERASE_ORDER:
        ids = rows.ids[table]
        for start in range(0, len(ids), 500):
            uow.session.execute(delete(model).where(model.id.in_(ids[start:start + 500]))
                                .execution_options(synchronize_session=False))
    audit(uow, "patient", patient_id, ERASED, actor, {"reason": reason, "rows": counts}, now)
    uow.flush()
    log.info("patient %s erased by %s (%s)", patient_id, actor, reason)
    return counts


def was_erased(uow: UnitOfWork, patient_id: int) -> bool:
    """True when the audit trail holds the patient's tombstone."""
    query = select(AuditEvent.id).where(AuditEvent.entity == "patient", AuditEvent.entity_id == patient_id,
                                        AuditEvent.action == ERASED).limit(1)
    return uow.session.execute(query).first() is not None


def record_conversation_erasure(uow: UnitOfWork, patient_id: int, actor: str, events: Optional[int],
                                now: Optional[dt.datetime] = None) -> None:
    """After erase_patient: how many conversation events were deleted, or None when the store was unreachable."""
    if events is None:
        audit(uow, "patient", patient_id, "conversation_not_erased", actor, {"reason": "store unreachable"}, now)
    else:
        audit(uow, "patient", patient_id, "conversation_erased", actor, {"events": events}, now)


def last_activity(uow: UnitOfWork, patient_id: int) -> dt.datetime:
    """The latest moment the clinic's records show for the patient: registered, treated, an appointment (also a
    future one), wrote (reports, check-in answers), answered the screening, linked a chat."""
    session = uow.session
    patient = get_patient(uow, patient_id)
    moments = [patient.created_at]
    for column, owner in ((Treatment.performed_at, Treatment.patient_id),
                          (Appointment.scheduled_at, Appointment.patient_id),
                          (SymptomReport.received_at, SymptomReport.patient_id),
                          (Screening.completed_at, Screening.patient_id),
                          (ChatLink.linked_at, ChatLink.patient_id),
                          (Photo.received_at, Photo.patient_id)):
        latest = session.execute(select(func.max(column)).where(owner == patient_id)).scalar_one()
        if latest is not None:
            # SQLite gives MAX() of our UTC text back as text; normalise both backends to aware UTC.
            if isinstance(latest, str):
                latest = dt.datetime.fromisoformat(latest)
            moments.append(latest if latest.tzinfo else latest.replace(tzinfo=dt.timezone.utc))
    return max(moments)


def inactive_patients(uow: UnitOfWork, before: dt.datetime) -> List[int]:
    """Ids of patients whose last activity (last_activity) is older than `before`, lowest first."""
    ids = uow.session.execute(select(Patient.id).order_by(Patient.id)).scalars().all()
    return [patient_id for patient_id in ids if last_activity(uow, patient_id) < before]


# Helpers -----------------------------------------------------------------------------------------------------------
def finding_to_json(finding: Finding) -> Dict[str, Any]:
    data = dataclasses.asdict(finding)
    return {key: list(value) if isinstance(value, tuple) else value for key, value in data.items()}


def finding_from_json(data: Dict[str, Any]) -> Finding:
    return Finding(
        symptom=data["symptom"], negated=bool(data.get("negated")), severity=tuple(data.get("severity") or ()),
        trend=tuple(data.get("trend") or ()), area=data.get("area"), text=data.get("text") or "",
    )


def _practitioner_ref(practitioner: Practitioner) -> PractitionerRef:
    return PractitionerRef(id=practitioner.id, role=practitioner.role, chat_id=practitioner.telegram_chat_id,
                           active=bool(practitioner.active))


def _as_dict(row: Any, exclude: Sequence[str] = ()) -> Dict[str, Any]:
    result = {}
    for column in row.__table__.columns:
        if column.key in exclude:
            continue
        value = getattr(row, column.key)
        result[column.key] = value.isoformat() if isinstance(value, dt.datetime) else value
    return result


def _check_treatment(uow: UnitOfWork, patient_id: int, practitioner_id: int, area: str, method: str) -> None:
    """What a performed or a planned treatment both need: a known area and method, patient and practitioner."""
    _check_choice(area, AREAS, "area")
    _check_choice(method, METHODS, "method")
    get_patient(uow, patient_id)
    get_practitioner(uow, practitioner_id)


def _check_choice(value: str, allowed: Sequence[str], what: str) -> None:
    if value not in allowed:
        raise errors.InvalidValue(f"{what} must be one of {', '.join(allowed)} (got {value!r}).")


def _required_text(value: Optional[str], what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise errors.InvalidValue(f"{what} must not be empty.")
    return value
