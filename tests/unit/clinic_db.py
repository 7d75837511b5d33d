"""A clinic on a temporary SQLite database, as the action and safety-net tests need it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Tuple

from bot.store import db
from bot.store.uow import UnitOfWork
from bot.usecases import enrolment


def clinic_with_a_patient(tmp_path: Path) -> Tuple[str, Any, int]:
    """(database URL, session factory, patient id): one treating practitioner (chat 500) and one patient whose
    microneedling of the face was 30 hours ago."""
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    db.upgrade(url)
    factory = db.make_session_factory(url)
    now = dt.datetime.now(dt.timezone.utc)
    uow = UnitOfWork(factory)
    doctor = enrolment.add_practitioner(uow, "Dr Lee", role="treating", chat_id=500, actor="test")
    new = enrolment.add_patient_with_treatment(
        uow, "Ann", now - dt.timedelta(hours=30), "face", "microneedling", doctor.id, now=now
    )
    return url, factory, new.patient.id
