"""A clinic's staff and an escalation state at a fixed clock, shared by the escalation policy tests."""

from __future__ import annotations

import datetime as dt

from bot.escalation.policy import EscalationPolicy, EscalationSnapshot, PractitionerRef
from bot.triage.model import Level

START = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.timezone.utc)
TREATING = PractitionerRef(1, "treating", 101)
ON_CALL = PractitionerRef(2, "on_call", 102)
BACKUP_PERSON = PractitionerRef(3, "backup", 103)
STAFF = (TREATING, ON_CALL, BACKUP_PERSON)
POLICY = EscalationPolicy(realert_after=dt.timedelta(minutes=10), backup_after=dt.timedelta(minutes=20))


def state(**changes) -> EscalationSnapshot:
    """An open urgent escalation raised at START for the treating practitioner; `changes` override fields."""
    values = dict(
        escalation_id=7,
        level=Level.URGENT,
        state="open",
        created_at=START,
        treating=TREATING,
        staff=STAFF,
        queued=frozenset(),
    )
    values.update(changes)
    return EscalationSnapshot(**values)


def at(minutes: float) -> dt.datetime:
    return START + dt.timedelta(minutes=minutes)
