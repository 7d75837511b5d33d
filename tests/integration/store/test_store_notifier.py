"""The notifier on both backends: sending, retrying, giving up, cancelling, concurrent notifiers, and the
FAULT tests (a flaky messenger and a notifier killed between sending and recording)."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from store_fake_messenger import FlakyMessenger, RecordingMessenger, read_attempts, read_seen
from store_helpers import NOW, ON_CALL_CHAT, PATIENT_CHAT, TREATING_CHAT, decision

from bot import views
from bot.delivery.alerts import Notifier
from bot.escalation.policy import EscalationPolicy
from bot.outbox.errors import PermanentSendError, RetryAfter, TransientSendError
from bot.outbox.messenger import ConsoleMessenger
from bot.outbox.worker import Nudge
from bot.store import repository
from bot.store.models import AlertDelivery, AuditEvent, Escalation
from bot.store.uow import UnitOfWork
from bot.triage.model import Level
from bot.usecases import escalations, reports

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[2]
QUIET_POLICY = EscalationPolicy(realert_after=dt.timedelta(days=30), backup_after=dt.timedelta(days=30))


def _report(session_factory, clinic, level=Level.URGENT, now=NOW) -> int:
    recorded = reports.record_report(
        UnitOfWork(session_factory),
        clinic.patient_id,
        clinic.treatment_id,
        "pus everywhere",
        decision(level, "discharge"),
        "rasa",
        now=now,
    )
    return recorded.escalation.id


def _rows(session_factory):
    with UnitOfWork(session_factory) as uow:
        return list(uow.session.execute(select(AlertDelivery).order_by(AlertDelivery.id)).scalars())


def _notifier(session_factory, messenger, **kwargs) -> Notifier:
    kwargs.setdefault("policy", QUIET_POLICY)
    return Notifier(session_factory, messenger, rng=random.Random(7), **kwargs)


def _at(seconds: float) -> dt.datetime:
    return NOW + dt.timedelta(seconds=seconds)


# Ordinary behaviour ----------------------------------------------------------------------------------------------
async def test_sends_alert_with_buttons_and_marks_it_sent(session_factory, clinic):
    escalation_id = _report(session_factory, clinic)
    messenger = RecordingMessenger()
    stats = await _notifier(session_factory, messenger).run_once(_at(1))
    assert (stats.claimed, stats.sent) == (1, 1)
    chat_id, text, buttons = messenger.messages[0]
    assert chat_id == TREATING_CHAT and "Jane Patient" in text
    assert buttons == [("Acknowledge", f"ack:{escalation_id}"), ("Resolve", f"resolve:{escalation_id}")]
    [row] = _rows(session_factory)
    assert (row.status, row.attempts, row.external_message_id, row.sent_at) == ("sent", 1, "m1", _at(1))
    assert row.claim_token is None and row.claimed_until is None
    assert (await _notifier(session_factory, messenger).run_once(_at(2))).claimed == 0  # nothing left


async def test_retry_after_is_honoured(session_factory, clinic):
    _report(session_factory, clinic)
    messenger = RecordingMessenger(script=[RetryAfter(30)])
    notifier = _notifier(session_factory, messenger)
    assert (await notifier.run_once(_at(0))).retried == 1
    [row] = _rows(session_factory)
    assert row.status == "pending" and row.next_attempt_at >= _at(30) and "RetryAfter" in row.last_error
    assert (await notifier.run_once(_at(20))).claimed == 0  # too early
    assert (await notifier.run_once(_at(32))).sent == 1


async def test_permanent_error_fails_at_once_and_is_audited(session_factory, clinic):
    _report(session_factory, clinic)
    messenger = RecordingMessenger(script=[PermanentSendError("chat not found")])
    assert (await _notifier(session_factory, messenger).run_once(_at(0))).failed == 1
    row, failover = _rows(session_factory)  # the next recipient is paged at once (test_store_failover.py)
    assert (row.status, row.attempts) == ("failed", 1)
    assert (failover.kind, failover.chat_id, failover.status) == ("failover", ON_CALL_CHAT, "sent")
    with UnitOfWork(session_factory) as uow:
        actions = (
            uow.session.execute(
                select(AuditEvent.action).where(AuditEvent.entity == "alert_delivery", AuditEvent.entity_id == row.id)
            )
            .scalars()
            .all()
        )
    assert actions == ["failed"]


async def test_gives_up_after_max_attempts(session_factory, clinic):
    _report(session_factory, clinic)
    messenger = RecordingMessenger(script=[TransientSendError("502")] * 10)
    notifier = _notifier(session_factory, messenger, max_attempts=3, base_backoff_seconds=1, max_backoff_seconds=1)
    outcomes = [await notifier.run_once(_at(10 * i)) for i in range(3)]
    # the third attempt gives up and the on-call practitioner's failover page gets its first (failed) try
    assert [(s.retried, s.failed) for s in outcomes] == [(1, 0), (1, 0), (1, 1)]
    row, failover = _rows(session_factory)
    assert (row.status, row.attempts) == ("failed", 3)
    assert (failover.kind, failover.chat_id, failover.status, failover.attempts) == (
        "failover",
        ON_CALL_CHAT,
        "pending",
        1,
    )


async def test_reminder_for_acknowledged_escalation_is_cancelled_not_sent(session_factory, clinic):
    escalation_id = _report(session_factory, clinic)
    messenger = RecordingMessenger()
    policy = EscalationPolicy(realert_after=dt.timedelta(minutes=10), backup_after=dt.timedelta(days=1))
    notifier = _notifier(session_factory, messenger, policy=policy)
    await notifier.run_once(_at(0))
    # Another process queues the reminder; the escalation is acknowledged before it is sent (set directly,
    # bypassing acknowledge(), which would have cancelled the row itself).
    with UnitOfWork(session_factory) as uow:
        repository.queue_delivery(
            uow,
            escalation_id,
            f"practitioner:{clinic.treating_id}",
            TREATING_CHAT,
            "realert",
            1,
            _at(600),
            practitioner_id=clinic.treating_id,
        )
        uow.session.execute(update(Escalation).where(Escalation.id == escalation_id).values(state="acknowledged"))
        uow.commit()
    stats = await notifier.run_once(_at(601))
    assert (stats.cancelled, stats.sent, len(messenger.messages)) == (1, 0, 1)


async def test_acknowledge_notice_reaches_the_patient(session_factory, clinic):
    escalation_id = _report(session_factory, clinic)
    messenger = RecordingMessenger()
    notifier = _notifier(session_factory, messenger, clinic_name="Glow Clinic")
    await notifier.run_once(_at(0))
    escalations.acknowledge(UnitOfWork(session_factory), escalation_id, clinic.treating_id, now=_at(60))
    await notifier.run_once(_at(61))
    chat_id, text, buttons = messenger.messages[-1]
    assert chat_id == PATIENT_CHAT and buttons is None
    assert text.startswith("Dr Treating at Glow Clinic has seen your message")


async def test_console_messenger_end_to_end(session_factory, clinic):
    escalation_id = _report(session_factory, clinic, Level.EMERGENCY)
    stream = io.StringIO()
    stats = await _notifier(session_factory, ConsoleMessenger(stream)).run_once(_at(0))
    assert stats.sent == 2
    printed = stream.getvalue()
    assert printed.count("┌─ message to chat") == 2 and f"ack:{escalation_id}" in printed
    assert "EMERGENCY" in printed


async def test_two_notifiers_never_send_the_same_row(session_factory, clinic):
    for i in range(12):
        _report(session_factory, clinic, Level.EMERGENCY, now=NOW + dt.timedelta(seconds=i))
    messengers = [RecordingMessenger(), RecordingMessenger()]
    notifiers = [_notifier(session_factory, m, batch_size=5) for m in messengers]
    for step in range(6):
        await asyncio.gather(*(n.run_once(_at(60 + step)) for n in notifiers))
    seen = messengers[0].seen + messengers[1].seen
    assert len(seen) == 24 and set(seen.values()) == {1}
    assert all(row.status == "sent" for row in _rows(session_factory))


async def test_alert_that_cannot_be_worded_is_still_sent(session_factory, clinic, monkeypatch):
    escalation_id = _report(session_factory, clinic)

    def broken(*args, **kwargs):
        raise KeyError("symptom")

    monkeypatch.setattr(views, "alert_context", broken)
    messenger = RecordingMessenger()
    assert (await _notifier(session_factory, messenger).run_once(_at(0))).sent == 1
    chat_id, text, buttons = messenger.messages[0]
    assert f"escalation #{escalation_id} needs attention" in text and buttons[0] == (
        "Acknowledge",
        f"ack:{escalation_id}",
    )


async def test_run_forever_stops_when_asked(session_factory, clinic):
    _report(session_factory, clinic)
    messenger = RecordingMessenger()
    stop = asyncio.Event()
    task = asyncio.create_task(_notifier(session_factory, messenger).run_forever(poll_interval=0.05, stop=stop))
    for _ in range(100):
        if messenger.messages:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert len(messenger.messages) == 1


async def test_a_nudge_sends_a_new_alert_without_waiting_for_the_poll(session_factory, clinic):
    """The gateway nudges after each answered message; the poll interval (an hour here) is only the safety net."""
    messenger = RecordingMessenger()
    stop, nudge = asyncio.Event(), Nudge()
    notifier = _notifier(session_factory, messenger)
    passes = []
    run_once = notifier.run_once

    async def counted(now=None):
        stats = await run_once(now)
        passes.append(stats)
        return stats

    notifier.run_once = counted  # type: ignore[method-assign]
    task = asyncio.create_task(notifier.run_forever(poll_interval=3600, stop=stop, nudge=nudge))
    while not passes:  # the first pass (nothing to send) is over; the loop now sleeps for an hour
        await asyncio.sleep(0.01)
    escalation_id = _report(session_factory, clinic)
    nudge()
    for _ in range(500):
        if messenger.messages:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert [(chat, buttons[0]) for chat, _, buttons in messenger.messages] == [
        (TREATING_CHAT, ("Acknowledge", f"ack:{escalation_id}"))
    ]
    assert len(passes) == 2  # one at start, one for the nudge: no busy loop


# Fault tests -----------------------------------------------------------------------------------------------------
def _create_escalations(session_factory, clinic, count: int) -> Counter:
    """`count` escalations, a third of them emergencies. Returns the (chat, escalation, kind, round) keys
    every intended recipient must see."""
    expected = Counter()
    for i in range(count):
        level = Level.EMERGENCY if i % 3 == 0 else Level.URGENT
        escalation_id = _report(session_factory, clinic, level, now=NOW + dt.timedelta(seconds=i))
        expected[(TREATING_CHAT, escalation_id, "initial", 0)] = 1
        if level == Level.EMERGENCY:
            expected[(ON_CALL_CHAT, escalation_id, "initial", 0)] = 1
    return expected


async def _drain(notifier: Notifier, start: dt.datetime, session_factory, max_passes: int = 400) -> int:
    """Run passes on a simulated clock (5 s per pass) until nothing is pending. Returns the passes used."""
    now = start
    for passes in range(1, max_passes + 1):
        await notifier.run_once(now)
        with UnitOfWork(session_factory) as uow:
            pending = uow.session.execute(
                select(func.count()).select_from(AlertDelivery).where(AlertDelivery.status == "pending")
            ).scalar_one()
        if pending == 0:
            return passes
        now += dt.timedelta(seconds=5)
    raise AssertionError("outbox not drained")


def _last_seen(seen_path: str):
    with open(seen_path, encoding="utf-8") as seen:
        chat, escalation, kind, round_ = seen.read().splitlines()[-1].split("\t")
    return int(chat), int(escalation), kind, int(round_)


def _check_delivered_exactly_once(session_factory, expected: Counter, seen: Counter, attempts: Counter, label: str):
    rows = _rows(session_factory)
    resent = sum(count - 1 for count in seen.values())
    print(
        f"\n[{label}] deliveries={len(rows)} attempts={sum(attempts.values())} "
        f"outcomes={dict(attempts)} seen_by_recipients={sum(seen.values())} "
        f"re-sends deduplicated={resent} failed={sum(r.status == 'failed' for r in rows)}"
    )
    assert set(seen) == set(expected), "a recipient missed an alert or got one not meant for them"
    assert all(row.status == "sent" for row in rows), "an alert was left undelivered"
    return resent


async def test_fault_flaky_messenger_and_cancelled_notifier(session_factory, clinic, tmp_path):
    """In process: ~50% failures, and the notifier task is cancelled after sending but before recording."""
    expected = _create_escalations(session_factory, clinic, 18)
    seen_path = str(tmp_path / "seen.tsv")
    flaky = FlakyMessenger(seen_path, seed=11, hang_after=8)
    first = _notifier(
        session_factory,
        flaky,
        max_attempts=20,
        base_backoff_seconds=1,
        max_backoff_seconds=20,
        batch_size=10,
        lease=dt.timedelta(seconds=60),
    )
    task = asyncio.create_task(_drain(first, _at(100), session_factory))
    for _ in range(400):  # wait until the messenger is stuck right after a delivery
        if flaky.delivered > 8:
            break
        await asyncio.sleep(0.01)
    assert flaky.delivered > 8, "the messenger never reached the crash point"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    interrupted = _last_seen(seen_path)  # sent, never recorded as sent

    with UnitOfWork(session_factory) as uow:
        lease_end = uow.session.execute(select(func.max(AlertDelivery.claimed_until))).scalar_one()
    assert lease_end is not None, "the interrupted delivery should still hold its lease"
    second = _notifier(
        session_factory,
        FlakyMessenger(seen_path, seed=12),
        max_attempts=20,
        base_backoff_seconds=1,
        max_backoff_seconds=20,
        batch_size=10,
    )
    await _drain(second, lease_end + dt.timedelta(seconds=1), session_factory)

    resent = _check_delivered_exactly_once(
        session_factory, expected, read_seen(seen_path), read_attempts(seen_path), "cancelled task"
    )
    assert resent >= 1
    assert read_seen(seen_path)[interrupted] >= 2  # the interrupted delivery was sent again, same reference


async def test_fault_notifier_process_killed_and_restarted(db_url, session_factory, clinic, tmp_path):
    """Out of process: the notifier runs in a subprocess that is SIGKILLed right after a send it has not yet
    recorded; a new notifier takes over on the same database. Nothing is lost; the duplicate carries the same
    reference, so the recipient counts it once."""
    expected = _create_escalations(session_factory, clinic, 24)
    seen_path = str(tmp_path / "seen.tsv")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), str(HERE)]))
    child = subprocess.Popen(
        [sys.executable, str(HERE / "notifier_child.py"), db_url, seen_path, _at(100).isoformat(), "10", "21"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while read_attempts(seen_path)["ok"] <= 10 and time.monotonic() < deadline:
            assert child.poll() is None, child.stderr.read().decode()
            time.sleep(0.02)
        time.sleep(0.05)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    assert child.returncode == -signal.SIGKILL
    interrupted = _last_seen(seen_path)  # sent by the killed process, never recorded as sent
    delivered_before_kill = sum(read_seen(seen_path).values())
    assert delivered_before_kill > 10

    with UnitOfWork(session_factory) as uow:
        lease_end = uow.session.execute(select(func.max(AlertDelivery.claimed_until))).scalar_one()
        sent_before = uow.session.execute(
            select(func.count()).select_from(AlertDelivery).where(AlertDelivery.status == "sent")
        ).scalar_one()
    assert lease_end is not None and sent_before < sum(expected.values())
    restarted = _notifier(
        session_factory,
        FlakyMessenger(seen_path, seed=22),
        max_attempts=20,
        base_backoff_seconds=1,
        max_backoff_seconds=20,
        batch_size=10,
    )
    await _drain(restarted, lease_end + dt.timedelta(seconds=1), session_factory)

    resent = _check_delivered_exactly_once(
        session_factory,
        expected,
        read_seen(seen_path),
        read_attempts(seen_path),
        f"killed process, {db_url.split(':')[0]}",
    )
    assert resent >= 1
    assert read_seen(seen_path)[interrupted] >= 2


async def test_no_patient_names_or_words_in_logs_at_info(session_factory, clinic, caplog):
    caplog.set_level("INFO")
    _report(session_factory, clinic)
    messenger = RecordingMessenger(script=[TransientSendError("502"), PermanentSendError("blocked")])
    notifier = _notifier(session_factory, messenger, base_backoff_seconds=1, max_backoff_seconds=1)
    await notifier.run_once(_at(0))
    await notifier.run_once(_at(10))
    assert caplog.records, "expected the retry and the failure to be logged"
    assert "Jane" not in caplog.text and "pus" not in caplog.text
