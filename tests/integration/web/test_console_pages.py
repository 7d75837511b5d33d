"""The web console's pages (bot.web.pages) and their use cases (bot.usecases.console), on both backends.

Use cases: the queue read model, the audited timeline, photo lookup and export, the patient card whose QR code
reads back as the deep link, booking, the admin's practitioners. Pages (Starlette's TestClient, signed in through
POST /login): the queue and its live rows, acknowledge/resolve (the record changes, the patient's notice is
queued), the roles (desk: only registering and booking), the card, booking, export, photos, CSRF.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re
from typing import Tuple

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select
from starlette.testclient import TestClient

from bot.settings import Settings
from bot.store import errors
from bot.store.models import AlertDelivery, Appointment, AuditEvent, Escalation, ScheduledCheckin
from bot.store.uow import UnitOfWork
from bot.triage.model import Decision, Finding, Level
from bot.usecases import console, console_accounts, enrolment, escalations, reports
from bot.web.app import build_app
from bot.web.files import PhotoUnavailable

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


def test_queue_puts_what_nobody_picked_up_first_then_emergencies_then_the_oldest(session_factory, clinic):
    uow = UnitOfWork(session_factory)
    later = NOW + dt.timedelta(minutes=3)

    def report(level, symptom, at):
        return reports.record_report(
            uow, clinic["patient"], clinic["treatment"], symptom, _decision(level, symptom), "rasa", now=at
        ).escalation.id

    urgent_later = report(Level.URGENT, "fever", later)
    emergency_later = report(Level.EMERGENCY, "vision_change", later)
    escalations.acknowledge(uow, emergency_later, clinic["treating"], now=later)
    order = [row["id"] for row in console.queue(uow, now=later)]
    # open before acknowledged; among the open ones the oldest urgent first; the acknowledged emergency last
    assert order == [clinic["escalation"], urgent_later, emergency_later]
    emergency_open = report(Level.EMERGENCY, "vision_change", later + dt.timedelta(minutes=1))
    assert [row["id"] for row in console.queue(uow, now=later)][0] == emergency_open


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


# Pages --------------------------------------------------------------------------------------------------------------
PASSWORD = "correct horse battery staple"
CLOCK = NOW + dt.timedelta(minutes=7)


class FakeBotFiles:
    """BotFiles without Telegram: file ids it knows give bytes, others PhotoUnavailable."""

    def __init__(self) -> None:
        self.asked: list = []

    async def download(self, file_id: str) -> Tuple[bytes, str]:
        self.asked.append(file_id)
        if file_id != "file-abc":
            raise PhotoUnavailable("gone")
        return b"\xff\xd8\xff fake jpeg", "image/jpeg"


@pytest.fixture
def bot_files():
    return FakeBotFiles()


@pytest.fixture
def web(session_factory, clinic, bot_files):
    """sign_in(username, role, practitioner) -> a TestClient signed in as a new console account."""
    app = build_app(
        Settings(telegram_bot_username="ClinicBot"), session_factory, bot_api=bot_files, clock=lambda: CLOCK
    )

    def sign_in(username: str, role: str, practitioner_id=None, app_=app) -> TestClient:
        console_accounts.add_account(UnitOfWork(session_factory), username, PASSWORD, role, practitioner_id)
        client = TestClient(app_)
        answer = client.post("/login", data={"username": username, "password": PASSWORD}, follow_redirects=False)
        assert answer.status_code == 303
        return client

    return sign_in


def csrf_of(client: TestClient, path: str = "/patients/new") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text).group(1)


def _escalation(session_factory, escalation_id) -> Escalation:
    with UnitOfWork(session_factory) as uow:
        escalation = uow.session.get(Escalation, escalation_id)
        uow.session.expunge(escalation)
        return escalation


def test_queue_page_lists_the_open_escalation(web, clinic, session_factory):
    _sent(session_factory, clinic["escalation"])
    client = web("alice", "clinician", clinic["treating"])
    page = client.get("/queue")
    assert page.status_code == 200
    assert "<h1>Escalation queue</h1>" in page.text
    assert '<table aria-label="Escalation queue"' in page.text
    assert f'<tr data-escalation-id="{clinic["escalation"]}">' in page.text
    assert f'<a href="/patients/{clinic["patient"]}">Jane Patient</a>' in page.text
    assert "7 min ago" in page.text  # raised at NOW, the clock says NOW + 7 min
    assert "Dr Treating: alert sent 2026-11-22 10:01 UTC" in page.text
    assert '<td class="state" data-label="State">open</td>' in page.text
    assert ">Acknowledge</button>" in page.text and ">Resolve</button>" in page.text
    assert f'<label for="note-{clinic["escalation"]}">Note</label>' in page.text
    assert '<script src="/static/console.js" defer></script>' in page.text
    rows = client.get("/queue/rows")
    assert rows.status_code == 200
    assert rows.text.lstrip().startswith('<tbody id="queue-rows"')
    assert f'data-escalation-id="{clinic["escalation"]}"' in rows.text
    assert "<html" not in rows.text


def test_acknowledge_then_resolve_from_the_queue(web, clinic, session_factory):
    client = web("alice", "clinician", clinic["treating"])
    token = csrf_of(client, "/queue")
    escalation_id = clinic["escalation"]
    answer = client.post(
        f"/escalations/{escalation_id}/acknowledge", data={"csrf_token": token}, follow_redirects=False
    )
    assert (answer.status_code, answer.headers["location"]) == (303, "/queue")
    escalation = _escalation(session_factory, escalation_id)
    assert (escalation.state, escalation.acknowledged_by) == ("acknowledged", clinic["treating"])
    with UnitOfWork(session_factory) as uow:
        notices = uow.session.execute(
            select(AlertDelivery).where(
                AlertDelivery.escalation_id == escalation_id, AlertDelivery.kind == "patient_ack_notice"
            )
        ).scalars()
        assert [(n.recipient, n.chat_id, n.status) for n in notices] == [
            (f"patient:{clinic['patient']}", PATIENT_CHAT, "pending")
        ]
    page = client.get("/queue").text
    assert '<td class="state" data-label="State">acknowledged</td>' in page
    assert ">Acknowledge</button>" not in page
    answer = client.post(
        f"/escalations/{escalation_id}/resolve", data={"csrf_token": token, "note": "Called her; antibiotics"}
    )
    assert answer.status_code == 200 and answer.url.path == "/queue"
    assert "No open escalations." in answer.text
    escalation = _escalation(session_factory, escalation_id)
    assert (escalation.state, escalation.resolved_by, escalation.note) == (
        "resolved",
        clinic["treating"],
        "Called her; antibiotics",
    )


def test_posts_without_the_csrf_token_are_refused(web, clinic, session_factory):
    client = web("alice", "clinician", clinic["treating"])
    for path, data in [
        (f"/escalations/{clinic['escalation']}/acknowledge", {}),
        (f"/escalations/{clinic['escalation']}/resolve", {"csrf_token": "forged"}),
        ("/patients", {"name": "Ann"}),
        ("/appointments", {"patient_id": "1"}),
    ]:
        answer = client.post(path, data=data)
        assert answer.status_code == 403, path
        assert "Form expired or forged" in answer.text
    assert _escalation(session_factory, clinic["escalation"]).state == "open"


def test_an_account_without_a_practitioner_cannot_acknowledge(web, clinic, session_factory):
    client = web("bob", "clinician")
    page = client.get("/queue").text
    assert "Link this account to a practitioner to acknowledge" in page
    assert ">Acknowledge</button>" not in page
    answer = client.post(f"/escalations/{clinic['escalation']}/acknowledge", data={"csrf_token": csrf_of(client)})
    assert answer.status_code == 403
    assert _escalation(session_factory, clinic["escalation"]).state == "open"


def test_unknown_escalation_is_404(web, clinic):
    client = web("alice", "clinician", clinic["treating"])
    assert client.post("/escalations/999/acknowledge", data={"csrf_token": csrf_of(client)}).status_code == 404


def test_desk_only_registers_and_books(web, clinic):
    client = web("dana", "desk")
    patient = clinic["patient"]
    for path in [
        "/queue",
        "/queue/rows",
        "/patients",
        f"/patients/{patient}",
        f"/patients/{patient}/export",
        "/photos/1",
        "/admin/practitioners",
    ]:
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "Not allowed" in answer.text
        assert "Jane Patient" not in answer.text
    assert client.post(f"/escalations/{clinic['escalation']}/acknowledge", data={}).status_code == 403
    assert client.get("/patients/new").status_code == 200
    assert client.get("/appointments/new").status_code == 200
    assert client.get("/", follow_redirects=False).headers["location"] == "/patients/new"


def test_signed_out_visitors_go_to_sign_in(web, clinic, session_factory):
    web("alice", "clinician", clinic["treating"])
    client = TestClient(build_app(Settings(), session_factory))
    for path in ["/queue", f"/patients/{clinic['patient']}", "/patients/new", "/appointments/new"]:
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login")


def test_patient_list_and_timeline(web, clinic, session_factory):
    client = web("alice", "clinician", clinic["treating"])
    listing = client.get("/patients").text
    assert f'<a href="/patients/{clinic["patient"]}">Jane Patient</a>' in listing
    assert "2026-11-20 10:00 UTC" in listing
    page = client.get(f"/patients/{clinic['patient']}")
    assert page.status_code == 200
    assert f"<h1>Patient #{clinic['patient']}</h1>" in page.text
    headings = re.findall(r"<h2[^>]*>([^<]+)</h2>", page.text)
    assert headings == ["Treatments", "Reports", "Photos", "Check-ins", "Screening", "Appointments"]
    assert "hot swollen and pus" in page.text and "urgent_rule" in page.text and "pus (severe)" in page.text
    assert 'href="/photos/' in page.text and "left cheek" in page.text
    assert f'<a href="/patients/{clinic["patient"]}/export" download>Export (JSON)</a>' in page.text
    assert _audits(session_factory, "viewed", "console:alice") == [("patient", clinic["patient"])]
    assert client.get("/patients/999").status_code == 404


def test_patient_names_and_words_are_escaped(web, clinic, session_factory):
    reports.record_report(
        UnitOfWork(session_factory),
        clinic["patient"],
        clinic["treatment"],
        "<script>alert(1)</script>",
        _decision(Level.NORMAL),
        "rasa",
        now=NOW,
    )
    client = web("alice", "clinician", clinic["treating"])
    page = client.get(f"/patients/{clinic['patient']}").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_export_is_a_json_attachment_and_audited(web, clinic, session_factory):
    client = web("alice", "clinician", clinic["treating"])
    answer = client.get(f"/patients/{clinic['patient']}/export")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["content-disposition"] == f'attachment; filename="patient-{clinic["patient"]}.json"'
    assert answer.headers["cache-control"] == "no-store"
    data = answer.json()
    assert data["patient"]["display_name"] == "Jane Patient"
    assert _audits(session_factory, "exported", "console:alice") == [("patient", clinic["patient"])]


def test_photo_comes_through_the_bot_api_uncached_and_audited(web, clinic, session_factory, bot_files):
    client = web("alice", "clinician", clinic["treating"])
    page = client.get(f"/patients/{clinic['patient']}").text
    photo_id = int(re.search(r'href="/photos/(\d+)"', page).group(1))
    answer = client.get(f"/photos/{photo_id}")
    assert answer.status_code == 200
    assert answer.content == b"\xff\xd8\xff fake jpeg"
    assert answer.headers["content-type"] == "image/jpeg"
    assert answer.headers["cache-control"] == "no-store"
    assert bot_files.asked == ["file-abc"]
    assert ("photo", photo_id) in _audits(session_factory, "viewed", "console:alice")
    assert client.get(f"/photos/{photo_id + 50}").status_code == 404


def test_photos_are_404_without_a_telegram_token(session_factory, clinic):
    console_accounts.add_account(UnitOfWork(session_factory), "alice", PASSWORD, "clinician", clinic["treating"])
    client = TestClient(build_app(Settings(), session_factory, bot_api=None))
    client.post("/login", data={"username": "alice", "password": PASSWORD})
    assert client.get("/photos/1").status_code == 404
    assert (
        "Photos open only when the console has the Telegram bot token"
        in client.get(f"/patients/{clinic['patient']}").text
    )


def test_register_a_patient_shows_a_card_whose_qr_reads_back(web, clinic, session_factory):
    client = web("dana", "desk")
    form = client.get("/patients/new").text
    assert "<h1>Register a patient</h1>" in form
    for field, label in [
        ("name", "Name"),
        ("phone", "Phone"),
        ("treated_at", "Treated at"),
        ("area", "Area"),
        ("method", "Method"),
        ("practitioner", "Treating practitioner"),
    ]:
        assert f'<label for="{field}">{label}</label>' in form
        assert f'id="{field}"' in form
    assert 'value="2026-11-22T10:07"' in form  # "Treated at" defaults to now (clinic time, UTC)
    answer = client.post(
        "/patients",
        data={
            "csrf_token": csrf_of(client),
            "name": "Ann Newcomer",
            "phone": "+44 7000 000000",
            "treated_at": "2026-11-22T09:30",
            "area": "scalp",
            "method": "microinjection",
            "practitioner_id": str(clinic["treating"]),
        },
    )
    assert answer.status_code == 200
    assert answer.url.path == "/patients"  # the code is in no URL of ours
    assert "<h1>Patient card</h1>" in answer.text and "Ann Newcomer" in answer.text
    link = re.search(r'<code id="deep-link">([^<]+)</code>', answer.text).group(1)
    assert link.startswith("https://t.me/ClinicBot?start=")
    qr = re.search(r'<img class="qr" alt="QR code for the patient\'s Telegram link" src="([^"]+)"', answer.text)
    assert qr is not None
    assert qr_text(qr.group(1)) == link
    assert "2026-11-25 10:07 UTC" in answer.text  # expires after LINK_CODE_TTL_HOURS (72)
    assert 'id="print-card">Print</button>' in answer.text
    patient_id = int(re.search(r'<span id="patient-id">(\d+)</span>', answer.text).group(1))
    with UnitOfWork(session_factory) as uow:
        checkins = uow.session.execute(
            select(ScheduledCheckin).where(ScheduledCheckin.patient_id == patient_id)
        ).scalars()
        assert len(list(checkins)) >= 3  # the settings' schedule, from the treatment on
    assert ("patient", patient_id) in _audits(session_factory, "created", "console:dana")


def test_register_with_bad_input_keeps_the_values(web, clinic):
    client = web("dana", "desk")
    answer = client.post(
        "/patients",
        data={
            "csrf_token": csrf_of(client),
            "name": "Ann Newcomer",
            "phone": "0700",
            "treated_at": "2026-12-30T09:30",
            "area": "scalp",
            "method": "microinjection",
            "practitioner_id": str(clinic["treating"]),
        },
    )
    assert answer.status_code == 400
    assert "is in the future" in answer.text and 'role="alert"' in answer.text
    assert 'value="Ann Newcomer"' in answer.text and 'value="2026-12-30T09:30"' in answer.text
    assert '<option value="scalp" selected>' in answer.text
    answer = client.post("/patients", data={"csrf_token": csrf_of(client), "name": "", "treated_at": "soon"})
    assert answer.status_code == 400 and "Treated at is not a date and time" in answer.text


def test_book_an_appointment(web, clinic, session_factory):
    client = web("dana", "desk")
    form = client.get(f"/appointments/new?patient={clinic['patient']}").text
    assert "<h1>Book an appointment</h1>" in form
    for field, label in [
        ("patient_id", "Patient ID"),
        ("scheduled_at", "Appointment at"),
        ("area", "Area"),
        ("method", "Method"),
        ("practitioner", "Practitioner"),
    ]:
        assert f'<label for="{field}">{label}</label>' in form
    assert f'value="{clinic["patient"]}"' in form
    answer = client.post(
        "/appointments",
        data={
            "csrf_token": csrf_of(client),
            "patient_id": str(clinic["patient"]),
            "scheduled_at": "2026-12-03T10:00",
            "area": "face",
            "method": "combined",
            "practitioner_id": str(clinic["treating"]),
        },
    )
    assert answer.status_code == 200
    booked = re.search(r"Appointment #(\d+) booked for Jane Patient", answer.text)
    assert booked is not None
    with UnitOfWork(session_factory) as uow:
        appointment = uow.session.get(Appointment, int(booked.group(1)))
        assert appointment.scheduled_at == dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.timezone.utc)
        assert (appointment.method, appointment.practitioner_id) == ("combined", clinic["treating"])
    answer = client.post(
        "/appointments",
        data={
            "csrf_token": csrf_of(client),
            "patient_id": "999",
            "scheduled_at": "2026-12-03T10:00",
            "area": "face",
            "method": "combined",
            "practitioner_id": str(clinic["treating"]),
        },
    )
    assert answer.status_code == 400 and "No patient with id 999" in answer.text


def test_admin_adds_a_practitioner(web, clinic):
    admin = web("root", "admin")
    page = admin.get("/admin/practitioners").text
    assert "Dr Treating" in page and "<h1>Practitioners</h1>" in page
    for field, label in [("name", "Name"), ("role", "Role"), ("chat_id", "Telegram chat id")]:
        assert f'<label for="{field}">{label}</label>' in page
    token = csrf_of(admin, "/admin/practitioners")
    answer = admin.post(
        "/admin/practitioners", data={"csrf_token": token, "name": "Dr Night", "role": "on_call", "chat_id": "777"}
    )
    assert answer.status_code == 200 and "Dr Night added" in answer.text
    answer = admin.post(
        "/admin/practitioners", data={"csrf_token": token, "name": "Dr Copy", "role": "on_call", "chat_id": "777"}
    )
    assert answer.status_code == 400 and "already belongs" in answer.text and 'value="Dr Copy"' in answer.text
    clinician = web("alice", "clinician", clinic["treating"])
    assert clinician.get("/admin/practitioners").status_code == 403


async def test_photo_through_the_bot_api_stand_in(session_factory, clinic):
    """The real HttpBotFiles: getFile, then the file URL, on the Bot API stand-in; nothing cached."""
    import httpx

    from bot.web.files import HttpBotFiles
    from devtools.telegram_standin import BotApiStandIn

    token = "123456:TEST-token"
    console_accounts.add_account(UnitOfWork(session_factory), "alice", PASSWORD, "clinician", clinic["treating"])
    async with BotApiStandIn(token=token) as tg:
        tg.inject_photo(PATIENT_CHAT, file_id="AgACAgConsole", caption="chin")
        photo = reports.attach_photo(UnitOfWork(session_factory), clinic["patient"], "AgACAgConsole", now=NOW)
        app = build_app(Settings(), session_factory, bot_api=HttpBotFiles(token, tg.base_url), clock=lambda: CLOCK)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            signed_in = await client.post("/login", data={"username": "alice", "password": PASSWORD})
            assert signed_in.status_code == 303
            answer = await client.get(f"/photos/{photo.id}")
            assert answer.status_code == 200
            assert answer.content.startswith(b"\xff\xd8\xff stand-in file photos/AgACAgConsole.jpg")
            assert answer.headers["content-type"] == "image/jpeg"
            assert answer.headers["cache-control"] == "no-store"
            missing = reports.attach_photo(UnitOfWork(session_factory), clinic["patient"], "AgACAgGone", now=NOW)
            assert (await client.get(f"/photos/{missing.id}")).status_code == 404
        assert [call.method for call in tg.calls if call.method == "getFile"] == ["getFile", "getFile"]


def test_out_of_range_ids_and_overlong_values_are_answered_not_crashed(web, clinic):
    client = web("alice", "clinician", clinic["treating"])
    huge = 2**40
    assert client.get(f"/patients/{huge}").status_code == 404
    assert client.get(f"/patients/{huge}/export").status_code == 404
    assert client.get(f"/photos/{huge}").status_code == 404
    assert client.post(f"/escalations/{huge}/acknowledge", data={"csrf_token": csrf_of(client)}).status_code == 404
    base = {
        "csrf_token": csrf_of(client),
        "name": "Ann",
        "treated_at": "2026-11-22T09:30",
        "area": "face",
        "method": "microneedling",
        "practitioner_id": str(clinic["treating"]),
    }
    answer = client.post("/patients", data={**base, "phone": "0" * 41})
    assert answer.status_code == 400 and "Phone must be at most 40 characters." in answer.text
    answer = client.post("/patients", data={**base, "practitioner_id": str(huge)})
    assert answer.status_code == 400 and "Treating practitioner must be a record number" in answer.text
    answer = client.post(
        "/appointments",
        data={**base, "patient_id": str(huge), "scheduled_at": "2026-12-03T10:00", "treated_at": ""},
    )
    assert answer.status_code == 400 and "Patient ID must be a record number" in answer.text


def test_the_queue_refreshing_itself_does_not_keep_a_session_alive(session_factory, clinic):
    """A queue left open on an unattended screen signs out when its session ends; a person using a page renews it."""
    moment = [CLOCK]
    app = build_app(Settings(), session_factory, clock=lambda: moment[0])
    hours = Settings().console_session_hours

    def signed_in_client(username: str) -> TestClient:
        console_accounts.add_account(UnitOfWork(session_factory), username, PASSWORD, "clinician", clinic["treating"])
        client = TestClient(app)
        moment[0] = CLOCK
        assert client.post("/login", data={"username": username, "password": PASSWORD}, follow_redirects=False)
        return client

    left_open = signed_in_client("wall")
    moment[0] = CLOCK + dt.timedelta(hours=hours - 1)
    assert left_open.get("/queue/rows", follow_redirects=False).status_code == 200
    moment[0] = CLOCK + dt.timedelta(hours=hours, minutes=1)
    assert left_open.get("/queue/rows", follow_redirects=False).status_code == 303

    in_use = signed_in_client("busy")
    moment[0] = CLOCK + dt.timedelta(hours=hours - 1)
    assert in_use.get("/queue", follow_redirects=False).status_code == 200  # a person opened the page
    moment[0] = CLOCK + dt.timedelta(hours=hours, minutes=1)
    assert in_use.get("/queue/rows", follow_redirects=False).status_code == 200
