"""Scheduling check-ins on patient add, and the sender, on SQLite and PostgreSQL (fixtures: ../conftest.py).

Messages are counted as the patients "see" them: what reached the fake messenger.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from checkins_helpers import T0, FakeClock, FakeMessenger, add_patient
from sqlalchemy import select

from bot.delivery.checkins import CheckinSender
from bot.outbox.errors import PermanentSendError, RetryAfter, TransientSendError
from bot.store import db
from bot.store.models import AuditEvent, ScheduledCheckin
from bot.store.uow import UnitOfWork
from bot.usecases import checkins as checkin_cases
from bot.usecases import enrolment

CHAT = 5001


def _rows(session_factory, patient_id=None):
    with UnitOfWork(session_factory) as uow:
        query = select(ScheduledCheckin).order_by(ScheduledCheckin.due_at)
        if patient_id is not None:
            query = query.where(ScheduledCheckin.patient_id == patient_id)
        return list(uow.session.execute(query).scalars())


def _state(row: ScheduledCheckin) -> str:
    if row.sent_at is not None:
        return "sent"
    if row.skipped_at is not None:
        return "skipped"
    return "paused" if row.paused else "pending"


def _states(session_factory, patient_id=None) -> dict:
    return {row.kind: _state(row) for row in _rows(session_factory, patient_id)}


# Scheduling ----------------------------------------------------------------------------------------------------
def test_adding_a_patient_schedules_the_checkins(session_factory, practitioner_id):
    patient_id = add_patient(session_factory, practitioner_id, CHAT, area="scalp")
    rows = _rows(session_factory, patient_id)
    # Scalp: the maintenance reminder comes after 90 days, just after the 12-week check-in (84 days).
    assert [(r.kind, r.due_at - T0) for r in rows] == [
        ("24h", dt.timedelta(hours=24)),
        ("72h", dt.timedelta(hours=72)),
        ("1w", dt.timedelta(weeks=1)),
        ("4w", dt.timedelta(weeks=4)),
        ("12w", dt.timedelta(weeks=12)),
        ("maintenance", dt.timedelta(days=90)),
    ]
    assert all(not r.paused and r.sent_at is None and r.skipped_at is None and r.attempts == 0 for r in rows)
    with UnitOfWork(session_factory) as uow:
        audited = uow.session.execute(select(AuditEvent).where(AuditEvent.entity == "checkin")).scalars().all()
    assert len(audited) == 6 and {a.action for a in audited} == {"scheduled"}


def test_without_checkin_hours_nothing_is_scheduled(session_factory, practitioner_id):
    patient_id = add_patient(session_factory, practitioner_id, CHAT, hours=None, maintenance=None)
    assert _rows(session_factory, patient_id) == []


def test_checkins_already_past_when_the_patient_is_entered_are_not_scheduled(session_factory, practitioner_id):
    patient_id = add_patient(session_factory, practitioner_id, CHAT, now=T0 + dt.timedelta(days=4))
    assert [r.kind for r in _rows(session_factory, patient_id)] == ["1w", "4w", "12w", "maintenance"]


# Sending across a restart, with a fake clock ------------------------------------------------------------------
async def test_checkins_fire_on_time_across_a_restart_exactly_once(db_url, session_factory, practitioner_id):
    clock = FakeClock(T0)
    patient_id = add_patient(session_factory, practitioner_id, CHAT)
    messenger = FakeMessenger()
    sender = CheckinSender(session_factory, messenger, clock)

    await sender.run_once(clock())
    clock.advance(hours=23, minutes=59)
    await sender.run_once(clock())
    assert messenger.messages == []  # nothing before 24 h

    clock.set(T0 + dt.timedelta(hours=24, minutes=1))
    stats = await sender.run_once(clock())
    assert (stats.sent, len(messenger.messages)) == (1, 1)
    chat_id, text, buttons = messenger.messages[0]
    assert chat_id == CHAT and "How is your skin doing?" in text and len(buttons) == 3
    await sender.run_once(clock())
    assert len(messenger.messages) == 1  # not twice

    # "Restart": the process dies; while it is down the 72 h and 1 week check-ins fall due. A new process
    # (new engine, new sender, new messenger) starts on the same database.
    session_factory.kw["bind"].dispose()
    clock.set(T0 + dt.timedelta(weeks=1, hours=3))
    factory2 = db.make_session_factory(db_url)
    try:
        messenger2 = FakeMessenger()
        sender2 = CheckinSender(factory2, messenger2, clock)
        stats = await sender2.run_once(clock())
        assert (stats.skipped, stats.sent) == (1, 1)
        assert len(messenger2.messages) == 1 and "a week" in messenger2.messages[0][1]
        assert _states(factory2, patient_id) == {
            "24h": "sent",
            "72h": "skipped",
            "1w": "sent",
            "4w": "pending",
            "12w": "pending",
            "maintenance": "pending",
        }
        await sender2.run_once(clock())
        clock.advance(days=1)
        await sender2.run_once(clock())
        assert len(messenger2.messages) == 1  # none on the next runs

        clock.set(T0 + dt.timedelta(weeks=4, minutes=1))
        await sender2.run_once(clock())
        clock.set(T0 + dt.timedelta(weeks=12, minutes=1))
        await sender2.run_once(clock())
        clock.set(T0 + dt.timedelta(days=180, minutes=1))
        await sender2.run_once(clock())
        await sender2.run_once(clock())
        assert len(messenger2.messages) == 4
        assert "4 weeks" in messenger2.messages[1][1] and "12 weeks" in messenger2.messages[2][1]
        maintenance_text, maintenance_buttons = messenger2.messages[-1][1:]
        assert "maintenance session" in maintenance_text and maintenance_buttons is None
        assert set(_states(factory2, patient_id).values()) <= {"sent", "skipped"}
        assert _states(factory2, patient_id)["72h"] == "skipped"
    finally:
        factory2.kw["bind"].dispose()


async def test_paused_checkins_are_not_sent_and_resume_brings_back_only_future_ones(session_factory, practitioner_id):
    clock = FakeClock(T0 + dt.timedelta(hours=1))
    patient_id = add_patient(session_factory, practitioner_id, CHAT)
    # the patient sends /stop
    assert checkin_cases.set_checkins_paused(UnitOfWork(session_factory), patient_id, True) == 6
    messenger = FakeMessenger()
    sender = CheckinSender(session_factory, messenger, clock)
    for when in (dt.timedelta(hours=25), dt.timedelta(hours=73), dt.timedelta(days=8)):
        clock.set(T0 + when)
        await sender.run_once(clock())
    assert messenger.messages == []

    # /resume on day 8: the 1 week check-in has passed meanwhile
    assert checkin_cases.set_checkins_paused(UnitOfWork(session_factory), patient_id, False, now=clock()) == 3
    assert _states(session_factory, patient_id) == {
        "24h": "skipped",
        "72h": "skipped",
        "1w": "skipped",
        "4w": "pending",
        "12w": "pending",
        "maintenance": "pending",
    }
    await sender.run_once(clock())
    assert messenger.messages == []  # nothing fires just because of /resume
    clock.set(T0 + dt.timedelta(weeks=4, minutes=1))
    await sender.run_once(clock())
    assert len(messenger.messages) == 1


async def test_unlinked_patients_get_nothing_until_they_link(session_factory, practitioner_id):
    clock = FakeClock(T0 + dt.timedelta(hours=80))
    patient_id = add_patient(session_factory, practitioner_id, None)
    messenger = FakeMessenger()
    sender = CheckinSender(session_factory, messenger, clock)
    stats = await sender.run_once(clock())
    assert messenger.messages == [] and stats.claimed == 0

    # the patient links their chat late: one check-in, the latest
    code = enrolment.new_link_code(UnitOfWork(session_factory), patient_id, now=clock())
    enrolment.redeem_link_code(UnitOfWork(session_factory), code.code, CHAT, now=clock())
    await sender.run_once(clock())
    await sender.run_once(clock())
    assert len(messenger.messages) == 1 and "3 days" in messenger.messages[0][1]
    assert _states(session_factory, patient_id)["24h"] == "skipped"


async def test_transient_failures_are_retried_later_and_permanent_ones_give_up(session_factory, practitioner_id):
    clock = FakeClock(T0 + dt.timedelta(hours=25))
    first = add_patient(session_factory, practitioner_id, CHAT)
    messenger = FakeMessenger(script=[RetryAfter(60), TransientSendError("502")])
    sender = CheckinSender(session_factory, messenger, clock, base_retry_seconds=30)

    assert (await sender.run_once(clock())).retried == 1
    assert (await sender.run_once(clock())).claimed == 0  # waits for its retry time
    clock.advance(seconds=61)
    assert (await sender.run_once(clock())).retried == 1
    clock.advance(seconds=61)
    assert (await sender.run_once(clock())).sent == 1
    assert len(messenger.messages) == 1 and messenger.attempts == 3
    assert [r.attempts for r in _rows(session_factory, first)][0] == 3

    second = add_patient(session_factory, practitioner_id, CHAT + 1, treated_at=clock(), now=clock())
    clock.advance(hours=24, minutes=1)
    messenger.script = [PermanentSendError("Forbidden: bot was blocked by the user")]
    assert (await sender.run_once(clock())).failed == 1
    clock.advance(days=1)
    await sender.run_once(clock())
    assert messenger.per_chat[CHAT + 1] == 0
    row = _rows(session_factory, second)[0]
    assert row.skipped_at is not None and "PermanentSendError" in row.last_error


async def test_two_senders_racing_send_each_checkin_once(db_url, session_factory, practitioner_id):
    """Two processes (separate engines) poll the same database at the same moments."""
    clock = FakeClock(T0)
    chats = [CHAT + i for i in range(8)]
    patients = [add_patient(session_factory, practitioner_id, chat) for chat in chats]
    messenger = FakeMessenger()
    factories = [db.make_session_factory(db_url), db.make_session_factory(db_url)]
    senders = [CheckinSender(f, messenger, clock, batch_size=3) for f in factories]
    try:
        expected = 0
        # 24 h due; then 72 h AND 1 week due at once (one message each); then 4 weeks.
        for when in (dt.timedelta(hours=25), dt.timedelta(weeks=1, hours=1), dt.timedelta(weeks=4, hours=1)):
            clock.set(T0 + when)
            for _ in range(4):  # a few rounds: batches of 3 leave work for the next pass
                await asyncio.gather(*(s.run_once(clock()) for s in senders))
            expected += 1
            assert messenger.per_chat == {chat: expected for chat in chats}
        for patient_id in patients:
            assert _states(session_factory, patient_id) == {
                "24h": "sent",
                "72h": "skipped",
                "1w": "sent",
                "4w": "sent",
                "12w": "pending",
                "maintenance": "pending",
            }
        with UnitOfWork(session_factory) as uow:
            sent_audits = (
                uow.session.execute(
                    select(AuditEvent).where(AuditEvent.entity == "checkin", AuditEvent.action == "sent")
                )
                .scalars()
                .all()
            )
        assert len(sent_audits) == len({a.entity_id for a in sent_audits}) == 3 * len(chats)
    finally:
        for factory in factories:
            factory.kw["bind"].dispose()


async def test_a_checkin_claimed_by_a_sender_that_died_is_sent_after_its_lease(session_factory, practitioner_id):
    clock = FakeClock(T0 + dt.timedelta(hours=25))
    add_patient(session_factory, practitioner_id, CHAT)
    dead = CheckinSender(session_factory, FakeMessenger(), clock, lease=dt.timedelta(minutes=5))
    claimed = dead.claim(clock())  # claimed, then the process died before sending
    assert len(claimed) == 1
    messenger = FakeMessenger()
    survivor = CheckinSender(session_factory, messenger, clock)
    clock.advance(minutes=4)
    assert (await survivor.run_once(clock())).claimed == 0  # still leased to the dead sender
    clock.advance(minutes=2)
    assert (await survivor.run_once(clock())).sent == 1
    await survivor.run_once(clock())
    assert len(messenger.messages) == 1


async def test_run_forever_stops_when_asked(session_factory, practitioner_id):
    clock = FakeClock(T0 + dt.timedelta(hours=25))
    add_patient(session_factory, practitioner_id, CHAT)
    messenger = FakeMessenger()
    stop = asyncio.Event()
    task = asyncio.create_task(CheckinSender(session_factory, messenger, clock).run_forever(0.01, stop))
    for _ in range(200):
        if messenger.messages:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, timeout=5)
    assert len(messenger.messages) == 1


def test_migration_0003_goes_down_and_up(db_url):
    try:
        db.downgrade(db_url, "0002")
        assert db.current_revision(db_url) == "0002"
        db.upgrade(db_url, "0003")
        assert db.current_revision(db_url) == "0003"
    finally:
        db.upgrade(db_url)
