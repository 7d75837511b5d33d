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
from typing import Dict, FrozenSet, List, Optional, Tuple

from sqlalchemy import select

from bot.escalation.policy import UNREACHABLE_NOTICE, EscalationPolicy, EscalationState, PractitionerRef
from bot.store import repository
from bot.store.models import AlertDelivery, ChatLink, Escalation, Practitioner, SymptomReport, Treatment
from bot.store.uow import UnitOfWork
from bot.triage.model import Level

log = logging.getLogger(__name__)


def schedule_followups(uow: UnitOfWork, now: dt.datetime, policy: Optional[EscalationPolicy] = None) -> int:
    """Insert the outbox rows for every due follow-up. Returns how many rows this call inserted."""
    policy = policy or EscalationPolicy()
    staff = repository.staff_refs(uow)
    inserted = 0
    for state in escalation_states(uow, staff):
        people = {p.id: p for p in staff + ((state.treating,) if state.treating else ())}
        for followup in policy.due_followups(state, now):
            person = people[followup.practitioner_id]
            inserted += repository.queue_delivery(
                uow, state.escalation_id, f"practitioner:{person.id}", person.chat_id, followup.kind,
                followup.round, now, practitioner_id=person.id, actor="system:followups",
            )
        if policy.nobody_reachable(state):
            inserted += mark_unreachable(uow, state, now)
    return inserted


def mark_unreachable(uow: UnitOfWork, state: EscalationState, now: dt.datetime) -> int:
    """Record that nobody could be reached and queue the patient's notice. Returns the rows inserted (0 or 1)."""
    escalation = uow.session.get(Escalation, state.escalation_id, with_for_update=True)
    if escalation is None or escalation.state != "open" or escalation.unreachable_at is not None:
        return 0
    escalation.unreachable_at = now
    repository.audit(uow, "escalation", escalation.id, "unreachable", "system:followups",
                     {"failed_practitioners": sorted(state.failed)}, now)
    # Ids only: no patient name or words in the log.
    log.error("escalation %s: no practitioner could be reached (failed: %s); telling the patient to phone "
              "the clinic", escalation.id, sorted(state.failed) or "nobody to alert")
    patient_chat = _patient_chat(uow, escalation)
    if patient_chat is None:
        repository.audit(uow, "escalation", escalation.id, "patient_not_notified", "system:followups",
                         {"reason": "no linked chat"}, now)
        return 0
    patient_id, chat_id = patient_chat
    return int(repository.queue_delivery(uow, escalation.id, f"patient:{patient_id}", chat_id, UNREACHABLE_NOTICE,
                                         0, now, actor="system:followups"))


def _patient_chat(uow: UnitOfWork, escalation: Escalation) -> Optional[Tuple[int, int]]:
    """(patient id, the chat they linked most recently) for an escalation, or None if they have no chat."""
    query = (
        select(SymptomReport.patient_id, ChatLink.telegram_chat_id)
        .join(ChatLink, ChatLink.patient_id == SymptomReport.patient_id)
        .where(SymptomReport.id == escalation.report_id)
        .order_by(ChatLink.linked_at.desc(), ChatLink.id.desc())
        .limit(1)
    )
    row = uow.session.execute(query).first()
    return None if row is None else (int(row[0]), int(row[1]))


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
    queued, failed = _queued_keys(uow, [escalation.id for escalation, _ in rows])
    return [
        EscalationState(
            escalation_id=escalation.id, level=Level(escalation.level), state=escalation.state,
            created_at=escalation.created_at,
            treating=PractitionerRef(treating.id, treating.role, treating.telegram_chat_id, bool(treating.active))
            if treating is not None else None,
            staff=staff, queued=queued.get(escalation.id, frozenset()),
            failed=failed.get(escalation.id, frozenset()), unreachable=escalation.unreachable_at is not None,
        )
        for escalation, treating in rows
    ]


def _queued_keys(uow: UnitOfWork, escalation_ids: List[int]
                 ) -> Tuple[Dict[int, FrozenSet[Tuple[int, str, int]]], Dict[int, FrozenSet[int]]]:
    """Per escalation: (practitioner, kind, round) of every practitioner alert, and who a delivery failed to reach."""
    if not escalation_ids:
        return {}, {}
    query = select(AlertDelivery.escalation_id, AlertDelivery.practitioner_id, AlertDelivery.kind,
                   AlertDelivery.round, AlertDelivery.status).where(AlertDelivery.escalation_id.in_(escalation_ids),
                                                                    AlertDelivery.practitioner_id.isnot(None))
    keys: Dict[int, set] = {}
    failed: Dict[int, set] = {}
    for escalation_id, practitioner_id, kind, round_, status in uow.session.execute(query):
        keys.setdefault(escalation_id, set()).add((practitioner_id, kind, round_))
        if status == "failed":
            failed.setdefault(escalation_id, set()).add(practitioner_id)
    return ({key: frozenset(value) for key, value in keys.items()},
            {key: frozenset(value) for key, value in failed.items()})
