"""Fair under floods (issue 12, part 4), with the real gateway: the SQLite store, the spaCy pipeline and the triage
core in-process, the notifier, PTB polling the Bot API stand-in, and a fake Rasa whose "action" records the red
flag as Rasa's triage action would.

* While one linked patient sends 200 messages as fast as they can, another patient's red flag is answered and
  alerted within 2x the time measured on a quiet system plus 1 s, and a practitioner's Acknowledge press is
  answered within the same kind of bound.
* A 5,000-character message with "pus" near its end escalates (the red-flag word is past Rasa's 1,000-character
  cut: the whole text is screened and triaged).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from dataclasses import replace
from typing import AsyncIterator, Dict, List

import pytest
from sqlalchemy import func, select
from telegram_helpers import CLINIC_PHONE, EMERGENCY, TOKEN, FakeRasa, start_polling, stop

from bot.bootstrap import clinic_service
from bot.bootstrap.gateway import gateway_deps
from bot.nlp.analyze import analyze_text
from bot.settings import Settings
from bot.store import db
from bot.store.models import Escalation
from bot.store.uow import UnitOfWork
from bot.telegram import texts
from bot.telegram.app import build_application, start_background, stop_background
from bot.usecases import enrolment
from devtools.telegram_standin import ApiCall, BotApiStandIn

DOCTOR_CHAT = 6201
QUIET_CHAT, FLOODED_CHAT, FLOODER_CHAT = 6101, 6102, 6103  # Ann (quiet run), Cleo (during the flood), Bob floods
RED_FLAG = "green pus is coming out of two of the needle holes"
FLOOD = 200
FLOOD_RASA_DELAY = 0.3  # Rasa takes this long on each of the flooder's messages
ALERTED = "This needs to be seen today: I've alerted your practitioner."


@pytest.fixture
def clinic(tmp_path) -> Dict:
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    db.upgrade(url)
    factory = db.make_session_factory(url)
    now = dt.datetime.now(dt.timezone.utc)
    ids = {}
    uow = UnitOfWork(factory)
    doctor = enrolment.add_practitioner(uow, "Dr Lee", role="treating", chat_id=DOCTOR_CHAT, actor="test")
    for chat, name in [(QUIET_CHAT, "Ann Quiet"), (FLOODED_CHAT, "Cleo Flooded"), (FLOODER_CHAT, "Bob Flood")]:
        new = enrolment.add_patient_with_treatment(
            uow, name, now - dt.timedelta(hours=30), "face", "microneedling", doctor.id, now=now
        )
        enrolment.redeem_link_code(uow, new.link_code, chat, now=now)
        ids[chat] = new.patient.id
    yield {"url": url, "factory": factory, "ids": ids}
    factory.kw["bind"].dispose()


@pytest.fixture
async def gateway(tg: BotApiStandIn, rasa: FakeRasa, clinic: Dict) -> AsyncIterator[Dict]:
    for chat in (QUIET_CHAT, FLOODED_CHAT, FLOODER_CHAT, DOCTOR_CHAT):
        tg.open_chat(chat, f"user{chat}")
    settings = Settings.from_env(
        env={
            "DATABASE_URL": clinic["url"],
            "RASA_URL": rasa.url,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": tg.base_url,
            "CLINIC_PHONE": CLINIC_PHONE,
            "EMERGENCY_NUMBER": EMERGENCY,
        }
    )
    settings = replace(settings, rasa_timeout_seconds=10.0)
    service = clinic_service(settings)
    deps = gateway_deps(settings, service)
    await asyncio.to_thread(analyze_text, "warm up", settings.spacy_model_path)  # load spaCy before measuring
    app = build_application(settings, deps)
    await start_polling(app)
    start_background(app)
    flooder = f"patient-{clinic['ids'][FLOODER_CHAT]}"

    def replies(body: Dict) -> List[Dict]:
        if body["sender"] == flooder:
            return [{"text": "Thanks for telling me."}]
        text = body["message"]  # Rasa's triage action: records the report and queues the alert
        outcome = service.assess(
            body["sender"], text, analyze_text(text, settings.spacy_model_path), intent_confidence=0.95
        )
        service.record(outcome, source="rasa")
        return [{"text": ALERTED}]

    rasa.replies = replies
    rasa.delay_for = lambda body: FLOOD_RASA_DELAY if body["sender"] == flooder else 0.0
    try:
        yield {"app": app, "service": service, "settings": settings}
    finally:
        await stop_background(app)
        await stop(app)


async def red_flag_timings(tg: BotApiStandIn, chat: int, name: str) -> Dict[str, object]:
    """Send the red flag from `chat`: seconds until the patient's answer and the practitioner's alert, then press
    Acknowledge under the alert: seconds until the press is answered."""
    mark = tg.mark()
    start = time.perf_counter()
    tg.inject_text(chat, RED_FLAG)
    answer = await tg.wait_for_sent(
        lambda c: c.text == ALERTED, method="sendMessage", chat_id=chat, since=mark, timeout=60
    )
    alert = await tg.wait_for_sent(
        lambda c: name in c.text, method="sendMessage", chat_id=DOCTOR_CHAT, since=mark, timeout=60
    )
    ack = next(data for _, data in alert.buttons if data.startswith("ack:"))
    mark = tg.mark()
    pressed = time.perf_counter()
    tg.press_button(DOCTOR_CHAT, alert.result["message_id"], ack)
    answered: ApiCall = await tg.wait_for_sent(method="answerCallbackQuery", since=mark, timeout=60)
    return {
        "answer": answer.at - start,
        "alert": alert.at - start,
        "staff button": answered.at - pressed,
        "ack text": answered.params.get("text", ""),
    }


async def test_a_flooding_chat_does_not_delay_another_patients_red_flag_or_a_staff_button(
    tg: BotApiStandIn, rasa: FakeRasa, clinic: Dict, gateway: Dict
) -> None:
    quiet = await red_flag_timings(tg, QUIET_CHAT, "Ann Quiet")

    flood_mark = tg.mark()
    for index in range(FLOOD):  # as fast as the chat can: all 200 are waiting before the gateway sees any
        tg.inject_text(FLOODER_CHAT, f"hello again, message {index}, my skin is a bit dry")
    await asyncio.sleep(0.3)  # the gateway has fetched the flood and is busy with it
    flooded = await red_flag_timings(tg, FLOODED_CHAT, "Cleo Flooded")
    flooder_requests_meanwhile = sum(1 for r in rasa.requests if r["sender"].endswith(str(clinic["ids"][FLOODER_CHAT])))

    print(
        f"\nquiet:   answer {quiet['answer']:.3f}s  alert {quiet['alert']:.3f}s  staff button "
        f"{quiet['staff button']:.3f}s"
    )
    print(
        f"flooded: answer {flooded['answer']:.3f}s  alert {flooded['alert']:.3f}s  staff button "
        f"{flooded['staff button']:.3f}s  ({FLOOD} messages from one chat; {flooder_requests_meanwhile} of them "
        f"reached Rasa by then)"
    )
    for key in ("answer", "alert", "staff button"):
        assert flooded[key] <= 2 * quiet[key] + 1.0, (key, quiet, flooded)
    assert flooded["staff button"] < 2.0
    assert "acknowledged" in str(flooded["ack text"]).lower()

    # The flooder was told once to slow down; what was dropped never reached Rasa.
    slow = [c for c in tg.sent("sendMessage", chat_id=FLOODER_CHAT)[0:] if c.text == texts.slow_down()]
    assert len(slow) == 1
    assert flooder_requests_meanwhile < 20
    with UnitOfWork(clinic["factory"]) as uow:
        assert uow.session.execute(select(func.count()).select_from(Escalation)).scalar_one() == 2
    del flood_mark


async def test_a_red_flag_inside_a_flood_is_kept(
    tg: BotApiStandIn, rasa: FakeRasa, clinic: Dict, gateway: Dict
) -> None:
    """Over its limits, a chat's messages are dropped, but not one that mentions a red-flag word."""
    for index in range(40):
        tg.inject_text(FLOODER_CHAT, f"hello again, message {index}")
    tg.inject_text(FLOODER_CHAT, "also there is pus now")
    flooder = f"patient-{clinic['ids'][FLOODER_CHAT]}"

    async def relayed() -> None:
        while not any(r["sender"] == flooder and "pus" in r["message"] for r in rasa.requests):
            await asyncio.sleep(0.05)

    await asyncio.wait_for(relayed(), 30)
    assert len([r for r in rasa.requests if r["sender"] == flooder]) < 20  # the rest were dropped


async def test_a_red_flag_past_the_cut_of_a_long_message_escalates(
    tg: BotApiStandIn, rasa: FakeRasa, clinic: Dict, gateway: Dict
) -> None:
    filler = "The redness on my cheeks is a little better today and the skin feels dry. "
    text = (filler * 70)[:4950] + " Now there is pus."
    assert len(text) >= 4960 and text.index("pus") > 4900
    mark = tg.mark()
    tg.inject_text(QUIET_CHAT, text)
    alert = await tg.wait_for_sent(
        lambda c: "Ann Quiet" in c.text, method="sendMessage", chat_id=DOCTOR_CHAT, since=mark, timeout=60
    )
    assert "URGENT" in alert.text.upper()
    to_patient = [c.text for c in tg.sent("sendMessage", chat_id=QUIET_CHAT)]
    assert to_patient[0] == texts.truncated(1000)
    assert any("practitioner" in t.lower() for t in to_patient[1:])
    # Rasa never saw the message (it would have read only the first 1,000 characters): the safety net read it whole.
    assert not [r for r in rasa.requests if r["sender"] == f"patient-{clinic['ids'][QUIET_CHAT]}"]
    with UnitOfWork(clinic["factory"]) as uow:
        assert uow.session.execute(select(func.count()).select_from(Escalation)).scalar_one() == 1


async def test_a_long_message_without_red_flags_past_the_cut_goes_to_rasa_cut(
    tg: BotApiStandIn, rasa: FakeRasa, clinic: Dict, gateway: Dict
) -> None:
    text = "my skin feels a bit tight and dry today " * 120
    mark = tg.mark()
    tg.inject_text(QUIET_CHAT, text)
    await tg.wait_for_sent(
        lambda c: c.text == ALERTED, method="sendMessage", chat_id=QUIET_CHAT, since=mark, timeout=30
    )
    relayed = [r["message"] for r in rasa.requests]
    assert len(relayed) == 1 and len(relayed[0]) <= 1000 and relayed[0].endswith("…")
