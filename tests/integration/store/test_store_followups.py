"""schedule_followups on both backends with an injected clock: reminders, backup, dedupe under concurrency."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import select, update
from store_helpers import BACKUP_CHAT, NOW, TREATING_CHAT, decision

from bot.escalation.policy import EscalationPolicy
from bot.store import db, repository
from bot.store.models import AlertDelivery, Escalation
from bot.store.uow import UnitOfWork
from bot.triage.model import Level
from bot.usecases import escalations, reports
from bot.usecases.followups import schedule_followups

POLICY = EscalationPolicy(realert_after=dt.timedelta(minutes=10), backup_after=dt.timedelta(minutes=20))


def _open_urgent(session_factory, clinic) -> int:
    recorded = reports.record_report(
        UnitOfWork(session_factory),
        clinic.patient_id,
        clinic.treatment_id,
        "pus",
        decision(Level.URGENT, "discharge"),
        "rasa",
        now=NOW,
    )
    return recorded.escalation.id


def _schedule(session_factory, minutes: float) -> int:
    with UnitOfWork(session_factory) as uow:
        count = schedule_followups(uow, NOW + dt.timedelta(minutes=minutes), POLICY)
        uow.commit()
    return count


def _rows(session_factory, escalation_id):
    with UnitOfWork(session_factory) as uow:
        query = select(AlertDelivery).where(AlertDelivery.escalation_id == escalation_id).order_by(AlertDelivery.id)
        return [(d.chat_id, d.kind, d.round, d.status) for d in uow.session.execute(query).scalars()]


def test_reminder_then_backup_on_the_policy_clock(session_factory, clinic):
    escalation_id = _open_urgent(session_factory, clinic)
    assert _schedule(session_factory, 9) == 0
    assert _schedule(session_factory, 10) == 1
    assert _schedule(session_factory, 11) == 0  # already queued
    assert _schedule(session_factory, 20) == 2
    assert _rows(session_factory, escalation_id) == [
        (TREATING_CHAT, "initial", 0, "pending"),
        (TREATING_CHAT, "realert", 1, "pending"),
        (TREATING_CHAT, "realert", 2, "pending"),
        (BACKUP_CHAT, "backup", 1, "pending"),
    ]


def test_acknowledging_stops_and_cancels_reminders(session_factory, clinic):
    escalation_id = _open_urgent(session_factory, clinic)
    assert _schedule(session_factory, 10) == 1
    escalations.acknowledge(
        UnitOfWork(session_factory), escalation_id, clinic.treating_id, now=NOW + dt.timedelta(minutes=12)
    )
    assert _schedule(session_factory, 60) == 0
    kinds = {(kind, status) for _, kind, _, status in _rows(session_factory, escalation_id)}
    assert kinds == {("initial", "pending"), ("realert", "cancelled"), ("patient_ack_notice", "pending")}


def test_two_processes_scheduling_at_once_insert_each_row_once(db_url, session_factory, clinic):
    escalation_id = _open_urgent(session_factory, clinic)
    factories = [db.make_session_factory(db_url) for _ in range(2)]
    barrier = threading.Barrier(2)
    inserted = []

    def worker(factory):
        barrier.wait()
        inserted.append(_schedule(factory, 25))

    threads = [threading.Thread(target=worker, args=(f,)) for f in factories]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for factory in factories:
        factory.kw["bind"].dispose()
    assert sorted(inserted) == [0, 2]  # realert round 2 + backup, inserted by exactly one of them
    assert len(_rows(session_factory, escalation_id)) == 3


def test_dedupe_key_is_enforced_by_the_database(session_factory, clinic):
    escalation_id = _open_urgent(session_factory, clinic)
    with UnitOfWork(session_factory) as uow:
        again = repository.queue_delivery(
            uow,
            escalation_id,
            f"practitioner:{clinic.treating_id}",
            TREATING_CHAT,
            "initial",
            0,
            NOW,
            practitioner_id=clinic.treating_id,
        )
        uow.commit()
    assert again is False
    assert len(_rows(session_factory, escalation_id)) == 1


def test_no_followups_for_resolved_escalations(session_factory, clinic):
    escalation_id = _open_urgent(session_factory, clinic)
    with UnitOfWork(session_factory) as uow:
        uow.session.execute(update(Escalation).where(Escalation.id == escalation_id).values(state="resolved"))
        uow.commit()
    assert _schedule(session_factory, 100) == 0
