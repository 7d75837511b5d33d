"""Checks the use cases make on what a clinic user typed; each failure says what to fix (bot.store.errors)."""

from __future__ import annotations

import datetime as dt
from typing import Optional, Sequence

from bot.store import errors, repository
from bot.store.models import AREAS, METHODS
from bot.store.uow import UnitOfWork

# A clock a few minutes fast on the clinic PC should not make "treated just now" an error.
FUTURE_TOLERANCE = dt.timedelta(minutes=5)


def required_text(value: Optional[str], what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise errors.InvalidValue(f"{what} must not be empty.")
    return value


def choice(value: str, allowed: Sequence[str], what: str) -> None:
    if value not in allowed:
        raise errors.InvalidValue(f"{what} must be one of {', '.join(allowed)} (got {value!r}).")


def treatment(uow: UnitOfWork, patient_id: int, practitioner_id: int, area: str, method: str) -> None:
    """What a performed or a planned treatment both need: a known area and method, patient and practitioner."""
    choice(area, AREAS, "area")
    choice(method, METHODS, "method")
    repository.get_patient(uow, patient_id)
    repository.get_practitioner(uow, practitioner_id)


def aware(moment: dt.datetime, what: str, example: str) -> None:
    if moment.tzinfo is None:
        raise errors.InvalidValue(f"{what} needs a timezone (e.g. {example}).")
