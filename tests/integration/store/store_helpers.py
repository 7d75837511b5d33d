"""Shared data for the store/notifier tests (a module with a unique name, so imports are unambiguous)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.triage.model import Decision, Finding, Level

T0 = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.timezone.utc)  # treatment time used throughout
NOW = T0 + dt.timedelta(days=2)
TREATING_CHAT, ON_CALL_CHAT, BACKUP_CHAT, PATIENT_CHAT = 1001, 1002, 1003, 5001


@dataclass(frozen=True)
class Clinic:
    treating_id: int
    on_call_id: int
    backup_id: int
    patient_id: int
    treatment_id: int
    link_code: str


def decision(level: Level, *symptoms: str) -> Decision:
    findings = tuple(Finding(symptom=s, severity=("severe",), text=f"{s} words") for s in symptoms)
    return Decision(level=level, criteria=(f"{level.value}_rule",), findings=findings)
