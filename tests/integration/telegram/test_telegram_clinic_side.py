"""The clinic side in Telegram over the real store (issue 15): the production gateway
(bot.bootstrap.gateway.gateway_deps on SQLite, the notifier running) against the Bot API stand-in, with a fake
Rasa REST channel.

* /newpatient writes the patient, treatment, check-ins and link code through the use cases, and the link it
  hands over links the patient's chat;
* the photo a patient sends with a red-flag caption follows the practitioner's alert;
* a photo sent while the escalation is open reaches the practitioner who was alerted, once;
* /patient re-sends the photos by file id, and the read is audited.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from typing import AsyncIterator, Dict, List

import PIL.Image
import pytest
import zxingcpp
from sqlalchemy import func, select
from telegram_helpers import CLINIC_PHONE, EMERGENCY, TOKEN, FakeRasa, start_polling, stop

from bot.bootstrap import clinic_service
from bot.bootstrap.gateway import gateway_deps
from bot.nlp.analyze import analyze_text
from bot.settings import Settings
from bot.store import db
from bot.store.models import AlertDelivery, AuditEvent, ChatLink, Patient, ScheduledCheckin, Treatment
from bot.store.uow import UnitOfWork
from bot.telegram.app import build_application, start_background, stop_background
from bot.usecases import enrolment
from devtools.telegram_standin import BotApiStandIn

PATIENT_CHAT = 6101
DOCTOR_CHAT = 6201
ON_CALL_CHAT = 6202
NEW_PATIENT_CHAT = 6102
RED_FLAG = "green pus is coming out of two of the needle holes"
QUIET = 4.0  # the notifier polls every 2 s: nothing more may arrive within this long


@pytest.fixture
def clinic(tmp_path) -> Dict:
    """Dr Lee (treating) and Dr Shah (on call), and Ann, treated 30 h ago, her chat linked."""
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    db.upgrade(url)
    factory = db.make_session_factory(url)
    now = dt.datetime.now(dt.timezone.utc)
    uow = UnitOfWork(factory)
    doctor = enrolment.add_practitioner(uow, "Dr Lee", role="treating", chat_id=DOCTOR_CHAT, actor="test")
    enrolment.add_practitioner(uow, "Dr Shah", role="on_call", chat_id=ON_CALL_CHAT, actor="test")
    new = enrolment.add_patient_with_treatment(
        uow, "Ann Example", now - dt.timedelta(hours=30), "face", "microneedling", doctor.id, now=now
    )
    enrolment.redeem_link_code(uow, new.link_code, PATIENT_CHAT, now=now)
    yield {"url": url, "factory": factory, "patient_id": new.patient.id, "doctor_id": doctor.id}
    factory.kw["bind"].dispose()


@pytest.fixture
async def gateway(tg: BotApiStandIn, rasa: FakeRasa, clinic: Dict) -> AsyncIterator[Dict]:
    for chat, name in [(PATIENT_CHAT, "Ann"), (DOCTOR_CHAT, "Lee"), (ON_CALL_CHAT, "Shah"), (NEW_PATIENT_CHAT, "Cy")]:
        tg.open_chat(chat, name)
    settings = Settings.from_env(
        env={
            "DATABASE_URL": clinic["url"],
            "RASA_URL": rasa.url,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": tg.base_url,
            "TELEGRAM_BOT_USERNAME": "GlowAftercareBot",
            "CLINIC_PHONE": CLINIC_PHONE,
            "EMERGENCY_NUMBER": EMERGENCY,
        }
    )
    service = clinic_service(settings)

    def triaged(body: Dict) -> List[Dict]:
        """What action_triage does: assess with the NLU's entities, record as "rasa" (with the alert), answer."""
        text = body["message"]
        outcome = service.assess(
            body["sender"], text, analyze_text(text, settings.spacy_model_path), intent_confidence=0.95
        )
        service.record(outcome, source="rasa")
        return [{"text": "Thank you, I have told your practitioner."}]

    rasa.replies = triaged
    app = build_application(settings, gateway_deps(settings, service))
    await start_polling(app)
    start_background(app)  # the notifier, as post_init starts it under run_polling
    try:
        yield {"app": app, "settings": settings}
    finally:
        await stop_background(app)
        await stop(app)


def _photos_to(tg: BotApiStandIn, chat_id: int):
    return tg.sent("sendPhoto", chat_id=chat_id)


async def test_newpatient_writes_the_records_and_its_link_links_the_patients_chat(
    tg: BotApiStandIn, clinic: Dict, gateway: Dict
) -> None:
    async def answer(text: str, expect: str) -> None:
        mark = tg.mark()
        tg.inject_text(DOCTOR_CHAT, text)
        await tg.wait_for_sent(lambda c: expect in c.text, method="sendMessage", chat_id=DOCTOR_CHAT, since=mark)

    await answer("/newpatient", "What is the patient's name?")
    await answer("Cy Newcomer", "When was the treatment?")
    await answer("today 00:00", "Which area?")
    await answer("scalp", "Which method?")
    await answer("microinjection", "treating practitioner")
    await answer("Dr Shah", "Please check the new patient")
    mark = tg.mark()
    await answer("confirm", "Their link")
    photo = await tg.wait_for_sent(method="sendPhoto", chat_id=DOCTOR_CHAT, since=mark)
    link = zxingcpp.read_barcodes(PIL.Image.open(io.BytesIO(photo.params["photo"]["bytes"])))[0].text
    assert link.startswith("https://t.me/GlowAftercareBot?start=")

    with UnitOfWork(clinic["factory"]) as uow:
        patient = uow.session.execute(select(Patient).where(Patient.display_name == "Cy Newcomer")).scalar_one()
        treatment = uow.session.execute(select(Treatment).where(Treatment.patient_id == patient.id)).scalar_one()
        checkins = uow.session.execute(
            select(func.count()).select_from(ScheduledCheckin).where(ScheduledCheckin.patient_id == patient.id)
        ).scalar_one()
        actors = set(uow.session.execute(select(AuditEvent.actor).where(AuditEvent.action == "created")).scalars())
    assert (treatment.area, treatment.method) == ("scalp", "microinjection")
    assert checkins >= 1  # the clinic's check-in schedule
    assert "telegram:practitioner:1" in actors  # Dr Lee registered it (Dr Shah treated)

    mark = tg.mark()
    tg.inject_start(NEW_PATIENT_CHAT, link.split("?start=")[1])  # the patient scanned the code and pressed Start
    await tg.wait_for_sent(lambda c: "now linked" in c.text, method="sendMessage", chat_id=NEW_PATIENT_CHAT, since=mark)
    with UnitOfWork(clinic["factory"]) as uow:
        linked = uow.session.execute(select(ChatLink).where(ChatLink.telegram_chat_id == NEW_PATIENT_CHAT)).scalar_one()
    assert linked.patient_id == patient.id


async def test_the_photo_sent_with_a_red_flag_caption_follows_the_alert(tg: BotApiStandIn, gateway: Dict) -> None:
    mark = tg.mark()
    tg.inject_photo(PATIENT_CHAT, file_id="AgACAgHoles", caption=RED_FLAG)

    alert = await tg.wait_for_sent(method="sendMessage", chat_id=DOCTOR_CHAT, since=mark, timeout=15)
    photo = await tg.wait_for_sent(method="sendPhoto", chat_id=DOCTOR_CHAT, since=mark, timeout=10)

    assert "Photos: 1" in alert.text
    assert photo.params["photo"] == "AgACAgHoles"  # the largest size's file id, as the patient sent it
    assert photo.text.endswith("photo 1 of 1 from the patient")
    await asyncio.sleep(QUIET)
    assert len(_photos_to(tg, DOCTOR_CHAT)) == 1 and not _photos_to(tg, ON_CALL_CHAT)


async def test_a_photo_sent_while_the_escalation_is_open_reaches_the_alerted_practitioner_once(
    tg: BotApiStandIn, clinic: Dict, gateway: Dict
) -> None:
    mark = tg.mark()
    tg.inject_text(PATIENT_CHAT, RED_FLAG)
    alert = await tg.wait_for_sent(method="sendMessage", chat_id=DOCTOR_CHAT, since=mark, timeout=15)
    assert "Photos" not in alert.text

    mark = tg.mark()
    tg.inject_photo(PATIENT_CHAT, file_id="AgACAgLater")
    photo = await tg.wait_for_sent(method="sendPhoto", chat_id=DOCTOR_CHAT, since=mark, timeout=10)
    await asyncio.sleep(QUIET)

    assert photo.params["photo"] == "AgACAgLater"
    assert photo.text.startswith("Photo from the patient of escalation E1 (ref E1/photo/")
    assert len(_photos_to(tg, DOCTOR_CHAT)) == 1 and not _photos_to(tg, ON_CALL_CHAT)
    with UnitOfWork(clinic["factory"]) as uow:
        kinds = list(uow.session.execute(select(AlertDelivery.kind).order_by(AlertDelivery.id)).scalars())
    assert kinds == ["initial", "photo"]


async def test_patient_command_resends_the_photos_and_the_read_is_audited(
    tg: BotApiStandIn, clinic: Dict, gateway: Dict
) -> None:
    mark = tg.mark()
    tg.inject_photo(PATIENT_CHAT, file_id="AgACAgCheek")
    await tg.wait_for_sent(method="sendMessage", chat_id=PATIENT_CHAT, since=mark)

    mark = tg.mark()
    tg.inject_text(DOCTOR_CHAT, f"/patient {clinic['patient_id']}")
    photo = await tg.wait_for_sent(method="sendPhoto", chat_id=DOCTOR_CHAT, since=mark)

    assert photo.params["photo"] == "AgACAgCheek"
    assert photo.text.startswith(f"Patient #{clinic['patient_id']} · photo 1 of 1 · ")
    with UnitOfWork(clinic["factory"]) as uow:
        event = uow.session.execute(select(AuditEvent).where(AuditEvent.action == "photos_viewed")).scalar_one()
    assert (event.entity_id, event.actor) == (clinic["patient_id"], f"practitioner:{clinic['doctor_id']}")
