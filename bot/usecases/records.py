"""What staff and the triage read about a patient. A staff read of a patient's record is audited (who, which
patient, when) in the same unit of work as the read."""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Optional, Tuple

from bot import views
from bot.store import repository
from bot.store.uow import UnitOfWork
from bot.triage.model import PatientContext
from bot.usecases import use_case


def _view_patient(
    uow: UnitOfWork, patient_id: int, viewer: Optional[str] = None, recent: int = 5, now: Optional[dt.datetime] = None
) -> Dict[str, Any]:
    """views.patient_summary for staff (/patient ID); viewer ("practitioner:3") goes to the audit trail."""
    summary = views.patient_summary(uow, patient_id, recent)
    if viewer is not None:
        repository.audit(uow, "patient", patient_id, "viewed", viewer, now=now)
    return summary


def _patient_photos(
    uow: UnitOfWork, patient_id: int, viewer: Optional[str] = None, limit: int = 10, now: Optional[dt.datetime] = None
) -> List[Dict[str, Any]]:
    """The patient's newest photos (Telegram file ids, when, caption), oldest of them first, for staff (/patient ID);
    viewer ("practitioner:3") goes to the audit trail, like a read of the summary."""
    repository.get_patient(uow, patient_id)
    photos = repository.patient_photos(uow, patient_id, limit)
    if viewer is not None and photos:
        repository.audit(uow, "patient", patient_id, "photos_viewed", viewer, {"photos": len(photos)}, now=now)
    return [{"file_id": p.file_id, "received_at": p.received_at, "caption": p.caption} for p in photos]


def _export_patient(
    uow: UnitOfWork, patient_id: int, actor: Optional[str] = None, now: Optional[dt.datetime] = None
) -> Dict[str, Any]:
    """views.patient_export (subject access requests, handover). actor ("cli:alice"): who exports; the export
    itself is in the audit trail, and in the export."""
    repository.get_patient(uow, patient_id)
    if actor is not None:
        repository.audit(uow, "patient", patient_id, "exported", actor, now=now)
        uow.flush()
    return views.patient_export(uow, patient_id)


def _patient_context(
    uow: UnitOfWork, patient_id: int, now: Optional[dt.datetime] = None
) -> Tuple[Optional[int], PatientContext]:
    """(latest treatment id, what the triage core should know about the patient's latest treatment)."""
    return views.patient_context(uow, patient_id, now)


def _was_erased(uow: UnitOfWork, patient_id: int) -> bool:
    """True when the patient's records were erased (their tombstone is in the audit trail)."""
    return repository.was_erased(uow, patient_id)


view_patient = use_case(_view_patient)
patient_photos = use_case(_patient_photos)
export_patient = use_case(_export_patient)
patient_context = use_case(_patient_context)
was_erased = use_case(_was_erased)
