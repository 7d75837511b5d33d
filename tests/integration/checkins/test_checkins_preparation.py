"""The preparation guidance before an appointment, sent by the check-in sender (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from checkins_helpers import T0, FakeClock, FakeMessenger, add_patient
from sqlalchemy import select

from bot.delivery.checkins import CheckinSender
from bot.screening.preparation import START_SCREENING_PAYLOAD
from bot.store import db
from bot.store.models import ScheduledCheckin
from bot.store.uow import UnitOfWork
from bot.usecases import appointments, enrolment

CHAT = 5001
LEAD = dt.timedelta(days=7)


def _book(
    session_factory, patient_id: int, practitioner_id: int, at: dt.datetime, now: Optional[dt.datetime] = None
) -> int:
    appointment = appointments.add_appointment(
        UnitOfWork(session_factory),
        patient_id,
        at,
        "face",
        "microneedling",
        practitioner_id,
        preparation_lead=LEAD,
        now=now or T0,
    )
    return appointment.id


def _preparation_state(session_factory) -> str:
    with UnitOfWork(session_factory) as uow:
        row = uow.session.execute(select(ScheduledCheckin).where(ScheduledCheckin.kind == "preparation")).scalar_one()
    return "sent" if row.sent_at else "skipped" if row.skipped_at else "pending"


async def test_preparation_is_sent_once_on_time_across_a_restart(db_url, session_factory, practitioner_id):
    # A patient with aftercare check-ins from a first session, and a second session booked 5 weeks later.
    patient_id = add_patient(session_factory, practitioner_id, CHAT)
    appointment_at = T0 + dt.timedelta(weeks=5)
    _book(session_factory, patient_id, practitioner_id, appointment_at)
    clock = FakeClock(appointment_at - LEAD - dt.timedelta(minutes=1))
    messenger = FakeMessenger()
    sender = CheckinSender(session_factory, messenger, clock, clinic_name="Glow Clinic", clinic_phone="0123 456")
    await sender.run_once(clock())
    assert len(messenger.messages) == 1 and "checking in" in messenger.messages[0][1]  # the 1-week check-in, late

    clock.advance(minutes=2)
    session_factory.kw["bind"].dispose()  # "restart": a new process on the same database
    factory2 = db.make_session_factory(db_url)
    try:
        messenger2 = FakeMessenger()
        sender2 = CheckinSender(factory2, messenger2, clock, clinic_name="Glow Clinic", clinic_phone="0123 456")
        stats = await sender2.run_once(clock())
        await sender2.run_once(clock())
        clock.advance(days=1)
        await sender2.run_once(clock())
        # The 4-week check-in falls due at the same moment: both go out, neither hides the other (two series).
        assert (stats.sent, stats.skipped, len(messenger2.messages)) == (2, 0, 2)
        assert sum("4 weeks since your treatment" in text for _, text, _ in messenger2.messages) == 1
        [(chat_id, text, buttons)] = [m for m in messenger2.messages if m[2] and "health questions" in m[2][0][0]]
        assert chat_id == CHAT
        assert "Glow Clinic" in text and appointment_at.strftime("%d %b at %H:%M") in text
        assert "retinoids" in text and "5 to 7 days" in text and "peels" in text and "moisturised" in text
        assert buttons == [("Start the health questions", START_SCREENING_PAYLOAD)]
        assert _preparation_state(factory2) == "sent"
    finally:
        factory2.kw["bind"].dispose()


async def test_a_patient_who_links_late_gets_it_on_linking_but_not_after_the_appointment(
    session_factory, practitioner_id
):
    patient_id = add_patient(session_factory, practitioner_id, chat_id=None, hours=(), maintenance={})
    appointment_at = T0 + dt.timedelta(days=3)  # nearer than the lead: due at once, waits for the link
    _book(session_factory, patient_id, practitioner_id, appointment_at)
    clock = FakeClock(T0 + dt.timedelta(days=1))
    messenger = FakeMessenger()
    sender = CheckinSender(session_factory, messenger, clock)
    await sender.run_once(clock())
    assert messenger.messages == []

    uow = UnitOfWork(session_factory)
    code = enrolment.new_link_code(uow, patient_id, now=clock())
    enrolment.redeem_link_code(uow, code.code, CHAT, now=clock())
    await sender.run_once(clock())
    assert [chat for chat, _, _ in messenger.messages] == [CHAT]


async def test_preparation_for_an_appointment_already_begun_is_skipped(session_factory, practitioner_id):
    patient_id = add_patient(session_factory, practitioner_id, chat_id=None, hours=(), maintenance={})
    appointment_at = T0 + dt.timedelta(days=3)
    _book(session_factory, patient_id, practitioner_id, appointment_at)
    uow = UnitOfWork(session_factory)  # the patient links only after the appointment
    code = enrolment.new_link_code(uow, patient_id, now=appointment_at)
    enrolment.redeem_link_code(uow, code.code, CHAT, now=appointment_at + dt.timedelta(hours=1))
    messenger = FakeMessenger()
    stats = await CheckinSender(session_factory, messenger).run_once(appointment_at + dt.timedelta(hours=1))
    assert (stats.skipped, messenger.messages) == (1, [])
    assert _preparation_state(session_factory) == "skipped"
