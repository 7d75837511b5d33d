"""Appointments, the preparation row, and screening records with their practitioner alert, on both backends."""

from __future__ import annotations

import asyncio
import datetime as dt
import random

import pytest
from sqlalchemy import func, select
from store_fake_messenger import RecordingMessenger
from store_helpers import NOW, ON_CALL_CHAT, TREATING_CHAT

from bot.delivery.alerts import Notifier
from bot.escalation.policy import EscalationPolicy
from bot.store import db, errors, repository
from bot.store.models import AlertDelivery, Appointment, ScheduledCheckin, Screening
from bot.store.uow import UnitOfWork
from bot.usecases import appointments, enrolment, records

APPOINTMENT_AT = NOW + dt.timedelta(days=10)
LEAD = dt.timedelta(days=7)
ALL_NO = {
    key: "no"
    for key in (
        "infection",
        "isotretinoin",
        "autoimmune_bleeding",
        "blood_thinners",
        "keloid",
        "pregnancy",
        "cold_sores",
    )
}
QUIET_POLICY = EscalationPolicy(realert_after=dt.timedelta(days=30), backup_after=dt.timedelta(days=30))


def _book(session_factory, clinic, at=APPOINTMENT_AT, lead=LEAD, practitioner_id=None) -> int:
    appointment = appointments.add_appointment(
        UnitOfWork(session_factory),
        clinic.patient_id,
        at,
        "scalp",
        "microinjection",
        practitioner_id or clinic.treating_id,
        preparation_lead=lead,
        now=NOW,
    )
    return appointment.id


def _screen(session_factory, clinic, answers, now=NOW):
    return appointments.record_screening(UnitOfWork(session_factory), clinic.patient_id, answers, now=now)


def _count(session_factory, model, *where) -> int:
    with UnitOfWork(session_factory) as uow:
        return uow.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


# Appointments ------------------------------------------------------------------------------------------------------
def test_booking_schedules_the_preparation_guidance_lead_days_before(session_factory, clinic):
    appointment_id = _book(session_factory, clinic)
    with UnitOfWork(session_factory) as uow:
        row = uow.session.execute(select(ScheduledCheckin).where(ScheduledCheckin.kind == "preparation")).scalar_one()
    assert (row.appointment_id, row.treatment_id, row.due_at) == (appointment_id, None, APPOINTMENT_AT - LEAD)


def test_an_appointment_sooner_than_the_lead_gets_the_guidance_at_once(session_factory, clinic):
    _book(session_factory, clinic, at=NOW + dt.timedelta(days=2))
    with UnitOfWork(session_factory) as uow:
        row = uow.session.execute(select(ScheduledCheckin).where(ScheduledCheckin.kind == "preparation")).scalar_one()
    assert row.due_at == NOW


def test_without_a_lead_nothing_is_scheduled(session_factory, clinic):
    _book(session_factory, clinic, lead=None)
    assert _count(session_factory, ScheduledCheckin, ScheduledCheckin.kind == "preparation") == 0


@pytest.mark.parametrize(
    "change, error",
    [
        (dict(at=NOW - dt.timedelta(minutes=1)), errors.AppointmentInPast),
        (dict(at=APPOINTMENT_AT.replace(tzinfo=None)), errors.InvalidValue),
        (dict(area="neck"), errors.InvalidValue),
        (dict(method="laser"), errors.InvalidValue),
        (dict(patient_id=999), errors.UnknownPatient),
        (dict(practitioner_id=999), errors.UnknownPractitioner),
    ],
)
def test_bad_appointments_are_refused_with_a_message(session_factory, clinic, change, error):
    values = dict(
        patient_id=clinic.patient_id,
        at=APPOINTMENT_AT,
        area="face",
        method="microneedling",
        practitioner_id=clinic.treating_id,
    )
    values.update(change)
    with pytest.raises(error) as raised:
        appointments.add_appointment(
            UnitOfWork(session_factory),
            values["patient_id"],
            values["at"],
            values["area"],
            values["method"],
            values["practitioner_id"],
            preparation_lead=LEAD,
            now=NOW,
        )
    assert str(raised.value)
    assert _count(session_factory, Appointment) == 0


def test_a_planned_appointment_does_not_change_triage_context(session_factory, clinic):
    # Hours since treatment must come from the treatment that was performed, never from a planned one.
    uow = UnitOfWork(session_factory)
    _, before = records.patient_context(uow, clinic.patient_id, now=NOW)
    _book(session_factory, clinic, at=NOW + dt.timedelta(hours=1))
    _, after = records.patient_context(uow, clinic.patient_id, now=NOW)
    assert appointments.next_appointment(uow, clinic.patient_id, NOW).scheduled_at == NOW + dt.timedelta(hours=1)
    assert appointments.next_appointment(uow, clinic.patient_id, NOW + dt.timedelta(hours=2)) is None
    assert after == before and after.hours_since_treatment == 48
    assert (after.area, after.method) == ("face", "microneedling")


# Screening records and their alert ---------------------------------------------------------------------------------
def test_all_no_is_stored_without_an_alert(session_factory, clinic):
    appointment_id = _book(session_factory, clinic)
    recorded = _screen(session_factory, clinic, ALL_NO)
    assert recorded.deliveries == ()
    assert (recorded.screening.appointment_id, recorded.screening.flagged) == (appointment_id, [])
    assert _count(session_factory, AlertDelivery) == 0


def test_a_yes_and_a_not_sure_alert_the_appointments_practitioner_once(session_factory, clinic):
    _book(session_factory, clinic, practitioner_id=clinic.on_call_id)  # someone else treats this time
    answers = dict(ALL_NO, blood_thinners="yes", pregnancy="unsure")
    recorded = _screen(session_factory, clinic, answers)
    assert recorded.screening.flagged == ["blood_thinners", "pregnancy"]
    [delivery] = recorded.deliveries
    assert (delivery.kind, delivery.chat_id, delivery.escalation_id, delivery.status) == (
        "screening",
        ON_CALL_CHAT,
        None,
        "pending",
    )
    assert delivery.dedupe_key == f"s{recorded.screening.id}/practitioner:{clinic.on_call_id}/screening/0"


def test_missing_answers_count_as_unsure(session_factory, clinic):
    recorded = _screen(session_factory, clinic, {"infection": "no"})
    assert len(recorded.screening.flagged) == 6
    # No appointment on record: the treating practitioner of the latest treatment reviews.
    assert [d.chat_id for d in recorded.deliveries] == [TREATING_CHAT]


def test_an_unreachable_practitioner_falls_back_to_on_call(session_factory, clinic):
    enrolment.update_practitioner(UnitOfWork(session_factory), clinic.treating_id, active=False)
    recorded = _screen(session_factory, clinic, dict(ALL_NO, keloid="yes"))
    assert [d.chat_id for d in recorded.deliveries] == [ON_CALL_CHAT]


def test_bad_answers_are_refused(session_factory, clinic):
    uow = UnitOfWork(session_factory)
    with pytest.raises(errors.InvalidValue, match="one of yes, no, unsure"):
        appointments.record_screening(uow, clinic.patient_id, dict(ALL_NO, keloid="probably"), now=NOW)
    with pytest.raises(errors.InvalidValue, match="unknown screening item"):
        appointments.record_screening(uow, clinic.patient_id, dict(ALL_NO, smoking="yes"), now=NOW)
    assert _count(session_factory, Screening) == 0


def test_staff_see_the_answers_to_review_in_summary_and_export(session_factory, clinic):
    appointment_id = _book(session_factory, clinic)
    screening = _screen(session_factory, clinic, dict(ALL_NO, isotretinoin="yes", cold_sores="unsure")).screening
    uow = UnitOfWork(session_factory)
    summary = records.view_patient(uow, clinic.patient_id)
    export = records.export_patient(uow, clinic.patient_id)
    assert summary["next_appointment"]["id"] == appointment_id
    assert summary["latest_screening"]["to_review"] == {"isotretinoin": "yes", "cold_sores": "unsure"}
    assert [a["id"] for a in export["appointments"]] == [appointment_id]
    assert export["screenings"][0]["answers"]["isotretinoin"] == "yes"
    assert [d["screening_id"] for d in export["alert_deliveries"]] == [screening.id]
    assert any(e["entity"] == "screening" and e["action"] == "recorded" for e in export["audit_events"])


async def test_a_positive_screening_reaches_the_practitioner_exactly_once(session_factory, clinic):
    _book(session_factory, clinic)
    screening = _screen(session_factory, clinic, dict(ALL_NO, infection="yes", keloid="unsure")).screening
    messenger = RecordingMessenger()
    notifiers = [Notifier(session_factory, messenger, QUIET_POLICY, rng=random.Random(i)) for i in range(2)]
    # Two notifiers polling at once, then again later: one message, one row marked sent.
    await asyncio.gather(*(n.run_once(NOW + dt.timedelta(seconds=1)) for n in notifiers))
    await notifiers[0].run_once(NOW + dt.timedelta(minutes=30))
    assert len(messenger.messages) == 1
    chat_id, text, buttons = messenger.messages[0]
    assert chat_id == TREATING_CHAT and buttons is None
    assert "Jane Patient" in text and APPOINTMENT_AT.strftime("%d %b %Y %H:%M") in text
    assert "active skin infection (viral, bacterial or fungal): yes" in text
    assert "keloid or hypertrophic scarring: not sure" in text
    assert "isotretinoin" not in text  # answered no: not for review
    assert f"ref S{screening.id}/screening/0" in text
    with UnitOfWork(session_factory) as uow:
        row = uow.session.execute(select(AlertDelivery)).scalar_one()
    assert (row.status, row.attempts) == ("sent", 1)


def test_migration_0004_goes_down_and_up_with_screening_rows(db_url, session_factory, clinic):
    _book(session_factory, clinic)
    _screen(session_factory, clinic, dict(ALL_NO, keloid="yes"))
    session_factory.kw["bind"].dispose()
    try:
        db.downgrade(db_url, "0003")
        assert db.current_revision(db_url) == "0003"
        db.upgrade(db_url)
        assert db.current_revision(db_url) == db.head_revision()
        # The aftercare records survive the round trip; what needs 0004 went with it.
        with UnitOfWork(session_factory) as uow:
            assert repository.latest_treatment(uow, clinic.patient_id) is not None
        assert _count(session_factory, Screening) == 0 and _count(session_factory, AlertDelivery) == 0
    finally:
        db.upgrade(db_url)


def test_the_staff_patient_summary_shows_the_appointment_and_the_answers_to_review(session_factory, clinic):
    from bot.bootstrap.gateway import format_patient_summary

    _book(session_factory, clinic)
    _screen(session_factory, clinic, dict(ALL_NO, isotretinoin="yes", pregnancy="unsure"))
    text = format_patient_summary(records.view_patient(UnitOfWork(session_factory), clinic.patient_id))
    assert f"Next appointment: {APPOINTMENT_AT:%Y-%m-%dT%H:%M} UTC, scalp, microinjection" in text
    assert "review: isotretinoin (Accutane) in the last 6-12 months: yes; pregnant or breastfeeding: not sure" in text
    assert "keloid" not in text
