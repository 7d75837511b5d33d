"""Practitioners, patients, treatments, and the one-time codes that link a patient's Telegram chat."""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from bot.settings import Settings
from bot.store import errors, repository
from bot.store.models import ROLES, LinkCode, Patient, Practitioner, Treatment, utcnow
from bot.store.uow import UnitOfWork
from bot.usecases import checks, use_case
from bot.usecases.checkins import _schedule_treatment_checkins

DEFAULT_LINK_CODE_TTL = dt.timedelta(hours=72)


def clinic_registration(settings: Settings) -> Dict[str, Any]:
    """What the clinic's settings say about every new patient, whichever way in registers them (the admin CLI,
    Telegram's /newpatient, the web console): how long the link code lasts, the check-ins and the maintenance
    reminder. Keyword arguments for add_patient_with_treatment."""
    return {
        "link_code_ttl": dt.timedelta(hours=settings.link_code_ttl_hours),
        "checkin_hours": settings.checkin_schedule_hours,
        "maintenance_days": settings.maintenance_reminder_days,
    }


@dataclass(frozen=True)
class NewPatient:
    patient: Patient
    treatment: Treatment
    link_code: str
    link_expires_at: dt.datetime


# Practitioners --------------------------------------------------------------------------------------------------
def _add_practitioner(
    uow: UnitOfWork,
    name: str,
    role: str = "treating",
    chat_id: Optional[int] = None,
    active: bool = True,
    actor: str = "admin",
) -> Practitioner:
    name = checks.required_text(name, "Practitioner name")
    checks.choice(role, ROLES, "role")
    if chat_id is not None and repository.practitioner_for_chat(uow, chat_id) is not None:
        raise errors.DuplicateChatId(f"Telegram chat id {chat_id} already belongs to another practitioner.")
    practitioner = repository.add_practitioner(uow, name, role, chat_id, active, utcnow())
    repository.audit(
        uow, "practitioner", practitioner.id, "created", actor, {"role": role, "has_chat": chat_id is not None}
    )
    return practitioner


def _update_practitioner(
    uow: UnitOfWork,
    practitioner_id: int,
    chat_id: Optional[int] = None,
    role: Optional[str] = None,
    active: Optional[bool] = None,
    actor: str = "admin",
) -> Practitioner:
    """Change what is given (None leaves a field as it is): add a chat id later, change role, deactivate."""
    practitioner = repository.get_practitioner(uow, practitioner_id)
    changes: Dict[str, Any] = {}
    if chat_id is not None and chat_id != practitioner.telegram_chat_id:
        owner = repository.practitioner_for_chat(uow, chat_id)
        if owner is not None:
            raise errors.DuplicateChatId(f"Telegram chat id {chat_id} already belongs to practitioner {owner.id}.")
        practitioner.telegram_chat_id = chat_id
        changes["has_chat"] = True
    if role is not None and role != practitioner.role:
        checks.choice(role, ROLES, "role")
        practitioner.role = changes["role"] = role
    if active is not None and active != practitioner.active:
        practitioner.active = changes["active"] = active
    if changes:
        repository.audit(uow, "practitioner", practitioner.id, "updated", actor, changes)
    return practitioner


def _list_practitioners(uow: UnitOfWork, active_only: bool = False) -> Sequence[Practitioner]:
    return repository.list_practitioners(uow, active_only)


def _practitioner_for_chat(uow: UnitOfWork, chat_id: int) -> Optional[Practitioner]:
    """The registered practitioner using this Telegram chat, if any (who may use staff commands and buttons)."""
    return repository.practitioner_for_chat(uow, chat_id)


def _get_practitioner(uow: UnitOfWork, practitioner_id: int) -> Practitioner:
    return repository.get_practitioner(uow, practitioner_id)


add_practitioner = use_case(_add_practitioner)
update_practitioner = use_case(_update_practitioner)
list_practitioners = use_case(_list_practitioners)
practitioner_for_chat = use_case(_practitioner_for_chat)
get_practitioner = use_case(_get_practitioner)


# Patients and treatments ------------------------------------------------------------------------------------------
def _add_patient(
    uow: UnitOfWork,
    display_name: str,
    phone: Optional[str] = None,
    now: Optional[dt.datetime] = None,
    actor: str = "admin",
) -> Patient:
    """Register a patient with no treatment yet (one coming for a first appointment); see also new_link_code."""
    now = now or utcnow()
    patient = repository.add_patient(uow, checks.required_text(display_name, "Patient name"), phone or None, now)
    repository.audit(uow, "patient", patient.id, "created", actor, now=now)
    return patient


def _add_treatment(
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
    checks.treatment(uow, patient_id, practitioner_id, area, method)
    checks.aware(performed_at, "Treatment time", "2026-11-24T14:30+00:00")
    if performed_at > now + checks.FUTURE_TOLERANCE:
        raise errors.TreatmentInFuture(
            f"Treatment time {performed_at.isoformat()} is in the future; enter when it was performed."
        )
    treatment = repository.add_treatment(
        uow, patient_id, practitioner_id, performed_at, area, method, product_batch or None, now
    )
    repository.audit(
        uow,
        "treatment",
        treatment.id,
        "created",
        actor,
        {"patient_id": patient_id, "practitioner_id": practitioner_id, "area": area, "method": method},
        now,
    )
    return treatment


def _add_patient_with_treatment(
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
    patient = _add_patient(uow, display_name, phone, now=now, actor=actor)
    treatment = _add_treatment(
        uow, patient.id, performed_at, area, method, practitioner_id, product_batch, now=now, actor=actor
    )
    code = _new_link_code(uow, patient.id, link_code_ttl, now=now, actor=actor)
    if checkin_hours is not None or maintenance_days:
        _schedule_treatment_checkins(uow, treatment, checkin_hours or (), maintenance_days, now=now, actor=actor)
    return NewPatient(patient, treatment, code.code, code.expires_at)


def _get_patient(uow: UnitOfWork, patient_id: int) -> Patient:
    return repository.get_patient(uow, patient_id)


def _patient_for_chat(uow: UnitOfWork, chat_id: int) -> Optional[Patient]:
    """The patient this Telegram chat is linked to, if any (only a linked chat sees a patient's data)."""
    return repository.patient_for_chat(uow, chat_id)


add_patient = use_case(_add_patient)
add_treatment = use_case(_add_treatment)
add_patient_with_treatment = use_case(_add_patient_with_treatment)
get_patient = use_case(_get_patient)
patient_for_chat = use_case(_patient_for_chat)


# Link codes and chat links -----------------------------------------------------------------------------------------
def _new_link_code(
    uow: UnitOfWork,
    patient_id: int,
    ttl: dt.timedelta = DEFAULT_LINK_CODE_TTL,
    now: Optional[dt.datetime] = None,
    actor: str = "admin",
) -> LinkCode:
    """A fresh one-time code; the patient's older unused codes stop working (only the newest code links).
    token_urlsafe only uses A-Z a-z 0-9 _ -, what Telegram's ?start= accepts."""
    now = now or utcnow()
    repository.get_patient(uow, patient_id)
    revoked = _revoke_unused_codes(uow, patient_id, now, actor)
    code = repository.add_link_code(uow, secrets.token_urlsafe(16), patient_id, now, now + ttl)
    repository.audit(
        uow,
        "link_code",
        code.id,
        "created",
        actor,
        {"patient_id": patient_id, "revoked_codes": revoked, "expires_at": code.expires_at.isoformat()},
        now,
    )
    return code


def _revoke_unused_codes(
    uow: UnitOfWork, patient_id: int, now: dt.datetime, actor: str, keep: Optional[int] = None
) -> int:
    revoked = 0
    for old in repository.live_link_codes_for_update(uow, patient_id, now):
        if old.id == keep:
            continue
        old.expires_at = now
        repository.audit(uow, "link_code", old.id, "revoked", actor, now=now)
        revoked += 1
    return revoked


def _unlink_chats(uow: UnitOfWork, patient_id: int, actor: str = "admin", now: Optional[dt.datetime] = None) -> int:
    """Unlink every chat of the patient's now (a lost or stolen phone), without waiting for a new code to be used:
    those chats no longer get the patient's messages or write as them; notices still queued for them are cancelled.
    Returns how many chats were unlinked."""
    now = now or utcnow()
    repository.get_patient(uow, patient_id)
    links = repository.chat_links(uow, patient_id)
    for link in links:
        repository.audit(uow, "chat_link", link.id, "unlinked", actor, {"reason": "revoked"}, now)
    repository.delete_rows(uow, links)
    repository.cancel_pending_patient_deliveries(uow, patient_id)
    return len(links)


def _redeem_link_code(uow: UnitOfWork, code: str, chat_id: int, now: Optional[dt.datetime] = None) -> Patient:
    """Link a Telegram chat to the patient the code was issued for. Re-sending the same code from the same
    chat is harmless (returns the patient again)."""
    now = now or utcnow()
    link_code = repository.link_code_for_update(uow, (code or "").strip())
    if link_code is None:
        raise errors.UnknownLinkCode("This link code is not valid. Please ask the clinic for a new link.")
    existing = repository.chat_link_for_chat(uow, chat_id)
    if link_code.used_at is not None:
        if link_code.used_by_chat_id == chat_id and existing is not None:
            return repository.get_patient(uow, existing.patient_id)
        raise errors.LinkCodeUsed("This link code has already been used. Please ask the clinic for a new link.")
    if link_code.expires_at <= now:
        raise errors.LinkCodeExpired("This link code has expired. Please ask the clinic for a new link.")
    if existing is not None and existing.patient_id != link_code.patient_id:
        raise errors.DuplicateChatId("This Telegram chat is already linked to another patient record.")

    patient_id = link_code.patient_id
    link_code.used_at = now
    link_code.used_by_chat_id = chat_id
    actor = f"patient:{patient_id}"
    # Re-linking: the newest link wins. Older chats lose the link (they no longer get the patient's messages nor
    # write as them), notices still queued for an old chat go to the new one, and older unused codes stop working.
    old_links = repository.chat_links(uow, patient_id, except_chat=chat_id)
    for link in old_links:
        repository.audit(uow, "chat_link", link.id, "unlinked", actor, {"reason": "relinked"}, now)
    if old_links:
        repository.delete_rows(uow, old_links)
        repository.readdress_pending_patient_deliveries(uow, patient_id, chat_id)
    _revoke_unused_codes(uow, patient_id, now, actor, keep=link_code.id)
    if existing is None:
        link = repository.add_chat_link(uow, patient_id, chat_id, now)
        repository.audit(uow, "chat_link", link.id, "linked", actor, {"link_code_id": link_code.id}, now)
    repository.audit(uow, "link_code", link_code.id, "used", actor, now=now)
    return repository.get_patient(uow, patient_id)


def _issue_link_code(
    uow: UnitOfWork,
    patient_id: int,
    ttl: dt.timedelta = DEFAULT_LINK_CODE_TTL,
    actor: str = "admin",
    unlink_now: bool = False,
) -> Tuple[LinkCode, int]:
    """A new link for a patient (a new phone, a lost link): (the code, how many chats were unlinked now).
    unlink_now: the patient's chats lose the link at once instead of when the new code is used."""
    repository.get_patient(uow, patient_id)
    unlinked = _unlink_chats(uow, patient_id, actor) if unlink_now else 0
    return _new_link_code(uow, patient_id, ttl, actor=actor), unlinked


def _add_patient_with_link(
    uow: UnitOfWork,
    display_name: str,
    phone: Optional[str] = None,
    ttl: dt.timedelta = DEFAULT_LINK_CODE_TTL,
    actor: str = "admin",
) -> Tuple[Patient, LinkCode]:
    """Register a patient with no treatment yet (a first appointment ahead) and the code that links their chat."""
    patient = _add_patient(uow, display_name, phone, actor=actor)
    return patient, _new_link_code(uow, patient.id, ttl, actor=actor)


new_link_code = use_case(_new_link_code)
issue_link_code = use_case(_issue_link_code)
add_patient_with_link = use_case(_add_patient_with_link)
unlink_chats = use_case(_unlink_chats)
redeem_link_code = use_case(_redeem_link_code)
