"""Alerts that find a person (issue 12, part 5), on both backends: a chat that refuses alerts for good (bot
blocked, chat not found) pages the next recipient in the SAME notifier pass, and when nobody at all can be
reached the escalation is marked and the patient is told to phone the clinic, once."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select, update
from store_helpers import BACKUP_CHAT, NOW, ON_CALL_CHAT, PATIENT_CHAT, TREATING_CHAT, decision

from bot.delivery.alerts import Notifier
from bot.escalation.policy import EscalationPolicy
from bot.outbox.errors import PermanentSendError
from bot.store.models import AlertDelivery, AuditEvent, Escalation, Practitioner
from bot.store.uow import UnitOfWork
from bot.triage.model import Level
from bot.usecases import escalations, reports

# The production timings: a failover must not wait for them.
POLICY = EscalationPolicy(realert_after=dt.timedelta(minutes=10), backup_after=dt.timedelta(minutes=20))
CLINIC_PHONE, EMERGENCY = "+44 20 7946 0000", "999"


class DeadChatsMessenger:
    """Delivers to every chat except `dead` ones, which fail as Telegram's 403 does (a PermanentSendError)."""

    def __init__(self, dead=()) -> None:
        self.dead = set(dead)
        self.messages = []
        self.refused = []

    async def send_alert(self, chat_id, text, buttons):
        if chat_id in self.dead:
            self.refused.append(chat_id)
            raise PermanentSendError("Telegram refused the message: Forbidden: bot was blocked by the user")
        self.messages.append((chat_id, text, buttons))
        return f"m{len(self.messages)}"

    def to(self, chat_id):
        return [text for chat, text, _ in self.messages if chat == chat_id]


def _notifier(session_factory, messenger) -> Notifier:
    return Notifier(
        session_factory,
        messenger,
        POLICY,
        rng=random.Random(3),
        clinic_name="Glow Clinic",
        clinic_phone=CLINIC_PHONE,
        emergency_number=EMERGENCY,
    )


def _report(session_factory, clinic, level=Level.URGENT) -> int:
    recorded = reports.record_report(
        UnitOfWork(session_factory),
        clinic.patient_id,
        clinic.treatment_id,
        "pus and spreading",
        decision(level, "discharge"),
        "rasa",
        now=NOW,
    )
    return recorded.escalation.id


def _at(seconds: float) -> dt.datetime:
    return NOW + dt.timedelta(seconds=seconds)


def _rows(session_factory):
    with UnitOfWork(session_factory) as uow:
        return [
            (r.recipient, r.kind, r.status)
            for r in uow.session.execute(select(AlertDelivery).order_by(AlertDelivery.id)).scalars()
        ]


def _audit(session_factory, entity, action):
    with UnitOfWork(session_factory) as uow:
        return list(
            uow.session.execute(
                select(AuditEvent).where(AuditEvent.entity == entity, AuditEvent.action == action)
            ).scalars()
        )


def _escalation(session_factory, escalation_id) -> Escalation:
    with UnitOfWork(session_factory) as uow:
        return uow.session.get(Escalation, escalation_id)


async def test_treating_blocked_the_bot_on_call_is_paged_in_the_same_pass(session_factory, clinic):
    escalation_id = _report(session_factory, clinic)
    messenger = DeadChatsMessenger(dead={TREATING_CHAT})
    stats = await _notifier(session_factory, messenger).run_once(_at(1))
    assert (stats.failed, stats.sent) == (1, 1) and stats.rounds == 2
    [alert] = messenger.to(ON_CALL_CHAT)  # at NOW + 1 s, not after ESCALATION_BACKUP_AFTER_MINUTES
    assert "could not be reached" in alert and "Jane Patient" in alert and f"ref E{escalation_id}/failover/1" in alert
    assert _rows(session_factory) == [
        (f"practitioner:{clinic.treating_id}", "initial", "failed"),
        (f"practitioner:{clinic.on_call_id}", "failover", "sent"),
    ]
    [failure] = _audit(session_factory, "alert_delivery", "failed")
    assert failure.detail["permanent"] is True and "blocked" in failure.detail["error"]
    assert failure.detail["recipient"] == f"practitioner:{clinic.treating_id}"
    assert _audit(session_factory, "escalation", "queued_failover")
    assert _escalation(session_factory, escalation_id).unreachable_at is None
    assert messenger.to(PATIENT_CHAT) == []

    # Later passes: no reminder to the dead chat; the timed backup still goes to the backup person.
    await _notifier(session_factory, messenger).run_once(_at(10 * 60))
    assert messenger.refused == [TREATING_CHAT]
    await _notifier(session_factory, messenger).run_once(_at(20 * 60))
    assert len(messenger.to(BACKUP_CHAT)) == 1 and messenger.refused == [TREATING_CHAT]


async def test_nobody_reachable_tells_the_patient_once(session_factory, clinic, caplog):
    caplog.set_level("INFO")
    escalation_id = _report(session_factory, clinic)
    messenger = DeadChatsMessenger(dead={TREATING_CHAT, ON_CALL_CHAT, BACKUP_CHAT})
    await _notifier(session_factory, messenger).run_once(_at(1))
    assert sorted(messenger.refused) == sorted([TREATING_CHAT, ON_CALL_CHAT, BACKUP_CHAT])
    [notice] = messenger.to(PATIENT_CHAT)
    assert "could not reach a practitioner" in notice and CLINIC_PHONE in notice and EMERGENCY in notice
    assert "alerted" not in notice.lower() and "seen your message" not in notice
    assert _escalation(session_factory, escalation_id).unreachable_at == _at(1)
    assert _audit(session_factory, "escalation", "unreachable")
    for minutes in (1, 10, 20, 45, 120):  # reminders, backup time, more polls: still exactly one notice
        await _notifier(session_factory, messenger).run_once(_at(minutes * 60))
    assert len(messenger.to(PATIENT_CHAT)) == 1
    assert len(messenger.refused) == 3  # no dead chat is tried again
    assert "Jane" not in caplog.text and "pus" not in caplog.text


async def test_no_practitioner_at_all_tells_the_patient_at_once(session_factory, clinic):
    with UnitOfWork(session_factory) as uow:
        uow.session.execute(update(Practitioner).values(active=False))
        uow.commit()
    escalation_id = _report(session_factory, clinic)
    messenger = DeadChatsMessenger()
    stats = await _notifier(session_factory, messenger).run_once(_at(1))
    assert stats.rounds == 1
    assert [chat for chat, _, _ in messenger.messages] == [PATIENT_CHAT]
    assert _escalation(session_factory, escalation_id).unreachable_at is not None


async def test_only_treating_and_no_backup_tells_the_patient(session_factory, clinic):
    with UnitOfWork(session_factory) as uow:
        uow.session.execute(update(Practitioner).where(Practitioner.id != clinic.treating_id).values(active=False))
        uow.commit()
    _report(session_factory, clinic)
    messenger = DeadChatsMessenger(dead={TREATING_CHAT})
    await _notifier(session_factory, messenger).run_once(_at(1))
    assert len(messenger.to(PATIENT_CHAT)) == 1


async def test_acknowledged_meanwhile_needs_no_failover(session_factory, clinic):
    escalation_id = _report(session_factory, clinic, Level.EMERGENCY)  # treating + on call at once
    messenger = DeadChatsMessenger(dead={TREATING_CHAT})
    await _notifier(session_factory, messenger).run_once(_at(1))
    assert len(messenger.to(ON_CALL_CHAT)) == 1  # the emergency's own alert; no failover on top of it
    assert not any("failover" in text for text in messenger.to(ON_CALL_CHAT))
    escalations.acknowledge(UnitOfWork(session_factory), escalation_id, clinic.on_call_id, now=_at(30))
    await _notifier(session_factory, messenger).run_once(_at(60 * 60))
    assert [text for text in messenger.to(PATIENT_CHAT) if "could not reach" in text] == []
