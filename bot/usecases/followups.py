"""Queue the reminders, backup and failover alerts the policy says are due. Called by the notifier on every poll.

When the policy says nobody can be reached any more (every alert failed for good, or there never was anyone
to alert), the escalation is marked (`unreachable_at`) and the patient gets an `unreachable_notice` telling
them to phone the clinic or emergency services themselves; the dedupe key makes that notice go out once.

Safe to run from several processes at once: each row is inserted with ON CONFLICT DO NOTHING on the dedupe
key (escalation, recipient, kind, round), so the second process inserts nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Dict, List, Optional, Set, Tuple

from bot.escalation.policy import UNREACHABLE_NOTICE, EscalationPolicy, EscalationSnapshot, PractitionerRef
from bot.escalation.states import EscalationState
from bot.store import errors, repository
from bot.store.uow import UnitOfWork
from bot.triage.model import Level
from bot.usecases.escalations import practitioner_ref, staff_refs

log = logging.getLogger(__name__)


def schedule_followups(uow: UnitOfWork, now: dt.datetime, policy: Optional[EscalationPolicy] = None) -> int:
    """Insert the outbox rows for every due follow-up. Returns how many rows this call inserted."""
    policy = policy or EscalationPolicy()
    staff = staff_refs(uow)
    inserted = 0
    for state in escalation_states(uow, staff):
        people = {p.id: p for p in staff + ((state.treating,) if state.treating else ())}
        for followup in policy.due_followups(state, now):
            person = people[followup.practitioner_id]
            inserted += repository.queue_delivery(
                uow,
                state.escalation_id,
                f"practitioner:{person.id}",
                person.chat_id,
                followup.kind,
                followup.round,
                now,
                practitioner_id=person.id,
                actor="system:followups",
            )
        if policy.nobody_reachable(state):
            inserted += mark_unreachable(uow, state, now)
    return inserted


def mark_unreachable(uow: UnitOfWork, state: EscalationSnapshot, now: dt.datetime) -> int:
    """Record that nobody could be reached and queue the patient's notice. Returns the rows inserted (0 or 1)."""
    try:
        escalation = repository.escalation_for_update(uow, state.escalation_id)
    except errors.UnknownEscalation:
        return 0
    if escalation.state != EscalationState.OPEN or escalation.unreachable_at is not None:
        return 0
    escalation.unreachable_at = now
    repository.audit(
        uow,
        "escalation",
        escalation.id,
        "unreachable",
        "system:followups",
        {"failed_practitioners": sorted(state.failed)},
        now,
    )
    # Ids only: no patient name or words in the log.
    log.error(
        "escalation %s: no practitioner could be reached (failed: %s); telling the patient to phone the clinic",
        escalation.id,
        sorted(state.failed) or "nobody to alert",
    )
    patient_id = repository.get_report(uow, escalation.report_id).patient_id
    link = repository.latest_chat_link(uow, patient_id)
    if link is None:
        repository.audit(
            uow,
            "escalation",
            escalation.id,
            "patient_not_notified",
            "system:followups",
            {"reason": "no linked chat"},
            now,
        )
        return 0
    return int(
        repository.queue_delivery(
            uow,
            escalation.id,
            f"patient:{patient_id}",
            link.telegram_chat_id,
            UNREACHABLE_NOTICE,
            0,
            now,
            actor="system:followups",
        )
    )


def escalation_states(uow: UnitOfWork, staff: Tuple[PractitionerRef, ...]) -> List[EscalationSnapshot]:
    """The still-open escalations, in the shape the pure policy understands."""
    rows = repository.escalations_with_treating(uow, EscalationState.OPEN.value)
    queued: Dict[int, Set[Tuple[int, str, int]]] = {}
    failed: Dict[int, Set[int]] = {}
    for delivery in repository.practitioner_deliveries(uow, [escalation.id for escalation, _ in rows]):
        queued.setdefault(delivery.escalation_id, set()).add((delivery.practitioner_id, delivery.kind, delivery.round))
        if delivery.status == "failed":
            failed.setdefault(delivery.escalation_id, set()).add(delivery.practitioner_id)
    return [
        EscalationSnapshot(
            escalation_id=escalation.id,
            level=Level(escalation.level),
            state=escalation.state,
            created_at=escalation.created_at,
            treating=practitioner_ref(treating) if treating is not None else None,
            staff=staff,
            queued=frozenset(queued.get(escalation.id, ())),
            failed=frozenset(failed.get(escalation.id, ())),
            unreachable=escalation.unreachable_at is not None,
        )
        for escalation, treating in rows
    ]
