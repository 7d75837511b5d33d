"""An escalation's life: open → acknowledged → resolved, as one pure state machine.

The store (via bot.usecases.escalations) and the in-memory fakes of the Telegram tests both follow it, so
"pressing Acknowledge twice changes nothing" and "resolving an open escalation acknowledges it first" are
written once. No database, no messenger: a state in, what to do out.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Tuple


class EscalationState(str, enum.Enum):
    # str-valued: the database column and the alert texts keep the plain words.
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"

    def __str__(self) -> str:
        return self.value


UNRESOLVED: Tuple[EscalationState, ...] = (EscalationState.OPEN, EscalationState.ACKNOWLEDGED)


@dataclass(frozen=True)
class Transition:
    """What a staff action does to an escalation in state `before`.

    changed: False when the action repeats an earlier one (idempotent: nothing is written, nobody is told).
    acknowledges: the action also acknowledges (stop the reminders, tell the patient someone is on it).
    """

    before: EscalationState
    after: EscalationState
    changed: bool
    acknowledges: bool


def acknowledge(state: str) -> Transition:
    """Acknowledge: only an open escalation changes."""
    before = EscalationState(state)
    if before is not EscalationState.OPEN:
        return Transition(before, before, changed=False, acknowledges=False)
    return Transition(before, EscalationState.ACKNOWLEDGED, changed=True, acknowledges=True)


def resolve(state: str) -> Transition:
    """Resolve: an open escalation is acknowledged on the way (the patient still hears someone is on it)."""
    before = EscalationState(state)
    if before is EscalationState.RESOLVED:
        return Transition(before, before, changed=False, acknowledges=False)
    return Transition(before, EscalationState.RESOLVED, changed=True, acknowledges=before is EscalationState.OPEN)
