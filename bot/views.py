"""Read models: what staff screens, alerts and the triage core see, shaped from the records.

Each function takes an open UnitOfWork and only reads (cosmicpython's views). The use cases open the unit of
work, write the audit event a read of a patient needs, and call these; so does the notifier when it words an
alert inside its claim transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Optional, Sequence, Tuple

from bot.escalation.alerts import AlertContext, ScreeningAlertContext
from bot.escalation.states import EscalationState
from bot.screening import items as screening_items
from bot.store import repository
from bot.store.models import (
    AlertDelivery,
    Appointment,
    AuditEvent,
    ChatLink,
    Escalation,
    LinkCode,
    Photo,
    ScheduledCheckin,
    Screening,
    SymptomReport,
    Treatment,
    utcnow,
)
from bot.store.uow import UnitOfWork
from bot.triage.model import EarlierReport, Level, PatientContext


# For the triage core ------------------------------------------------------------------------------------------------
def patient_context(
    uow: UnitOfWork, patient_id: int, now: Optional[dt.datetime] = None
) -> Tuple[Optional[int], PatientContext]:
    """(latest treatment id, what the triage core should know about it); (None, PatientContext()) if none."""
    found = repository.latest_treatment_with_reports(uow, patient_id)
    if found is None:
        return None, PatientContext()
    treatment, reports = found
    now = now or utcnow()
    return treatment.id, PatientContext(
        hours_since_treatment=(now - treatment.performed_at).total_seconds() / 3600,
        area=treatment.area,
        method=treatment.method,
        earlier=earlier_reports(treatment, reports),
    )


def earlier_reports(treatment: Treatment, reports: Sequence[repository.ReportSummary]) -> Tuple[EarlierReport, ...]:
    """Symptoms reported before for this treatment, one entry per (non-negated) finding, oldest first."""
    result: List[EarlierReport] = []
    for report in reports:
        hours = (report.received_at - treatment.performed_at).total_seconds() / 3600
        for finding in report.findings or ():
            if not finding.get("negated"):
                result.append(EarlierReport(finding["symptom"], round(hours, 2), Level(report.level)))
    return tuple(result)


# For staff ----------------------------------------------------------------------------------------------------------
def escalation_summary(uow: UnitOfWork, escalation: Escalation) -> Dict[str, Any]:
    """A short description for staff lists (the CLI, a /open command)."""
    report = repository.get_report(uow, escalation.report_id)
    patient = repository.get_patient(uow, report.patient_id)
    treatment = repository.get_treatment(uow, report.treatment_id) if report.treatment_id else None
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


def patient_summary(uow: UnitOfWork, patient_id: int, recent: int = 5) -> Dict[str, Any]:
    """A short record for staff (/patient ID): latest treatment, the last few reports, unresolved escalations,
    the next appointment and the latest screening's answers that need review."""
    patient = repository.get_patient(uow, patient_id)
    treatment = repository.latest_treatment(uow, patient_id)
    appointment = repository.next_appointment(uow, patient_id)
    screening = repository.latest_screening(uow, patient_id)
    reports = repository.recent_reports(uow, patient_id, recent)
    unresolved = sorted(
        repository.patient_escalations_not_in(uow, patient_id, EscalationState.RESOLVED.value), key=lambda e: e.id
    )
    return {
        "id": patient.id,
        "name": patient.display_name,
        "phone": patient.phone,
        "treatment": None
        if treatment is None
        else {
            "id": treatment.id,
            "performed_at": treatment.performed_at.isoformat(),
            "area": treatment.area,
            "method": treatment.method,
            "product_batch": treatment.product_batch,
            "practitioner_id": treatment.practitioner_id,
        },
        "recent_reports": [
            {
                "id": r.id,
                "received_at": r.received_at.isoformat(),
                "level": r.level,
                "criteria": list(r.criteria or ()),
                "text": r.text,
            }
            for r in reports
        ],
        "unresolved_escalations": [{"id": e.id, "level": e.level, "state": e.state} for e in unresolved],
        "next_appointment": None
        if appointment is None
        else {
            "id": appointment.id,
            "scheduled_at": appointment.scheduled_at.isoformat(),
            "area": appointment.area,
            "method": appointment.method,
            "practitioner_id": appointment.practitioner_id,
        },
        "latest_screening": None
        if screening is None
        else {
            "id": screening.id,
            "completed_at": screening.completed_at.isoformat(),
            "appointment_id": screening.appointment_id,
            "to_review": {
                key: (screening.answers or {}).get(key, screening_items.UNSURE) for key in screening.flagged or ()
            },
        },
    }


# For the notifier ---------------------------------------------------------------------------------------------------
def alert_context(
    uow: UnitOfWork,
    delivery: AlertDelivery,
    clinic_name: str = "the clinic",
    emergency_number: str = "your local emergency number",
) -> AlertContext:
    """Everything bot.escalation.alerts needs to word the message for one outbox row."""
    escalation = uow.session.get(Escalation, delivery.escalation_id)
    report = repository.get_report(uow, escalation.report_id)
    patient = repository.get_patient(uow, report.patient_id)
    treatment = repository.get_treatment(uow, report.treatment_id) if report.treatment_id else None
    treating = treatment.practitioner if treatment else None
    acknowledged_by = (
        repository.get_practitioner(uow, escalation.acknowledged_by) if escalation.acknowledged_by else None
    )
    return AlertContext(
        escalation_id=escalation.id,
        kind=delivery.kind,
        round=delivery.round,
        level=escalation.level,
        patient_name=patient.display_name,
        report_text=report.text,
        received_at=report.received_at,
        findings=list(report.findings or ()),
        criteria=list(report.criteria or ()),
        treatment_at=treatment.performed_at if treatment else None,
        area=treatment.area if treatment else None,
        method=treatment.method if treatment else None,
        product_batch=treatment.product_batch if treatment else None,
        treating_name=treating.name if treating else None,
        acknowledged_by_name=acknowledged_by.name if acknowledged_by else None,
        photo_count=repository.photo_count(uow, report.id, escalation.id),
        photo_file_ids=tuple(photo.file_id for photo in repository.photos_of(uow, report.id, escalation.id)),
        clinic_name=clinic_name,
        emergency_number=emergency_number,
    )


def forwarded_photo(uow: UnitOfWork, delivery: AlertDelivery) -> Optional[str]:
    """The Telegram file id of the photo a delivery of kind "photo" forwards (its round is the photo's id), or
    None when the photo is no longer on record."""
    photo = repository.get_photo(uow, delivery.round)
    return photo.file_id if photo is not None else None


def screening_alert_context(uow: UnitOfWork, delivery: AlertDelivery) -> ScreeningAlertContext:
    """Everything bot.escalation.alerts needs to word a screening alert."""
    screening = uow.session.get(Screening, delivery.screening_id)
    patient = repository.get_patient(uow, screening.patient_id)
    appointment = uow.session.get(Appointment, screening.appointment_id) if screening.appointment_id else None
    answers = dict(screening.answers or {})
    return ScreeningAlertContext(
        screening_id=screening.id,
        kind=delivery.kind,
        round=delivery.round,
        patient_id=patient.id,
        patient_name=patient.display_name,
        phone=patient.phone,
        completed_at=screening.completed_at,
        to_review=tuple((key, answers.get(key, screening_items.UNSURE)) for key in screening.flagged or ()),
        appointment_at=appointment.scheduled_at if appointment else None,
        area=appointment.area if appointment else None,
        method=appointment.method if appointment else None,
    )


# Export -------------------------------------------------------------------------------------------------------------
def patient_export(uow: UnitOfWork, patient_id: int) -> Dict[str, Any]:
    """Everything on record about one patient, as JSON-serialisable data (subject access requests, handover).

    Link codes are listed without the code itself: an unused code still links a chat to this record.
    """
    patient = repository.get_patient(uow, patient_id)

    def rows(model: Any, *conditions: Any) -> List[Any]:
        return repository.rows_of(uow, model, *conditions)

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
        "patient": [patient_id],
        "treatment": [t.id for t in treatments],
        "symptom_report": report_ids,
        "escalation": escalation_ids,
        "chat_link": [c.id for c in links],
        "link_code": [c.id for c in codes],
        "photo": [p.id for p in photos],
        "checkin": [c.id for c in checkins],
        "appointment": [a.id for a in appointments],
        "screening": screening_ids,
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


def _as_dict(row: Any, exclude: Sequence[str] = ()) -> Dict[str, Any]:
    result = {}
    for column in row.__table__.columns:
        if column.key in exclude:
            continue
        value = getattr(row, column.key)
        result[column.key] = value.isoformat() if isinstance(value, dt.datetime) else value
    return result


# For the web console ------------------------------------------------------------------------------------------------
# How the console names an outbox row's kind (the escalation policy's INITIAL, REALERT, BACKUP, FAILOVER).
_ALERT_KIND_WORDS = {"initial": "alert", "realert": "re-alert", "backup": "backup", "failover": "failover"}
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def _aware(moment: Any) -> Optional[dt.datetime]:
    """A UTC datetime from what an aggregate gives back (SQLite may hand over text)."""
    if moment is None:
        return None
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def console_queue(uow: UnitOfWork, now: Optional[dt.datetime] = None) -> List[Dict[str, Any]]:
    """The unresolved escalations for the console's queue: level, patient, minutes since raised, who was alerted
    and when, the re-alert/backup rounds queued or sent, the state. What nobody has acknowledged comes first, then
    the most severe (emergencies on top), then the oldest: the row a practitioner must act on is the first one."""
    now = now or utcnow()
    states = [EscalationState.OPEN.value, EscalationState.ACKNOWLEDGED.value]
    rows = repository.console_queue_rows(uow, states)
    names = {p.id: p.name for p in repository.list_practitioners(uow)}
    alerts: Dict[int, List[AlertDelivery]] = {}
    for delivery in repository.console_practitioner_alerts(uow, [e.id for e, _, _ in rows]):
        alerts.setdefault(delivery.escalation_id, []).append(delivery)
    queue = []
    for escalation, report, patient in rows:
        deliveries = alerts.get(escalation.id, [])
        queue.append(
            {
                "id": escalation.id,
                "level": escalation.level,
                "state": escalation.state,
                "created_at": escalation.created_at,
                "minutes_ago": max(0, int((now - escalation.created_at).total_seconds() // 60)),
                "patient_id": patient.id,
                "patient": patient.display_name,
                "criteria": list(report.criteria or ()),
                "alerted": [_console_alert(d, names) for d in deliveries if d.kind in ("initial", "failover")],
                "followups": [_console_alert(d, names) for d in deliveries if d.kind in ("realert", "backup")],
                "acknowledged_by": names.get(escalation.acknowledged_by) if escalation.acknowledged_by else None,
                "acknowledged_at": escalation.acknowledged_at,
                "unreachable_at": escalation.unreachable_at,
            }
        )
    queue.sort(
        key=lambda row: (
            row["state"] != EscalationState.OPEN.value,
            -Level(row["level"]).rank,
            row["created_at"],
            row["id"],
        )
    )
    return queue


def _console_alert(delivery: AlertDelivery, names: Dict[int, str]) -> Dict[str, Any]:
    kind = _ALERT_KIND_WORDS.get(delivery.kind, delivery.kind)
    return {
        "practitioner": names.get(delivery.practitioner_id, f"practitioner #{delivery.practitioner_id}"),
        "kind": kind if delivery.kind != "realert" else f"{kind} {delivery.round}",
        "status": {"pending": "queued"}.get(delivery.status, delivery.status),
        "sent_at": delivery.sent_at,
    }


def console_patients(uow: UnitOfWork) -> List[Dict[str, Any]]:
    """Every patient: id, name, latest treatment time (None without one), unresolved escalations, by id."""
    return [
        {"id": pid, "name": name, "latest_treatment": _aware(latest), "open_escalations": count}
        for pid, name, latest, count in repository.console_patient_list(uow)
    ]


def console_timeline(uow: UnitOfWork, patient_id: int) -> Dict[str, Any]:
    """One patient's record for the console, oldest first in each part: treatments, every report (level,
    criteria, findings, the patient's words, its escalation), photos, check-ins (sent, answered, skipped, due),
    screening answers and appointments."""
    patient = repository.get_patient(uow, patient_id)
    names = {p.id: p.name for p in repository.list_practitioners(uow)}
    treatments = repository.rows_of(uow, Treatment, Treatment.patient_id == patient_id)
    reports = repository.reports_since(uow, patient_id, _EPOCH)
    photos = repository.rows_of(uow, Photo, Photo.patient_id == patient_id)
    checkins = repository.rows_of(uow, ScheduledCheckin, ScheduledCheckin.patient_id == patient_id)
    screenings = repository.rows_of(uow, Screening, Screening.patient_id == patient_id)
    appointments = repository.rows_of(uow, Appointment, Appointment.patient_id == patient_id)
    answer_times = [r.received_at for r, _ in reports if r.source == "checkin"]
    return {
        "id": patient.id,
        "name": patient.display_name,
        "phone": patient.phone,
        "created_at": patient.created_at,
        "treatments": [
            {
                "id": t.id,
                "performed_at": t.performed_at,
                "area": t.area,
                "method": t.method,
                "product_batch": t.product_batch,
                "practitioner": names.get(t.practitioner_id, ""),
            }
            for t in sorted(treatments, key=lambda t: (t.performed_at, t.id))
        ],
        "reports": [
            {
                "id": r.id,
                "received_at": r.received_at,
                "level": r.level,
                "criteria": list(r.criteria or ()),
                "findings": [_finding_words(f) for f in r.findings or ()],
                "text": r.text,
                "source": r.source,
                "escalation": None if e is None else {"id": e.id, "state": e.state, "note": e.note},
            }
            for r, e in reports
        ],
        "photos": [
            {
                "id": p.id,
                "received_at": p.received_at,
                "caption": p.caption,
                "report_id": p.report_id,
                "escalation_id": p.escalation_id,
            }
            for p in sorted(photos, key=lambda p: (p.received_at, p.id))
        ],
        "checkins": _console_checkins(sorted(checkins, key=lambda c: (c.due_at, c.id)), answer_times),
        "screenings": [
            {
                "id": s.id,
                "completed_at": s.completed_at,
                "appointment_id": s.appointment_id,
                "answers": [
                    {
                        "label": screening_items.item(key).staff_label,
                        "answer": (s.answers or {}).get(key, screening_items.UNSURE),
                        "to_review": key in (s.flagged or ()),
                    }
                    for key in screening_items.ITEM_KEYS
                    if key in (s.answers or {}) or key in (s.flagged or ())
                ],
            }
            for s in sorted(screenings, key=lambda s: (s.completed_at, s.id))
        ],
        "appointments": [
            {
                "id": a.id,
                "scheduled_at": a.scheduled_at,
                "area": a.area,
                "method": a.method,
                "practitioner": names.get(a.practitioner_id, ""),
            }
            for a in sorted(appointments, key=lambda a: (a.scheduled_at, a.id))
        ],
    }


def _finding_words(finding: Dict[str, Any]) -> str:
    """ "fever (severe)", "no pus": a stored finding as a few words."""
    words = str(finding.get("symptom", "")).replace("_", " ")
    details = [*(finding.get("severity") or ()), *(finding.get("trend") or ())]
    if finding.get("area"):
        details.append(str(finding["area"]))
    if details:
        words += f" ({', '.join(str(d) for d in details)})"
    return f"no {words}" if finding.get("negated") else words


def _console_checkins(checkins: Sequence[ScheduledCheckin], answer_times: Sequence[dt.datetime]) -> List[Dict]:
    """Each check-in with its status: "answered" when a check-in answer came between it going out and the next
    one going out, else "sent", "skipped", "paused" or "due"."""
    sent_times = sorted(c.sent_at for c in checkins if c.sent_at is not None)
    result = []
    for checkin in checkins:
        if checkin.sent_at is not None:
            later = [t for t in sent_times if t > checkin.sent_at]
            until = later[0] if later else None
            answered = any(t >= checkin.sent_at and (until is None or t < until) for t in answer_times)
            status = "answered" if answered else "sent"
        elif checkin.skipped_at is not None:
            status = "skipped"
        elif checkin.paused:
            status = "paused"
        else:
            status = "due"
        result.append(
            {
                "id": checkin.id,
                "kind": checkin.kind,
                "due_at": checkin.due_at,
                "sent_at": checkin.sent_at,
                "skipped_at": checkin.skipped_at,
                "status": status,
            }
        )
    return result
