"""The check-ins a treatment plans (bot.checkins.schedule), and a patient's /stop and /resume."""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Mapping, Optional, Sequence

from bot.checkins.schedule import plan_checkins
from bot.store import repository
from bot.store.models import ScheduledCheckin, Treatment, utcnow
from bot.store.uow import UnitOfWork
from bot.usecases import use_case


def _schedule_checkin(
    uow: UnitOfWork,
    patient_id: int,
    treatment_id: int,
    due_at: dt.datetime,
    kind: str,
    actor: str = "admin",
    now: Optional[dt.datetime] = None,
) -> ScheduledCheckin:
    checkin = repository.add_checkin(uow, patient_id, due_at, kind, treatment_id=treatment_id)
    repository.audit(uow, "checkin", checkin.id, "scheduled", actor, {"kind": kind, "due_at": due_at.isoformat()}, now)
    return checkin


def _schedule_treatment_checkins(
    uow: UnitOfWork,
    treatment: Treatment,
    checkin_hours: Sequence[int],
    maintenance_days: Optional[Mapping[str, int]] = None,
    now: Optional[dt.datetime] = None,
    actor: str = "admin",
) -> List[ScheduledCheckin]:
    """Store the check-ins planned for this treatment, skipping those already past.

    A check-in that is already due when the treatment is entered (entered days late) is not scheduled: the
    patient was just at the clinic, and a burst of "how are you?" messages on linking would be noise.
    """
    now = now or utcnow()
    planned = plan_checkins(treatment.performed_at, treatment.area, checkin_hours, maintenance_days)
    return [
        _schedule_checkin(uow, treatment.patient_id, treatment.id, p.due_at, p.kind, actor=actor, now=now)
        for p in planned
        if p.due_at > now
    ]


def _set_checkins_paused(
    uow: UnitOfWork, patient_id: int, paused: bool, actor: Optional[str] = None, now: Optional[dt.datetime] = None
) -> int:
    """Pause (/stop) or resume (/resume) the patient's pending check-ins. Returns how many changed.

    When resuming with `now` given, only check-ins still in the future are resumed; those that fell due while
    paused are skipped, so /resume does not trigger a "how are you?" the patient opted out of at the time.
    (Without `now` every pending one is resumed; the sender then still sends at most the latest due one.)
    """
    repository.get_patient(uow, patient_id)
    detail: Dict[str, Any] = {}
    due_after = None
    if not paused and now is not None:
        detail["skipped_while_paused"] = repository.skip_paused_checkins_due_by(uow, patient_id, now)
        due_after = now
    changed = repository.set_pending_checkins_paused(uow, patient_id, paused, due_after)
    repository.audit(
        uow,
        "patient",
        patient_id,
        "checkins_paused" if paused else "checkins_resumed",
        actor or f"patient:{patient_id}",
        {"checkins": changed, **detail},
        now,
    )
    return changed


schedule_checkin = use_case(_schedule_checkin)
schedule_treatment_checkins = use_case(_schedule_treatment_checkins)
set_checkins_paused = use_case(_set_checkins_paused)
