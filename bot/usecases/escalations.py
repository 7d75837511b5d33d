"""Escalations: opening one (who is alerted first), acknowledge, resolve, and the open queue.

The state changes follow bot.escalation.states; who is alerted follows bot.escalation.policy. The alerts are
outbox rows written in the same transaction as the change, so an alert is never lost between "stored" and
"queued"; the notifier sends them.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from bot import views
from bot.escalation import states
from bot.escalation.policy import INITIAL, PATIENT_ACK_NOTICE, EscalationPolicy, PractitionerRef
from bot.escalation.states import EscalationState
from bot.store import repository
from bot.store.models import AlertDelivery, Escalation, Practitioner, SymptomReport, Treatment, utcnow
from bot.store.uow import UnitOfWork
from bot.triage.model import Level
from bot.usecases import use_case

log = logging.getLogger(__name__)

# Reminders and backup alerts stop once someone has acknowledged.
REMINDER_KINDS = ("realert", "backup")


@dataclass(frozen=True)
class EscalationChange:
    """The outcome of acknowledge/resolve. `changed` is False when the call repeated an earlier one."""

    escalation: Escalation
    changed: bool
    practitioner_name: str = ""  # who pressed the button (for the "acknowledged by" line)


def practitioner_ref(practitioner: Practitioner) -> PractitionerRef:
    return PractitionerRef(
        id=practitioner.id,
        role=practitioner.role,
        chat_id=practitioner.telegram_chat_id,
        active=bool(practitioner.active),
    )


def staff_refs(uow: UnitOfWork) -> Tuple[PractitionerRef, ...]:
    """The active practitioners, as the escalation policy sees them."""
    return tuple(practitioner_ref(p) for p in repository.list_practitioners(uow, active_only=True))


def open_for_report(
    uow: UnitOfWork, report: SymptomReport, treatment: Optional[Treatment], now: dt.datetime, policy: EscalationPolicy
) -> Tuple[Escalation, List[AlertDelivery]]:
    """Open the escalation of an escalating report and queue its first alerts (inside the report's transaction)."""
    escalation = repository.add_escalation(uow, report, EscalationState.OPEN.value, now)
    treating = practitioner_ref(treatment.practitioner) if treatment is not None else None
    recipients = policy.initial_recipients(Level(report.level), treating, staff_refs(uow))
    repository.audit(
        uow,
        "escalation",
        escalation.id,
        "opened",
        "system:triage",
        {"level": report.level, "report_id": report.id, "recipients": [p.id for p in recipients]},
        now,
    )
    if not recipients:
        # Nobody can be reached by Telegram: the escalation stays open and visible in `aftercare escalations`.
        log.error("escalation %s has no reachable practitioner (add one with a chat id)", escalation.id)
    # The escalation is new in this transaction: its first alerts cannot collide with earlier rows, so they are
    # plain inserts written at commit with the rest (no deduplicating insert each, no reading them back). One per
    # practitioner: a recipient listed twice would break the outbox's unique key and roll back the report itself.
    unique = {person.id: person for person in recipients}.values()
    deliveries = [
        repository.add_delivery(
            uow, escalation.id, f"practitioner:{person.id}", person.chat_id, INITIAL, 0, now, practitioner_id=person.id
        )
        for person in unique
    ]
    return escalation, deliveries


def _acknowledge(
    uow: UnitOfWork, escalation_id: int, practitioner_id: int, now: Optional[dt.datetime] = None
) -> EscalationChange:
    """Mark an escalation as seen by a practitioner, stop the reminders, and tell the patient."""
    return _apply(uow, states.acknowledge, escalation_id, practitioner_id, None, now or utcnow())


def _resolve(
    uow: UnitOfWork,
    escalation_id: int,
    practitioner_id: int,
    note: Optional[str] = None,
    now: Optional[dt.datetime] = None,
) -> EscalationChange:
    """Close an escalation (acknowledging it first if nobody had)."""
    return _apply(uow, states.resolve, escalation_id, practitioner_id, note, now or utcnow())


def _apply(
    uow: UnitOfWork, action: Any, escalation_id: int, practitioner_id: int, note: Optional[str], now: dt.datetime
) -> EscalationChange:
    practitioner = repository.get_practitioner(uow, practitioner_id)
    escalation = repository.escalation_for_update(uow, escalation_id)
    transition: states.Transition = action(escalation.state)
    if not transition.changed:
        return EscalationChange(escalation, False, practitioner.name)
    actor = f"practitioner:{practitioner.id}"
    if transition.acknowledges:
        escalation.state = EscalationState.ACKNOWLEDGED.value
        escalation.acknowledged_by = practitioner.id
        escalation.acknowledged_at = now
        cancelled = repository.cancel_pending_deliveries(uow, escalation.id, REMINDER_KINDS)
        repository.audit(
            uow, "escalation", escalation.id, "acknowledged", actor, {"reminders_cancelled": cancelled}, now
        )
        _queue_patient_notice(uow, escalation, now)
    if transition.after is EscalationState.RESOLVED:
        escalation.state = EscalationState.RESOLVED.value
        escalation.resolved_by = practitioner.id
        escalation.resolved_at = now
        escalation.note = note or None
        repository.audit(uow, "escalation", escalation.id, "resolved", actor, {"has_note": bool(note)}, now)
    return EscalationChange(escalation, True, practitioner.name)


def _queue_patient_notice(uow: UnitOfWork, escalation: Escalation, now: dt.datetime) -> None:
    """Tell the patient someone is on it, in the chat they linked last."""
    patient_id = repository.get_report(uow, escalation.report_id).patient_id
    link = repository.latest_chat_link(uow, patient_id)
    if link is None:
        repository.audit(
            uow, "escalation", escalation.id, "patient_not_notified", "system:store", {"reason": "no linked chat"}, now
        )
        return
    repository.queue_delivery(
        uow, escalation.id, f"patient:{patient_id}", link.telegram_chat_id, PATIENT_ACK_NOTICE, 0, now
    )


def _open_escalations(uow: UnitOfWork, include_acknowledged: bool = True) -> List[Escalation]:
    """Escalations not resolved yet (only the unacknowledged ones if include_acknowledged=False), oldest first."""
    wanted = states.UNRESOLVED if include_acknowledged else (EscalationState.OPEN,)
    return repository.escalations_in(uow, [s.value for s in wanted])


def _open_queue(uow: UnitOfWork, include_acknowledged: bool = True) -> List[Dict[str, Any]]:
    """The unresolved escalations as short summaries for staff lists (the CLI, /open), oldest first."""
    return [views.escalation_summary(uow, e) for e in _open_escalations(uow, include_acknowledged)]


acknowledge = use_case(_acknowledge)
resolve = use_case(_resolve)
open_escalations = use_case(_open_escalations)
open_queue = use_case(_open_queue)
