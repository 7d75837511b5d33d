"""The web console's pages (bot.web.pages) and their use cases (bot.usecases.console), on both backends.

Use cases: the queue read model, the audited timeline, photo lookup and export, the patient card whose QR code
reads back as the deep link, booking, the admin's practitioners.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from bot.store import errors
from bot.store.models import AlertDelivery, AuditEvent, ScheduledCheckin
from bot.store.uow import UnitOfWork
from bot.triage.model import Decision, Finding, Level
from bot.usecases import console, enrolment, escalations, reports

T0 = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.timezone.utc)
NOW = T0 + dt.timedelta(days=2)
TREATING_CHAT, ON_CALL_CHAT, PATIENT_CHAT = 1001, 1002, 5001
ACTOR = "console:alice"


def _decision(level: Level, *symptoms: str) -> Decision:
    findings = tuple(Finding(symptom=s, severity=("severe",), text=f"{s} words") for s in symptoms)
    return Decision(level=level, criteria=(f"{level.value}_rule",), findings=findings)


@pytest.fixture
def clinic(session_factory):
    """Two practitioners and a linked patient with one urgent report (an open escalation, alerts queued)."""
    uow = UnitOfWork(session_factory)
    treating = enrolment.add_practitioner(uow, "Dr Treating", "treating", TREATING_CHAT)
    on_call = enrolment.add_practitioner(uow, "Dr OnCall", "on_call", ON_CALL_CHAT)
    new = enrolment.add_patient_with_treatment(
        uow, "Jane Patient", T0, "face", "microneedling", treating.id, now=T0, checkin_hours=(24, 72)
    )
    enrolment.redeem_link_code(uow, new.link_code, PATIENT_CHAT, now=T0)
    recorded = reports.record_report(
        uow, new.patient.id, new.treatment.id, "hot swollen and pus", _decision(Level.URGENT, "pus"), "rasa", now=NOW
    )
    reports.attach_photo(uow, new.patient.id, "file-abc", now=NOW, caption="left cheek")
    return {
        "treating": treating.id,
        "on_call": on_call.id,
        "patient": new.patient.id,
        "treatment": new.treatment.id,
        "escalation": recorded.escalation.id,
    }


def _audits(session_factory, action, actor=ACTOR):
    with UnitOfWork(session_factory) as uow:
        query = select(AuditEvent).where(AuditEvent.action == action, AuditEvent.actor == actor)
        return [(a.entity, a.entity_id) for a in uow.session.execute(query.order_by(AuditEvent.id)).scalars()]


def _sent(session_factory, escalation_id):
    """Mark the escalation's queued alerts as sent (what the notifier would do)."""
    with UnitOfWork(session_factory) as uow:
        for delivery in uow.session.execute(
            select(AlertDelivery).where(AlertDelivery.escalation_id == escalation_id)
        ).scalars():
            delivery.status, delivery.sent_at = "sent", NOW + dt.timedelta(minutes=1)
        uow.commit()


def qr_text(data_uri: str) -> str:
    assert data_uri.startswith("data:image/png;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(data_uri.split(",", 1)[1])))
    found = zxingcpp.read_barcodes(image)
    assert found, "no QR code found in the image"
    return found[0].text


# Use cases ----------------------------------------------------------------------------------------------------------
def test_queue_shows_level_patient_age_and_who_was_alerted(session_factory, clinic):
    _sent(session_factory, clinic["escalation"])
    rows = console.queue(UnitOfWork(session_factory), now=NOW + dt.timedelta(minutes=12))
    assert len(rows) == 1
    row = rows[0]
    assert (row["id"], row["level"], row["state"]) == (clinic["escalation"], "urgent", "open")
    assert (row["patient_id"], row["patient"], row["minutes_ago"]) == (clinic["patient"], "Jane Patient", 12)
    assert [(a["practitioner"], a["kind"], a["status"]) for a in row["alerted"]] == [("Dr Treating", "alert", "sent")]
    assert row["alerted"][0]["sent_at"] == NOW + dt.timedelta(minutes=1)
    assert row["followups"] == []


def test_queue_leaves_resolved_escalations_out(session_factory, clinic):
    uow = UnitOfWork(session_factory)
    escalations.acknowledge(uow, clinic["escalation"], clinic["treating"], now=NOW)
    assert [r["state"] for r in console.queue(uow, now=NOW)] == ["acknowledged"]
    assert console.queue(uow, now=NOW)[0]["acknowledged_by"] == "Dr Treating"
    escalations.resolve(uow, clinic["escalation"], clinic["treating"], "called her", now=NOW)
    assert console.queue(uow, now=NOW) == []


def test_patient_list(session_factory, clinic):
    enrolment.add_patient(UnitOfWork(session_factory), "No Treatment Yet", now=NOW)
    rows = console.patients(UnitOfWork(session_factory))
    assert [(r["name"], r["latest_treatment"], r["open_escalations"]) for r in rows] == [
        ("Jane Patient", T0, 1),
        ("No Treatment Yet", None, 0),
    ]


def test_timeline_has_the_whole_record_and_is_audited(session_factory, clinic):
    uow = UnitOfWork(session_factory)
    with UnitOfWork(session_factory) as open_uow:
        first = open_uow.session.execute(select(ScheduledCheckin).order_by(ScheduledCheckin.id)).scalars().first()
        first.sent_at = T0 + dt.timedelta(hours=24)
        open_uow.commit()
    reports.record_report(uow, clinic["patient"], clinic["treatment"], "fine", _decision(Level.NORMAL), "checkin")
    timeline = console.timeline(uow, clinic["patient"], ACTOR)
    assert timeline["name"] == "Jane Patient"
    assert [(t["area"], t["method"], t["practitioner"]) for t in timeline["treatments"]] == [
        ("face", "microneedling", "Dr Treating")
    ]
    first_report = timeline["reports"][0]
    assert (first_report["level"], first_report["text"], first_report["criteria"]) == (
        "urgent",
        "hot swollen and pus",
        ["urgent_rule"],
    )
    assert first_report["findings"] == ["pus (severe)"]
    assert first_report["escalation"]["id"] == clinic["escalation"]
    assert [(p["caption"], p["escalation_id"]) for p in timeline["photos"]] == [("left cheek", clinic["escalation"])]
    assert [(c["kind"], c["status"]) for c in timeline["checkins"]] == [("24h", "answered"), ("72h", "due")]
    assert _audits(session_factory, "viewed") == [("patient", clinic["patient"])]


def test_timeline_of_an_unknown_patient(session_factory, clinic):
    with pytest.raises(errors.UnknownPatient):
        console.timeline(UnitOfWork(session_factory), 999, ACTOR)
    assert _audits(session_factory, "viewed") == []


def test_photo_lookup_is_audited(session_factory, clinic):
    uow = UnitOfWork(session_factory)
    photo_id = console.timeline(uow, clinic["patient"], ACTOR)["photos"][0]["id"]
    ref = console.photo(uow, photo_id, ACTOR)
    assert (ref.file_id, ref.patient_id) == ("file-abc", clinic["patient"])
    assert ("photo", photo_id) in _audits(session_factory, "viewed")
    assert console.photo(uow, photo_id + 100, ACTOR) is None


def test_export_is_audited(session_factory, clinic):
    data = console.export(UnitOfWork(session_factory), clinic["patient"], ACTOR)
    assert data["patient"]["display_name"] == "Jane Patient"
    assert all("code" not in c for c in data["link_codes"])
    json.dumps(data)
    assert _audits(session_factory, "exported") == [("patient", clinic["patient"])]


def test_register_patient_card_qr_reads_back_as_the_deep_link(session_factory, clinic):
    card = console.register_patient(
        UnitOfWork(session_factory),
        "Ann Newcomer",
        "+44 7000 000000",
        NOW - dt.timedelta(hours=1),
        "scalp",
        "microinjection",
        clinic["treating"],
        bot_username="@ClinicBot",
        actor=ACTOR,
        link_code_ttl=dt.timedelta(hours=72),
        checkin_hours=(24,),
        now=NOW,
    )
    assert card.name == "Ann Newcomer"
    assert card.link.startswith("https://t.me/ClinicBot?start=")
    assert qr_text(card.qr_data_uri) == card.link
    assert card.expires_at == NOW + dt.timedelta(hours=72)
    # The code links a chat: redeeming it works.
    code = card.link.split("start=", 1)[1]
    assert enrolment.redeem_link_code(UnitOfWork(session_factory), code, 7777, now=NOW).id == card.patient_id
    assert ("patient", card.patient_id) in _audits(session_factory, "created")


def test_register_patient_refuses_bad_input(session_factory, clinic):
    uow = UnitOfWork(session_factory)
    with pytest.raises(errors.InvalidValue, match="name"):
        console.register_patient(
            uow, " ", None, NOW, "face", "microneedling", clinic["treating"], bot_username="b", actor=ACTOR, now=NOW
        )
    with pytest.raises(errors.TreatmentInFuture):
        console.register_patient(
            uow,
            "Ann",
            None,
            NOW + dt.timedelta(days=1),
            "face",
            "microneedling",
            clinic["treating"],
            bot_username="b",
            actor=ACTOR,
            now=NOW,
        )
    assert [r["name"] for r in console.patients(uow)] == ["Jane Patient"]


def test_book_appointment(session_factory, clinic):
    booked = console.book_appointment(
        UnitOfWork(session_factory),
        clinic["patient"],
        NOW + dt.timedelta(days=10),
        "face",
        "combined",
        clinic["treating"],
        actor=ACTOR,
        preparation_lead=dt.timedelta(days=7),
        now=NOW,
    )
    assert (booked["patient"], booked["practitioner"], booked["method"]) == ("Jane Patient", "Dr Treating", "combined")
    with pytest.raises(errors.AppointmentInPast):
        console.book_appointment(
            UnitOfWork(session_factory), clinic["patient"], NOW, "face", "combined", clinic["treating"], actor=ACTOR
        )


def test_admin_practitioners(session_factory, clinic):
    uow = UnitOfWork(session_factory)
    added = console.add_practitioner(uow, "Dr New", "backup", 4242, actor=ACTOR)
    assert (added["name"], added["role"], added["has_chat"]) == ("Dr New", "backup", True)
    assert [p["name"] for p in console.practitioners(uow)] == ["Dr Treating", "Dr OnCall", "Dr New"]
    with pytest.raises(errors.InvalidValue):
        console.add_practitioner(uow, "Dr X", "surgeon", None, actor=ACTOR)
    with pytest.raises(errors.DuplicateChatId):
        console.add_practitioner(uow, "Dr Y", "treating", 4242, actor=ACTOR)


def test_form_parsing():
    assert console.parse_when("2026-11-27T14:30", "Treated at") == dt.datetime(
        2026, 11, 27, 14, 30, tzinfo=dt.timezone.utc
    )
    with pytest.raises(errors.InvalidValue, match="Treated at"):
        console.parse_when("yesterday", "Treated at")
    assert console.parse_id("#12", "Patient ID") == 12
    with pytest.raises(errors.InvalidValue, match="Patient ID"):
        console.parse_id("twelve", "Patient ID")
    assert console.parse_chat_id("") is None
    assert console.parse_chat_id("-100") == -100
