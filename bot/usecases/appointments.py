"""Planned treatments and the pre-treatment screening (bot.screening)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Mapping, Optional, Tuple

from bot.escalation.policy import EscalationPolicy
from bot.screening import items as screening_items
from bot.screening.preparation import PREPARATION, preparation_due
from bot.settings import Settings
from bot.store import errors, repository
from bot.store.models import AlertDelivery, Appointment, Practitioner, Screening, utcnow
from bot.store.uow import UnitOfWork
from bot.triage.model import Level
from bot.usecases import checks, use_case
from bot.usecases.escalations import practitioner_ref, staff_refs

log = logging.getLogger(__name__)


def clinic_preparation_lead(settings: Settings) -> dt.timedelta:
    """How long before an appointment the clinic sends the preparation guidance (PREPARATION_LEAD_DAYS), whichever
    way in books it."""
    return dt.timedelta(days=settings.preparation_lead_days)


@dataclass(frozen=True)
class RecordedScreening:
    screening: Screening
    deliveries: Tuple[AlertDelivery, ...] = ()


def _add_appointment(
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
    checks.treatment(uow, patient_id, practitioner_id, area, method)
    checks.aware(scheduled_at, "Appointment time", "2026-12-03T10:00+00:00")
    if scheduled_at <= now:
        raise errors.AppointmentInPast(
            f"Appointment time {scheduled_at.isoformat()} is not in the future; for a treatment already done "
            "use `aftercare patient add`."
        )
    appointment = repository.add_appointment(uow, patient_id, practitioner_id, scheduled_at, area, method, now)
    repository.audit(
        uow,
        "appointment",
        appointment.id,
        "created",
        actor,
        {
            "patient_id": patient_id,
            "practitioner_id": practitioner_id,
            "area": area,
            "method": method,
            "scheduled_at": scheduled_at.isoformat(),
        },
        now,
    )
    due_at = preparation_due(scheduled_at, preparation_lead, now) if preparation_lead is not None else None
    if due_at is not None:
        checkin = repository.add_checkin(uow, patient_id, due_at, PREPARATION, appointment_id=appointment.id)
        repository.audit(
            uow, "checkin", checkin.id, "scheduled", actor, {"kind": PREPARATION, "due_at": due_at.isoformat()}, now
        )
    return appointment


def _next_appointment(uow: UnitOfWork, patient_id: int, now: Optional[dt.datetime] = None) -> Optional[Appointment]:
    """The patient's earliest appointment still ahead, if any."""
    return repository.next_appointment(uow, patient_id, now)


def _record_screening(
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
    repository.get_patient(uow, patient_id)
    try:
        answers = screening_items.check_answers(answers)
    except ValueError as error:
        raise errors.InvalidValue(str(error)) from None
    appointment = repository.next_appointment(uow, patient_id, now)
    to_review = screening_items.flagged(answers)
    screening = repository.add_screening(
        uow, patient_id, appointment.id if appointment else None, dict(answers), [key for key, _ in to_review], now
    )
    repository.audit(
        uow,
        "screening",
        screening.id,
        "recorded",
        f"patient:{patient_id}",
        {"appointment_id": screening.appointment_id, "flagged": list(screening.flagged)},
        now,
    )
    if not to_review:
        return RecordedScreening(screening)
    if appointment is not None:
        responsible: Optional[Practitioner] = appointment.practitioner
    else:
        treatment = repository.latest_treatment(uow, patient_id)
        responsible = treatment.practitioner if treatment is not None else None
    treating = practitioner_ref(responsible) if responsible is not None else None
    # A screening is not an emergency: the treating practitioner, else whoever the policy falls back to.
    recipients = (policy or EscalationPolicy()).initial_recipients(Level.MONITOR, treating, staff_refs(uow))
    if not recipients:
        log.error("screening %s needs review but no practitioner can be reached (add one with a chat id)", screening.id)
    for person in recipients:
        repository.queue_screening_delivery(uow, screening.id, person.id, person.chat_id, now)
    return RecordedScreening(screening, tuple(repository.deliveries_for(uow, screening_id=screening.id)))


add_appointment = use_case(_add_appointment)
next_appointment = use_case(_next_appointment)
record_screening = use_case(_record_screening)
