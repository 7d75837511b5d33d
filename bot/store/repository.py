"""Row access: rows in, rows out. Every function takes an open UnitOfWork; the use case that opened it commits.

    with uow:                                   # in bot/usecases/…
        patient = repository.patient_for_chat(uow, chat_id)
        report = repository.add_report(uow, …)
        uow.commit()

Nothing here decides anything clinical or about escalation (who is alerted, what a state change means, which
check-ins to skip): that is bot/usecases. What is here: the queries, the inserts (with the database-level
dedupe of the outbox), the audit rows the use cases ask for, and lookups that raise bot.store.errors when a row
is missing (their messages can be shown to a clinic user as they are). Patient names and words never go to logs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, joinedload

from bot.store import errors
from bot.store.models import (
    AlertDelivery,
    Appointment,
    AuditEvent,
    ChatLink,
    ConsoleAccount,
    ConsoleSession,
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
from bot.triage.model import Finding

log = logging.getLogger(__name__)

ERASED = "erased"  # the audit action of a patient's tombstone


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
        AuditEvent(
            entity=entity, entity_id=entity_id, action=action, actor=actor, at=now or utcnow(), detail=detail or {}
        )
    )


# Practitioners --------------------------------------------------------------------------------------------------
def add_practitioner(
    uow: UnitOfWork, name: str, role: str, chat_id: Optional[int], active: bool, now: dt.datetime
) -> Practitioner:
    practitioner = Practitioner(name=name, role=role, telegram_chat_id=chat_id, active=active, created_at=now)
    uow.session.add(practitioner)
    uow.flush()
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


# Patients and treatments --------------------------------------------------------------------------------------------
def add_patient(uow: UnitOfWork, display_name: str, phone: Optional[str], now: dt.datetime) -> Patient:
    patient = Patient(id=_next_patient_id(uow), display_name=display_name, phone=phone, created_at=now)
    uow.session.add(patient)
    uow.flush()
    return patient


def _next_patient_id(uow: UnitOfWork) -> Optional[int]:
    """On SQLite, an id no patient ever had: one past both the highest id in use and the highest erased one (the
    tombstones in the audit trail). SQLite would otherwise give the id of an erased patient to the next one, who
    would inherit whatever still carried it (a conversation store unreachable at the erasure, a practitioner's
    memory of "patient 12"). PostgreSQL's sequences never reuse ids: None lets the database choose."""
    if uow.session.get_bind().dialect.name != "sqlite":
        return None
    highest = uow.session.execute(select(func.max(Patient.id))).scalar_one() or 0
    erased = (
        uow.session.execute(
            select(func.max(AuditEvent.entity_id)).where(AuditEvent.entity == "patient", AuditEvent.action == ERASED)
        ).scalar_one()
        or 0
    )
    return max(highest, erased) + 1


def get_patient(uow: UnitOfWork, patient_id: int) -> Patient:
    patient = uow.session.get(Patient, patient_id)
    if patient is None:
        raise errors.UnknownPatient(f"No patient with id {patient_id}.")
    return patient


def list_patient_ids(uow: UnitOfWork) -> List[int]:
    return list(uow.session.execute(select(Patient.id).order_by(Patient.id)).scalars())


def add_treatment(
    uow: UnitOfWork,
    patient_id: int,
    practitioner_id: int,
    performed_at: dt.datetime,
    area: str,
    method: str,
    product_batch: Optional[str],
    now: dt.datetime,
) -> Treatment:
    treatment = Treatment(
        patient_id=patient_id,
        practitioner_id=practitioner_id,
        performed_at=performed_at,
        area=area,
        method=method,
        product_batch=product_batch,
        created_at=now,
    )
    uow.session.add(treatment)
    uow.flush()
    return treatment


def get_treatment(uow: UnitOfWork, treatment_id: int, with_practitioner: bool = False) -> Treatment:
    """`with_practitioner` loads the treating practitioner in the same query (else on first use, a query more)."""
    options = [joinedload(Treatment.practitioner)] if with_practitioner else []
    treatment = uow.session.get(Treatment, treatment_id, options=options)
    if treatment is None:
        raise errors.UnknownTreatment(f"No treatment with id {treatment_id}.")
    return treatment


def latest_treatment(uow: UnitOfWork, patient_id: int) -> Optional[Treatment]:
    query = (
        select(Treatment)
        .where(Treatment.patient_id == patient_id)
        .order_by(Treatment.performed_at.desc(), Treatment.id.desc())
        .limit(1)
    )
    return uow.session.execute(query).scalar_one_or_none()


@dataclasses.dataclass(frozen=True)
class ReportSummary:
    """What the triage core reads of an earlier report."""

    received_at: dt.datetime
    findings: List[Dict[str, Any]]
    level: str


def latest_treatment_with_reports(uow: UnitOfWork, patient_id: int) -> Optional[Tuple[Treatment, List[ReportSummary]]]:
    """The patient's latest treatment (as latest_treatment) with its reports, oldest first, in one query: read on
    every message a patient's triage looks at."""
    latest = (
        select(Treatment.id)
        .where(Treatment.patient_id == patient_id)
        .order_by(Treatment.performed_at.desc(), Treatment.id.desc())
        .limit(1)
        .correlate(None)  # its own FROM, never the outer query's treatments (which would match every treatment)
        .scalar_subquery()
    )
    query = (
        select(Treatment, SymptomReport.received_at, SymptomReport.findings, SymptomReport.level)
        .outerjoin(SymptomReport, SymptomReport.treatment_id == Treatment.id)
        .where(Treatment.id == latest)
        .order_by(SymptomReport.received_at, SymptomReport.id)
    )
    rows = uow.session.execute(query).all()
    if not rows:
        return None
    reports = [ReportSummary(row[1], row[2], row[3]) for row in rows if row[1] is not None]
    return rows[0][0], reports


# Link codes and chat links --------------------------------------------------------------------------------------
def add_link_code(uow: UnitOfWork, code: str, patient_id: int, now: dt.datetime, expires_at: dt.datetime) -> LinkCode:
    link_code = LinkCode(code=code, patient_id=patient_id, created_at=now, expires_at=expires_at)
    uow.session.add(link_code)
    uow.flush()
    return link_code


def link_code_for_update(uow: UnitOfWork, code: str) -> Optional[LinkCode]:
    query = select(LinkCode).where(LinkCode.code == code).with_for_update()
    return uow.session.execute(query).scalar_one_or_none()


def live_link_codes_for_update(uow: UnitOfWork, patient_id: int, now: dt.datetime) -> List[LinkCode]:
    """The patient's codes not used and not expired at `now`, locked."""
    query = (
        select(LinkCode)
        .where(LinkCode.patient_id == patient_id, LinkCode.used_at.is_(None), LinkCode.expires_at > now)
        .with_for_update()
    )
    return list(uow.session.execute(query).scalars())


def chat_link_for_chat(uow: UnitOfWork, chat_id: int) -> Optional[ChatLink]:
    query = select(ChatLink).where(ChatLink.telegram_chat_id == chat_id)
    return uow.session.execute(query).scalar_one_or_none()


def chat_links(uow: UnitOfWork, patient_id: int, except_chat: Optional[int] = None) -> List[ChatLink]:
    query = select(ChatLink).where(ChatLink.patient_id == patient_id)
    if except_chat is not None:
        query = query.where(ChatLink.telegram_chat_id != except_chat)
    return list(uow.session.execute(query).scalars())


def latest_chat_link(uow: UnitOfWork, patient_id: int) -> Optional[ChatLink]:
    query = (
        select(ChatLink)
        .where(ChatLink.patient_id == patient_id)
        .order_by(ChatLink.linked_at.desc(), ChatLink.id.desc())
        .limit(1)
    )
    return uow.session.execute(query).scalar_one_or_none()


def add_chat_link(uow: UnitOfWork, patient_id: int, chat_id: int, now: dt.datetime) -> ChatLink:
    link = ChatLink(patient_id=patient_id, telegram_chat_id=chat_id, linked_at=now)
    uow.session.add(link)
    uow.flush()
    return link


def delete_rows(uow: UnitOfWork, rows: Iterable[Any]) -> None:
    for row in rows:
        uow.session.delete(row)
    uow.flush()


def patient_for_chat(uow: UnitOfWork, chat_id: int) -> Optional[Patient]:
    query = (
        select(Patient).join(ChatLink, ChatLink.patient_id == Patient.id).where(ChatLink.telegram_chat_id == chat_id)
    )
    return uow.session.execute(query).scalar_one_or_none()


def readdress_pending_patient_deliveries(uow: UnitOfWork, patient_id: int, chat_id: int) -> None:
    """Point the patient's still-pending notices at another chat."""
    uow.session.execute(
        update(AlertDelivery)
        .where(AlertDelivery.recipient == f"patient:{patient_id}", AlertDelivery.status == "pending")
        .values(chat_id=chat_id)
        .execution_options(synchronize_session=False)
    )
    uow.flush()


def cancel_pending_patient_deliveries(uow: UnitOfWork, patient_id: int) -> int:
    statement = (
        update(AlertDelivery)
        .where(AlertDelivery.recipient == f"patient:{patient_id}", AlertDelivery.status == "pending")
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    )
    cancelled = uow.session.execute(statement).rowcount or 0
    uow.flush()
    return cancelled


# Reports ----------------------------------------------------------------------------------------------------------
def add_report(
    uow: UnitOfWork,
    patient_id: int,
    treatment_id: Optional[int],
    text: str,
    findings: Sequence[Finding],
    level: str,
    criteria: Sequence[str],
    source: str,
    now: dt.datetime,
) -> SymptomReport:
    report = SymptomReport(
        patient_id=patient_id,
        treatment_id=treatment_id,
        received_at=now,
        text=text,
        findings=[finding_to_json(f) for f in findings],
        level=level,
        criteria=list(criteria),
        source=source,
    )
    uow.session.add(report)
    uow.flush()
    return report


def get_report(uow: UnitOfWork, report_id: int) -> SymptomReport:
    return uow.session.get(SymptomReport, report_id)


def recent_reports(uow: UnitOfWork, patient_id: int, limit: int) -> List[SymptomReport]:
    """Newest first."""
    query = (
        select(SymptomReport)
        .where(SymptomReport.patient_id == patient_id)
        .order_by(SymptomReport.received_at.desc(), SymptomReport.id.desc())
        .limit(limit)
    )
    return list(uow.session.execute(query).scalars())


def reports_since(
    uow: UnitOfWork, patient_id: int, since: dt.datetime, source: Optional[str] = None
) -> List[Tuple[SymptomReport, Optional[Escalation]]]:
    """The patient's reports received at or after `since` (oldest first), each with its escalation if any."""
    query = (
        select(SymptomReport, Escalation)
        .outerjoin(Escalation, Escalation.report_id == SymptomReport.id)
        .where(SymptomReport.patient_id == patient_id, SymptomReport.received_at >= since)
        .order_by(SymptomReport.received_at, SymptomReport.id)
    )
    if source is not None:
        query = query.where(SymptomReport.source == source)
    return [(report, escalation) for report, escalation in uow.session.execute(query).all()]


# Escalations and the outbox ----------------------------------------------------------------------------------------
def add_escalation(uow: UnitOfWork, report: SymptomReport, state: str, now: dt.datetime) -> Escalation:
    escalation = Escalation(report_id=report.id, level=report.level, state=state, created_at=now)
    uow.session.add(escalation)
    uow.flush()
    return escalation


def escalation_for_update(uow: UnitOfWork, escalation_id: int) -> Escalation:
    # Row lock on PostgreSQL (SQLite serialises writers with BEGIN IMMEDIATE): two practitioners pressing
    # Acknowledge at the same moment produce one state change, not two.
    escalation = uow.session.get(Escalation, escalation_id, with_for_update=True)
    if escalation is None:
        raise errors.UnknownEscalation(f"No escalation with id {escalation_id}.")
    return escalation


def escalations_in(uow: UnitOfWork, states: Sequence[str]) -> List[Escalation]:
    """Escalations in these states, oldest first."""
    query = select(Escalation).where(Escalation.state.in_(states)).order_by(Escalation.created_at, Escalation.id)
    return list(uow.session.execute(query).scalars())


def escalations_with_treating(uow: UnitOfWork, state: str) -> List[Tuple[Escalation, Optional[Practitioner]]]:
    """Escalations in `state`, each with the practitioner who performed the treatment (None without one), by id."""
    query = (
        select(Escalation, Practitioner)
        .join(SymptomReport, SymptomReport.id == Escalation.report_id)
        .outerjoin(Treatment, Treatment.id == SymptomReport.treatment_id)
        .outerjoin(Practitioner, Practitioner.id == Treatment.practitioner_id)
        .where(Escalation.state == state)
        .order_by(Escalation.id)
    )
    return [(escalation, treating) for escalation, treating in uow.session.execute(query).all()]


def practitioner_deliveries(uow: UnitOfWork, escalation_ids: Sequence[int]) -> List[Any]:
    """(escalation_id, practitioner_id, kind, round, status) of every practitioner alert of these escalations."""
    if not escalation_ids:
        return []
    query = select(
        AlertDelivery.escalation_id,
        AlertDelivery.practitioner_id,
        AlertDelivery.kind,
        AlertDelivery.round,
        AlertDelivery.status,
    ).where(
        AlertDelivery.escalation_id.in_(escalation_ids),
        AlertDelivery.practitioner_id.isnot(None),
        AlertDelivery.kind != "photo",  # a forwarded photo is no alert: its failure says nothing about reaching anyone
    )
    return list(uow.session.execute(query).all())


def alerted_practitioners(uow: UnitOfWork, escalation_id: int, kinds: Sequence[str]) -> List[Practitioner]:
    """Active practitioners with a chat who have a delivery of these kinds for the escalation that is sent or
    still pending (not failed or cancelled), by id."""
    query = (
        select(Practitioner)
        .where(
            Practitioner.id.in_(
                select(AlertDelivery.practitioner_id).where(
                    AlertDelivery.escalation_id == escalation_id,
                    AlertDelivery.kind.in_(tuple(kinds)),
                    AlertDelivery.status.in_(("sent", "pending")),
                )
            ),
            Practitioner.active.is_(True),
            Practitioner.telegram_chat_id.isnot(None),
        )
        .order_by(Practitioner.id)
    )
    return list(uow.session.execute(query).scalars())


def patient_escalations_not_in(uow: UnitOfWork, patient_id: int, state: str) -> List[Escalation]:
    """The patient's escalations in any state but `state`, newest first."""
    query = (
        select(Escalation)
        .join(SymptomReport, SymptomReport.id == Escalation.report_id)
        .where(SymptomReport.patient_id == patient_id, Escalation.state != state)
        .order_by(Escalation.created_at.desc(), Escalation.id.desc())
    )
    return list(uow.session.execute(query).scalars())


def _pending_delivery(
    escalation_id: int,
    recipient: str,
    chat_id: int,
    kind: str,
    round_: int,
    now: dt.datetime,
    practitioner_id: Optional[int],
) -> Dict[str, Any]:
    """The columns of a new outbox row about an escalation, due now."""
    return dict(
        escalation_id=escalation_id,
        practitioner_id=practitioner_id,
        recipient=recipient,
        chat_id=chat_id,
        kind=kind,
        round=round_,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )


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
    values = _pending_delivery(escalation_id, recipient, chat_id, kind, round_, now, practitioner_id)
    inserted = (uow.session.execute(_insert_ignoring_duplicates(uow.session, values)).rowcount or 0) > 0
    if inserted:
        audit(uow, "escalation", escalation_id, f"queued_{kind}", actor, {"recipient": recipient, "round": round_}, now)
    return inserted


def queue_screening_delivery(
    uow: UnitOfWork, screening_id: int, practitioner_id: int, chat_id: int, now: dt.datetime
) -> bool:
    """The screening's outbox row for one practitioner, unless already queued. True if this call inserted it."""
    recipient = f"practitioner:{practitioner_id}"
    values = dict(
        screening_id=screening_id,
        practitioner_id=practitioner_id,
        recipient=recipient,
        chat_id=chat_id,
        kind="screening",
        round=0,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    inserted = (uow.session.execute(_insert_ignoring_duplicates(uow.session, values, "screening_id")).rowcount or 0) > 0
    if inserted:
        audit(uow, "screening", screening_id, "queued_screening", "system:screening", {"recipient": recipient}, now)
    return inserted


def add_delivery(
    uow: UnitOfWork,
    escalation_id: int,
    recipient: str,
    chat_id: int,
    kind: str,
    round_: int,
    now: dt.datetime,
    practitioner_id: Optional[int] = None,
    actor: str = "system:escalation",
) -> AlertDelivery:
    """queue_delivery for an escalation opened in this same transaction, which can have no row to collide with: a
    plain insert, written with the transaction's other rows, and the row itself returned."""
    delivery = AlertDelivery(**_pending_delivery(escalation_id, recipient, chat_id, kind, round_, now, practitioner_id))
    uow.session.add(delivery)
    audit(uow, "escalation", escalation_id, f"queued_{kind}", actor, {"recipient": recipient, "round": round_}, now)
    return delivery


def _insert_ignoring_duplicates(session: Session, values: Dict[str, Any], subject: str = "escalation_id") -> Any:
    dialect = session.get_bind().dialect.name
    dedupe = [subject, "recipient", "kind", "round"]
    if dialect == "postgresql":
        return postgresql.insert(AlertDelivery).values(**values).on_conflict_do_nothing(index_elements=dedupe)
    if dialect == "sqlite":
        return sqlite.insert(AlertDelivery).values(**values).on_conflict_do_nothing(index_elements=dedupe)
    return insert(AlertDelivery).values(**values)  # other databases: the unique constraint still protects us


def deliveries_for(
    uow: UnitOfWork, escalation_id: Optional[int] = None, screening_id: Optional[int] = None
) -> List[AlertDelivery]:
    column, value = (
        (AlertDelivery.escalation_id, escalation_id)
        if escalation_id is not None
        else (AlertDelivery.screening_id, screening_id)
    )
    query = select(AlertDelivery).where(column == value).order_by(AlertDelivery.id)
    return list(uow.session.execute(query).scalars())


def cancel_pending_deliveries(uow: UnitOfWork, escalation_id: int, kinds: Sequence[str]) -> int:
    statement = (
        update(AlertDelivery)
        .where(
            AlertDelivery.escalation_id == escalation_id,
            AlertDelivery.status == "pending",
            AlertDelivery.kind.in_(tuple(kinds)),
        )
        .values(status="cancelled")
        .execution_options(synchronize_session=False)
    )
    return uow.session.execute(statement).rowcount or 0


# Photos -------------------------------------------------------------------------------------------------------------
def add_photo(
    uow: UnitOfWork,
    patient_id: int,
    file_id: str,
    report_id: Optional[int],
    escalation_id: Optional[int],
    caption: Optional[str],
    now: dt.datetime,
) -> Photo:
    photo = Photo(
        patient_id=patient_id,
        file_id=file_id,
        report_id=report_id,
        escalation_id=escalation_id,
        received_at=now,
        caption=caption,
    )
    uow.session.add(photo)
    uow.flush()
    return photo


def photo_count(uow: UnitOfWork, report_id: int, escalation_id: int) -> int:
    query = select(func.count(Photo.id)).where((Photo.report_id == report_id) | (Photo.escalation_id == escalation_id))
    return int(uow.session.execute(query).scalar_one())


def photos_of(uow: UnitOfWork, report_id: int, escalation_id: int) -> List[Photo]:
    """The photos of a report or its escalation, oldest first."""
    query = (
        select(Photo)
        .where((Photo.report_id == report_id) | (Photo.escalation_id == escalation_id))
        .order_by(Photo.received_at, Photo.id)
    )
    return list(uow.session.execute(query).scalars())


def patient_photos(uow: UnitOfWork, patient_id: int, limit: int) -> List[Photo]:
    """The patient's newest photos (at most `limit`), oldest of them first."""
    query = (
        select(Photo)
        .where(Photo.patient_id == patient_id)
        .order_by(Photo.received_at.desc(), Photo.id.desc())
        .limit(limit)
    )
    return list(reversed(list(uow.session.execute(query).scalars())))


def get_photo(uow: UnitOfWork, photo_id: int) -> Optional[Photo]:
    return uow.session.get(Photo, photo_id)


def loose_photos_since(uow: UnitOfWork, patient_id: int, since: dt.datetime) -> List[Photo]:
    """The patient's photos received at or after `since` that belong to no report and no escalation yet."""
    query = (
        select(Photo)
        .where(
            Photo.patient_id == patient_id,
            Photo.report_id.is_(None),
            Photo.escalation_id.is_(None),
            Photo.received_at >= since,
        )
        .order_by(Photo.id)
    )
    return list(uow.session.execute(query).scalars())


# Check-ins ----------------------------------------------------------------------------------------------------------
def add_checkin(
    uow: UnitOfWork,
    patient_id: int,
    due_at: dt.datetime,
    kind: str,
    treatment_id: Optional[int] = None,
    appointment_id: Optional[int] = None,
) -> ScheduledCheckin:
    checkin = ScheduledCheckin(
        patient_id=patient_id,
        treatment_id=treatment_id,
        appointment_id=appointment_id,
        due_at=due_at,
        kind=kind,
        paused=False,
        attempts=0,
    )
    uow.session.add(checkin)
    uow.flush()
    return checkin


def _pending_checkins(patient_id: int) -> Tuple[Any, ...]:
    return (
        ScheduledCheckin.patient_id == patient_id,
        ScheduledCheckin.sent_at.is_(None),
        ScheduledCheckin.skipped_at.is_(None),
    )


def skip_paused_checkins_due_by(uow: UnitOfWork, patient_id: int, now: dt.datetime) -> int:
    """Mark the patient's paused, pending check-ins due at or before `now` as skipped. Returns how many."""
    statement = (
        update(ScheduledCheckin)
        .where(*_pending_checkins(patient_id), ScheduledCheckin.paused.is_(True), ScheduledCheckin.due_at <= now)
        .values(skipped_at=now)
        .execution_options(synchronize_session=False)
    )
    return uow.session.execute(statement).rowcount or 0


def set_pending_checkins_paused(
    uow: UnitOfWork, patient_id: int, paused: bool, due_after: Optional[dt.datetime] = None
) -> int:
    """Pause or unpause the patient's pending check-ins (only those due after `due_after` when given)."""
    conditions = _pending_checkins(patient_id) + (ScheduledCheckin.paused.is_(not paused),)
    if due_after is not None:
        conditions += (ScheduledCheckin.due_at > due_after,)
    statement = (
        update(ScheduledCheckin).where(*conditions).values(paused=paused).execution_options(synchronize_session=False)
    )
    return uow.session.execute(statement).rowcount or 0


def due_checkins(uow: UnitOfWork, now: Optional[dt.datetime] = None) -> List[ScheduledCheckin]:
    query = (
        select(ScheduledCheckin)
        .where(
            ScheduledCheckin.sent_at.is_(None),
            ScheduledCheckin.skipped_at.is_(None),
            ScheduledCheckin.paused.is_(False),
            ScheduledCheckin.due_at <= (now or utcnow()),
        )
        .order_by(ScheduledCheckin.due_at)
    )
    return list(uow.session.execute(query).scalars())


def mark_checkin_sent(uow: UnitOfWork, checkin_id: int, now: Optional[dt.datetime] = None) -> None:
    now = now or utcnow()
    checkin = uow.session.get(ScheduledCheckin, checkin_id)
    if checkin is not None and checkin.sent_at is None:
        checkin.sent_at = now
        audit(uow, "checkin", checkin.id, "sent", "system:checkins", now=now)


# Appointments and screenings --------------------------------------------------------------------------------------
def add_appointment(
    uow: UnitOfWork,
    patient_id: int,
    practitioner_id: int,
    scheduled_at: dt.datetime,
    area: str,
    method: str,
    now: dt.datetime,
) -> Appointment:
    appointment = Appointment(
        patient_id=patient_id,
        practitioner_id=practitioner_id,
        scheduled_at=scheduled_at,
        area=area,
        method=method,
        created_at=now,
    )
    uow.session.add(appointment)
    uow.flush()
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


def add_screening(
    uow: UnitOfWork,
    patient_id: int,
    appointment_id: Optional[int],
    answers: Dict[str, str],
    flagged: Sequence[str],
    now: dt.datetime,
) -> Screening:
    screening = Screening(
        patient_id=patient_id, appointment_id=appointment_id, completed_at=now, answers=answers, flagged=list(flagged)
    )
    uow.session.add(screening)
    uow.flush()
    return screening


def latest_screening(uow: UnitOfWork, patient_id: int) -> Optional[Screening]:
    query = (
        select(Screening)
        .where(Screening.patient_id == patient_id)
        .order_by(Screening.completed_at.desc(), Screening.id.desc())
        .limit(1)
    )
    return uow.session.execute(query).scalar_one_or_none()


# A patient's rows: export, erasure, retention ------------------------------------------------------------------
def rows_of(uow: UnitOfWork, model: Any, *conditions: Any) -> List[Any]:
    """Rows of `model` matching `conditions`, by id (for exports)."""
    return list(uow.session.execute(select(model).where(*conditions).order_by(model.id)).scalars())


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
    deliveries = ids(
        AlertDelivery,
        or_(
            AlertDelivery.escalation_id.in_(escalations or [-1]),
            AlertDelivery.screening_id.in_(screenings or [-1]),
            AlertDelivery.recipient == f"patient:{patient_id}",
        ),
    )
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
    about = [
        (AuditEvent.entity == entity) & AuditEvent.entity_id.in_(entity_ids)
        for entity, entity_ids in owned.items()
        if entity_ids
    ]
    audit_ids = ids(AuditEvent, or_(AuditEvent.actor == f"patient:{patient_id}", *about))
    return PatientRows(
        {
            "patients": owned["patient"],
            "treatments": owned["treatment"],
            "appointments": owned["appointment"],
            "screenings": screenings,
            "chat_links": owned["chat_link"],
            "link_codes": owned["link_code"],
            "symptom_reports": reports,
            "escalations": escalations,
            "alert_deliveries": deliveries,
            "photos": owned["photo"],
            "scheduled_checkins": owned["checkin"],
            "audit_events": audit_ids,
        }
    )


# Children first, so that every foreign key is satisfied on PostgreSQL and on SQLite (foreign_keys=ON).
_ERASE_ORDER = (
    ("alert_deliveries", AlertDelivery),
    ("photos", Photo),
    ("escalations", Escalation),
    ("scheduled_checkins", ScheduledCheckin),
    ("screenings", Screening),
    ("symptom_reports", SymptomReport),
    ("appointments", Appointment),
    ("treatments", Treatment),
    ("chat_links", ChatLink),
    ("link_codes", LinkCode),
    ("audit_events", AuditEvent),
    ("patients", Patient),
)


def delete_patient_rows(uow: UnitOfWork, rows: PatientRows) -> None:
    """Delete the rows `patient_rows` found, children first."""
    uow.session.expunge_all()  # the bulk deletes below must not meet stale objects at the next flush
    for table, model in _ERASE_ORDER:
        ids = rows.ids[table]
        for start in range(0, len(ids), 500):
            uow.session.execute(
                delete(model).where(model.id.in_(ids[start : start + 500])).execution_options(synchronize_session=False)
            )
    uow.flush()


def was_erased(uow: UnitOfWork, patient_id: int) -> bool:
    """True when the audit trail holds the patient's tombstone."""
    query = (
        select(AuditEvent.id)
        .where(AuditEvent.entity == "patient", AuditEvent.entity_id == patient_id, AuditEvent.action == ERASED)
        .limit(1)
    )
    return uow.session.execute(query).first() is not None


def last_activity(uow: UnitOfWork, patient_id: int) -> dt.datetime:
    """The latest moment the clinic's records show for the patient: registered, treated, an appointment (also a
    future one), wrote (reports, check-in answers), answered the screening, linked a chat."""
    session = uow.session
    patient = get_patient(uow, patient_id)
    moments = [patient.created_at]
    for column, owner in (
        (Treatment.performed_at, Treatment.patient_id),
        (Appointment.scheduled_at, Appointment.patient_id),
        (SymptomReport.received_at, SymptomReport.patient_id),
        (Screening.completed_at, Screening.patient_id),
        (ChatLink.linked_at, ChatLink.patient_id),
        (Photo.received_at, Photo.patient_id),
    ):
        latest = session.execute(select(func.max(column)).where(owner == patient_id)).scalar_one()
        if latest is not None:
            # SQLite gives MAX() of our UTC text back as text; normalise both backends to aware UTC.
            if isinstance(latest, str):
                latest = dt.datetime.fromisoformat(latest)
            moments.append(latest if latest.tzinfo else latest.replace(tzinfo=dt.timezone.utc))
    return max(moments)


# Console accounts and sessions -------------------------------------------------------------------------------------
def add_console_account(
    uow: UnitOfWork,
    username: str,
    password_hash: str,
    role: str,
    practitioner_id: Optional[int],
    now: dt.datetime,
) -> ConsoleAccount:
    account = ConsoleAccount(
        username=username,
        password_hash=password_hash,
        role=role,
        practitioner_id=practitioner_id,
        active=True,
        created_at=now,
        password_changed_at=now,
    )
    uow.session.add(account)
    uow.session.flush()
    return account


def console_account_by_username(uow: UnitOfWork, username: str) -> Optional[ConsoleAccount]:
    return uow.session.execute(select(ConsoleAccount).where(ConsoleAccount.username == username)).scalar_one_or_none()


def get_console_account(uow: UnitOfWork, account_id: int) -> Optional[ConsoleAccount]:
    return uow.session.get(ConsoleAccount, account_id)


def list_console_accounts(uow: UnitOfWork) -> List[ConsoleAccount]:
    return list(uow.session.execute(select(ConsoleAccount).order_by(ConsoleAccount.username)).scalars())


def add_console_session(
    uow: UnitOfWork, account_id: int, token_hash: str, csrf_token: str, now: dt.datetime, expires_at: dt.datetime
) -> ConsoleSession:
    row = ConsoleSession(
        account_id=account_id,
        token_hash=token_hash,
        csrf_token=csrf_token,
        created_at=now,
        last_seen_at=now,
        expires_at=expires_at,
    )
    uow.session.add(row)
    uow.session.flush()
    return row


def console_session_for_token(uow: UnitOfWork, token_hash: str) -> Optional[Tuple[ConsoleSession, ConsoleAccount]]:
    """The session with this token hash and its account, or None."""
    row = uow.session.execute(
        select(ConsoleSession, ConsoleAccount)
        .join(ConsoleAccount, ConsoleAccount.id == ConsoleSession.account_id)
        .where(ConsoleSession.token_hash == token_hash)
    ).first()
    return (row[0], row[1]) if row is not None else None


def delete_console_sessions(
    uow: UnitOfWork,
    token_hash: Optional[str] = None,
    account_id: Optional[int] = None,
    expired_by: Optional[dt.datetime] = None,
) -> int:
    """Delete the sessions matching every condition given (at least one): a token, an account's, or expired ones."""
    conditions = []
    if token_hash is not None:
        conditions.append(ConsoleSession.token_hash == token_hash)
    if account_id is not None:
        conditions.append(ConsoleSession.account_id == account_id)
    if expired_by is not None:
        conditions.append(ConsoleSession.expires_at <= expired_by)
    if not conditions:
        raise ValueError("delete_console_sessions needs a condition")
    result = uow.session.execute(delete(ConsoleSession).where(*conditions).execution_options(synchronize_session=False))
    return result.rowcount or 0


# Findings as JSON ---------------------------------------------------------------------------------------------------
def finding_to_json(finding: Finding) -> Dict[str, Any]:
    data = dataclasses.asdict(finding)
    return {key: list(value) if isinstance(value, tuple) else value for key, value in data.items()}


def finding_from_json(data: Dict[str, Any]) -> Finding:
    return Finding(
        symptom=data["symptom"],
        negated=bool(data.get("negated")),
        severity=tuple(data.get("severity") or ()),
        trend=tuple(data.get("trend") or ()),
        area=data.get("area"),
        text=data.get("text") or "",
    )


# Console reads ------------------------------------------------------------------------------------------------------
def console_patient_list(uow: UnitOfWork) -> List[Tuple[int, str, Optional[dt.datetime], int]]:
    """(patient id, name, latest treatment time or None, unresolved escalations) for every patient, by id."""
    latest = (
        select(Treatment.patient_id, func.max(Treatment.performed_at).label("latest"))
        .group_by(Treatment.patient_id)
        .subquery()
    )
    unresolved = (
        select(SymptomReport.patient_id, func.count(Escalation.id).label("open"))
        .join(Escalation, Escalation.report_id == SymptomReport.id)
        .where(Escalation.state != "resolved")
        .group_by(SymptomReport.patient_id)
        .subquery()
    )
    query = (
        select(Patient.id, Patient.display_name, latest.c.latest, unresolved.c.open)
        .outerjoin(latest, latest.c.patient_id == Patient.id)
        .outerjoin(unresolved, unresolved.c.patient_id == Patient.id)
        .order_by(Patient.id)
    )
    return [(pid, name, when, int(count or 0)) for pid, name, when, count in uow.session.execute(query).all()]


def console_queue_rows(uow: UnitOfWork, states: Sequence[str]) -> List[Tuple[Escalation, SymptomReport, Patient]]:
    """Escalations in these states with their report and patient, oldest first."""
    query = (
        select(Escalation, SymptomReport, Patient)
        .join(SymptomReport, SymptomReport.id == Escalation.report_id)
        .join(Patient, Patient.id == SymptomReport.patient_id)
        .where(Escalation.state.in_(tuple(states)))
        .order_by(Escalation.created_at, Escalation.id)
    )
    return [(e, r, p) for e, r, p in uow.session.execute(query).all()]


def console_practitioner_alerts(uow: UnitOfWork, escalation_ids: Sequence[int]) -> List[AlertDelivery]:
    """Every practitioner alert (not the patient notices) of these escalations, by id."""
    if not escalation_ids:
        return []
    query = (
        select(AlertDelivery)
        .where(AlertDelivery.escalation_id.in_(tuple(escalation_ids)), AlertDelivery.practitioner_id.isnot(None))
        .order_by(AlertDelivery.id)
    )
    return list(uow.session.execute(query).scalars())


def console_photo(uow: UnitOfWork, photo_id: int) -> Optional[Photo]:
    return uow.session.get(Photo, photo_id)
