"""What the clinic's web console (bot.web) does with the records: the escalation queue, the patient list and
timeline, a photo, registering a patient (and the card with the link to their chat), booking an appointment,
the export, and the admin's list of practitioners.

A console user's reads of a patient (the timeline, a photo, the export) are audited with the actor
"console:<username>" in the same unit of work as the read. Acknowledge and resolve are
bot.usecases.escalations' (the account's practitioner is the one who acts).

The helpers `parse_*` turn what a form sent into typed values, raising errors.InvalidValue with a message a
clinic user can act on; the pages show it next to the form.
"""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence

from bot import links, views
from bot.store import errors, repository
from bot.store.models import AREAS, METHODS, ROLES, Appointment, Practitioner
from bot.store.uow import UnitOfWork
from bot.usecases import appointments, enrolment, records, use_case

# The clinic's clock for the forms' datetime-local fields (no time zone setting exists: the console works in UTC).
CLINIC_TZ = dt.timezone.utc
# Record ids are 32-bit integers in the tables; a larger number is no record (and PostgreSQL would refuse it).
MAX_ID = 2**31 - 1
MAX_CHAT_ID = 2**63 - 1
# The columns' lengths (bot.store.models), checked before the database refuses a longer value.
MAX_NAME, MAX_PHONE = 200, 40


def actor_for(username: str) -> str:
    """How a console user appears in the audit trail."""
    return f"console:{username}"


@dataclass(frozen=True)
class PatientCard:
    """What the registering person prints or shows the patient: the link into their chat and its QR code.
    The link carries the one-time code: it is shown, never logged, never put in one of our URLs."""

    patient_id: int
    name: str
    treatment_id: int
    link: str
    qr_data_uri: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class PhotoRef:
    id: int
    patient_id: int
    file_id: str


# What forms send ----------------------------------------------------------------------------------------------------
def parse_when(value: Optional[str], what: str) -> dt.datetime:
    """A datetime-local value ("2026-11-27T14:30") in the clinic's time, as an aware datetime."""
    text = (value or "").strip()
    if not text:
        raise errors.InvalidValue(f"{what} must not be empty.")
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise errors.InvalidValue(f"{what} is not a date and time (e.g. 2026-11-27T14:30).") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=CLINIC_TZ)


def parse_id(value: Optional[str], what: str) -> int:
    text = (value or "").strip().lstrip("#")
    if not text.isascii() or not text.isdigit() or not 0 < int(text) <= MAX_ID:
        raise errors.InvalidValue(f"{what} must be a record number (got {value or 'nothing'!r}).")
    return int(text)


def parse_chat_id(value: Optional[str]) -> Optional[int]:
    """An optional Telegram chat id (negative for groups)."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        chat_id = int(text)
    except ValueError:
        raise errors.InvalidValue(f"Telegram chat id must be a whole number (got {text!r}).") from None
    if abs(chat_id) > MAX_CHAT_ID:
        raise errors.InvalidValue("Telegram chat id is too long: copy it again from the bot's message.")
    return chat_id


def _short(value: Optional[str], limit: int, what: str) -> None:
    if value is not None and len(value.strip()) > limit:
        raise errors.InvalidValue(f"{what} must be at most {limit} characters.")


def local_input_value(moment: dt.datetime) -> str:
    """A datetime as the value of a datetime-local field, in the clinic's time (to the minute)."""
    return moment.astimezone(CLINIC_TZ).strftime("%Y-%m-%dT%H:%M")


# Reads --------------------------------------------------------------------------------------------------------------
def _queue(uow: UnitOfWork, now: Optional[dt.datetime] = None) -> List[Dict[str, Any]]:
    """The unresolved escalations, the one to act on first (views.console_queue)."""
    return views.console_queue(uow, now)


def _patients(uow: UnitOfWork) -> List[Dict[str, Any]]:
    return views.console_patients(uow)


def _timeline(uow: UnitOfWork, patient_id: int, actor: str, now: Optional[dt.datetime] = None) -> Dict[str, Any]:
    """One patient's whole record for the console; the read is audited ("viewed" by actor)."""
    timeline = views.console_timeline(uow, patient_id)
    repository.audit(uow, "patient", patient_id, "viewed", actor, {"via": "console"}, now)
    return timeline


def _photo(uow: UnitOfWork, photo_id: int, actor: str, now: Optional[dt.datetime] = None) -> Optional[PhotoRef]:
    """The Telegram file a photo refers to (None for an unknown id); looking at it is audited."""
    photo = repository.console_photo(uow, photo_id)
    if photo is None:
        return None
    repository.audit(uow, "photo", photo.id, "viewed", actor, {"patient_id": photo.patient_id}, now)
    return PhotoRef(photo.id, photo.patient_id, photo.file_id)


def _export(uow: UnitOfWork, patient_id: int, actor: str, now: Optional[dt.datetime] = None) -> Dict[str, Any]:
    """Everything on record about the patient (views.patient_export); audited as "exported" by actor."""
    return records._export_patient(uow, patient_id, actor=actor, now=now)


def _form_choices(uow: UnitOfWork) -> Dict[str, Any]:
    """What the registration and booking forms offer: active practitioners, areas, methods."""
    return {
        "practitioners": [
            {"id": p.id, "name": p.name, "role": p.role} for p in repository.list_practitioners(uow, active_only=True)
        ],
        "areas": list(AREAS),
        "methods": list(METHODS),
    }


def _practitioners(uow: UnitOfWork) -> List[Dict[str, Any]]:
    """Every practitioner (active or not), by id, for the admin page. Chat ids are only shown as set or not."""
    return [_practitioner_row(p) for p in repository.list_practitioners(uow)]


def _practitioner_row(p: Practitioner) -> Dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "role": p.role,
        "active": bool(p.active),
        "has_chat": p.telegram_chat_id is not None,
    }


# Changes ------------------------------------------------------------------------------------------------------------
def _register_patient(
    uow: UnitOfWork,
    name: str,
    phone: Optional[str],
    performed_at: dt.datetime,
    area: str,
    method: str,
    practitioner_id: int,
    *,
    bot_username: str,
    actor: str,
    link_code_ttl: dt.timedelta = enrolment.DEFAULT_LINK_CODE_TTL,
    checkin_hours: Optional[Sequence[int]] = None,
    maintenance_days: Optional[Mapping[str, int]] = None,
    now: Optional[dt.datetime] = None,
) -> PatientCard:
    """Register a treated patient (with their check-ins) and return the card with the link to their chat."""
    _short(name, MAX_NAME, "Name")
    _short(phone, MAX_PHONE, "Phone")
    new = enrolment._add_patient_with_treatment(
        uow,
        name,
        performed_at,
        area,
        method,
        practitioner_id,
        phone=(phone or "").strip() or None,
        link_code_ttl=link_code_ttl,
        now=now,
        actor=actor,
        checkin_hours=checkin_hours,
        maintenance_days=maintenance_days,
    )
    link = links.deep_link(bot_username, new.link_code)
    qr = "data:image/png;base64," + base64.b64encode(links.qr_png(link)).decode("ascii")
    return PatientCard(new.patient.id, new.patient.display_name, new.treatment.id, link, qr, new.link_expires_at)


def _book_appointment(
    uow: UnitOfWork,
    patient_id: int,
    scheduled_at: dt.datetime,
    area: str,
    method: str,
    practitioner_id: int,
    *,
    actor: str,
    preparation_lead: Optional[dt.timedelta] = None,
    now: Optional[dt.datetime] = None,
) -> Dict[str, Any]:
    """Book a planned treatment (bot.usecases.appointments) and say what was booked."""
    appointment: Appointment = appointments._add_appointment(
        uow, patient_id, scheduled_at, area, method, practitioner_id, preparation_lead, now=now, actor=actor
    )
    patient = repository.get_patient(uow, patient_id)
    practitioner = repository.get_practitioner(uow, practitioner_id)
    return {
        "id": appointment.id,
        "patient_id": patient.id,
        "patient": patient.display_name,
        "scheduled_at": appointment.scheduled_at,
        "area": appointment.area,
        "method": appointment.method,
        "practitioner": practitioner.name,
    }


def _add_practitioner(uow: UnitOfWork, name: str, role: str, chat_id: Optional[int], *, actor: str) -> Dict[str, Any]:
    if role not in ROLES:
        raise errors.InvalidValue(f"Role must be one of {', '.join(ROLES)}.")
    _short(name, MAX_NAME, "Name")
    return _practitioner_row(enrolment._add_practitioner(uow, name, role, chat_id, actor=actor))


queue = use_case(_queue)
patients = use_case(_patients)
timeline = use_case(_timeline)
photo = use_case(_photo)
export = use_case(_export)
form_choices = use_case(_form_choices)
practitioners = use_case(_practitioners)
register_patient = use_case(_register_patient)
book_appointment = use_case(_book_appointment)
add_practitioner = use_case(_add_practitioner)
