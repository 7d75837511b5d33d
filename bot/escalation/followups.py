"""Queue the reminders and backup alerts the policy says are due. Called by the notifier on every poll.

Safe to run from several processes at once: each row is inserted with ON CONFLICT DO NOTHING on the dedupe
key (escalation, recipient, kind, round), so the second process inserts nothing.
"""
from __future__ import annotations

import datetime as dt
from typing import Dict, FrozenSet, List, Optional, Tuple

from sqlalchemy import select

from bot.escalation.policy import EscalationPolicy, EscalationState, PractitionerRef
from bot.store import repository
from bot.store.models import AlertDelivery, Escalation, Practitioner, SymptomReport, Treatment
from bot.store.uow import UnitOfWork
from bot.triage.model import Level


def schedule_followups(uow: UnitOfWork, now: dt.datetime, policy: Optional[EscalationPolicy] = None) -> int:
    """Insert the outbox rows for every due follow-up. Returns how many rows this call inserted."""
    policy = policy or EscalationPolicy()
    staff = repository.staff_refs(uow)
    inserted = 0
    for state in escalation_states(uow, staff):
        for followup in policy.due_followups(state, now):
            person = next(p for p in staff if p.id == followup.practitioner_id)
            inserted += repository.queue_delivery(
                uow, state.escalation_id, f"practitioner:{person.id}", person.chat_id, followup.kind,
                followup.round, now, practitioner_id=person.id, actor="system:followups",
            )
    return inserted


def escalation_states(uow: UnitOfWork, staff: Tuple[PractitionerRef, ...]) -> List[EscalationState]:
    """The still-open escalations, in the shape the pure policy understands."""
    session = uow.session
    query = (
        select(Escalation, Practitioner)
        .join(SymptomReport, SymptomReport.id == Escalation.report_id)
        .outerjoin(Treatment, Treatment.id == SymptomReport.treatment_id)
        .outerjoin(Practitioner, Practitioner.id == Treatment.practitioner_id)
        .where(Escalation.state == "open")
        .order_by(Escalation.id)
    )
    rows = session.execute(query).all()
    queued = _queued_keys(uow, [escalation.id for escalation, _ in rows])
    return [
        EscalationState(
            escalation_id=escalation.id, level=Level(escalation.level), state=escalation.state,
            created_at=escalation.created_at,
            treating=PractitionerRef(treating.id, treating.role, treating.telegram_chat_id, bool(treating.active))
            if treating is not None else None,
            staff=staff, queued=queued.get(escalation.id, frozenset()),
        )
        for escalation, treating in rows
    ]


def _queued_keys(uow: UnitOfWork, escalation_ids: List[int]) -> Dict[int, FrozenSet[Tuple[int, str, int]]]:
    if not escalation_ids:
        return {}
    query = select(AlertDelivery.escalation_id, AlertDelivery.practitioner_id, AlertDelivery.kind,
                   AlertDelivery.round).where(AlertDelivery.escalation_id.in_(escalation_ids),
                                              AlertDelivery.practitioner_id.isnot(None))
    keys: Dict[int, set] = {}
    for escalation_id, practitioner_id, kind, round_ in uow.session.execute(query):
        keys.setdefault(escalation_id, set()).add((practitioner_id, kind, round_))
    return {key: frozenset(value) for key, value in keys.items()}
