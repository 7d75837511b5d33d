"""Rasa answers, but says nothing: the gateway's safety net must still answer, record and alert, exactly once.

The real gateway (bot.bootstrap.gateway.gateway_deps: the SQLite store, the spaCy pipeline and the triage core
in-process, the notifier) against the Bot API stand-in, with a fake Rasa REST channel:

* HTTP 200 with an empty list (what Rasa answers when the action server is dead);
* HTTP 200 with an empty list after "Rasa's action" recorded the report (it crashed after its commit);
* a timeout, with the action's record landing just after the gateway gave up (Rasa had already started it);
* a timeout and nothing recorded at all;
* an answer (Rasa's fallback utterance) to a red flag that Rasa's triage never recorded.

In every case: the patient gets the advice and the call-the-clinic line, and exactly one escalation, one outbox
row and one Telegram message reach the practitioner.
"""

from __future__ import annotations

import asyncio
import datetime as dt
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
from bot.store.models import AlertDelivery, Escalation, SymptomReport
from bot.store.uow import UnitOfWork
from bot.telegram import texts
from bot.telegram.app import build_application, start_background, stop_background
from bot.usecases import enrolment
from bot.usecases.triage import ClinicService
from devtools.telegram_standin import BotApiStandIn

PATIENT_CHAT = 5101
DOCTOR_CHAT = 5201
RED_FLAG = "green pus is coming out of two of the needle holes"
# The gateway's Rasa timeout in these tests, and how long its safety net then waits for Rasa's own record.
TIMEOUT = 1.0
SETTLE = 2.0
# No second alert may follow the first within this long (the notifier polls every 2 s, and is nudged at once).
QUIET = 4.0


@pytest.fixture
def clinic(tmp_path) -> Dict:
    """A migrated SQLite clinic: Dr Lee (treating, chat DOCTOR_CHAT) and Ann, treated 30 h ago, linked."""
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    db.upgrade(url)
    factory = db.make_session_factory(url)
    now = dt.datetime.now(dt.timezone.utc)
    uow = UnitOfWork(factory)
    doctor = enrolment.add_practitioner(uow, "Dr Lee", role="treating", chat_id=DOCTOR_CHAT, actor="test")
    new = enrolment.add_patient_with_treatment(
        uow, "Ann Example", now - dt.timedelta(hours=30), "face", "microneedling", doctor.id, now=now
    )
    enrolment.redeem_link_code(uow, new.link_code, PATIENT_CHAT, now=now)
    patient_id = new.patient.id
    yield {"url": url, "factory": factory, "patient_id": patient_id}
    factory.kw["bind"].dispose()


@pytest.fixture
async def gateway(tg: BotApiStandIn, rasa: FakeRasa, clinic: Dict) -> AsyncIterator[Dict]:
    tg.open_chat(PATIENT_CHAT, "Ann")
    tg.open_chat(DOCTOR_CHAT, "Lee")
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
    settings = replace(settings, rasa_timeout_seconds=TIMEOUT)
    service = clinic_service(settings)
    deps = gateway_deps(settings, service)
    deps.fallback.settle_seconds = SETTLE
    app = build_application(settings, deps)
    await start_polling(app)
    start_background(app)  # the notifier, as post_init starts it under run_polling
    try:
        yield {"app": app, "service": service, "settings": settings}
    finally:
        await stop_background(app)
        await stop(app)


def record_as_rasas_action(service: ClinicService, body: Dict) -> None:
    """What action_triage does when it has a final report: assess with the NLU's entities, record as "rasa"."""
    text = body["message"]
    outcome = service.assess(
        body["sender"], text, analyze_text(text, service.settings.spacy_model_path), intent_confidence=0.95
    )
    service.record(outcome, source="rasa")


def counts(factory) -> Dict[str, object]:
    with UnitOfWork(factory) as uow:
        session = uow.session
        return {
            "reports": [(r.source, r.level) for r in session.execute(select(SymptomReport)).scalars()],
            "escalations": session.execute(select(func.count()).select_from(Escalation)).scalar_one(),
            "alert rows": session.execute(select(func.count()).select_from(AlertDelivery)).scalar_one(),
        }


async def send_red_flag_and_check(tg: BotApiStandIn, settings: Settings, clinic: Dict) -> Dict[str, object]:
    """Send the red flag; the patient's advice and call-the-clinic line, then exactly one alert."""
    mark = tg.mark()
    tg.inject_text(PATIENT_CHAT, RED_FLAG)
    told = await tg.wait_for_sent(
        lambda c: c.text == texts.rasa_down(settings),
        method="sendMessage",
        chat_id=PATIENT_CHAT,
        since=mark,
        timeout=30,
    )
    alert = await tg.wait_for_sent(method="sendMessage", chat_id=DOCTOR_CHAT, since=mark, timeout=15)
    await asyncio.sleep(QUIET)
    to_patient = [c.text for c in tg.sent("sendMessage", chat_id=PATIENT_CHAT)[-2:]]
    alerts = [c for c in tg.sent("sendMessage", chat_id=DOCTOR_CHAT) if c.ok]
    assert "practitioner" in to_patient[0].lower() and to_patient[1] == told.text  # advice, then call the clinic
    assert CLINIC_PHONE in told.text and EMERGENCY in told.text
    assert len(alerts) == 1, [c.text for c in alerts]
    assert "Ann Example" in alert.text and "URGENT" in alert.text.upper()
    found = counts(clinic["factory"])
    assert found["escalations"] == 1 and found["alert rows"] == 1, found
    return found


async def test_an_empty_answer_from_rasa_is_a_failure_the_safety_net_answers_and_alerts_once(
    tg: BotApiStandIn, rasa: FakeRasa, clinic: Dict, gateway: Dict
) -> None:
    rasa.replies = lambda body: []  # HTTP 200, no message: what Rasa answers when the action server is dead
    found = await send_red_flag_and_check(tg, gateway["settings"], clinic)
    assert [r["message"] for r in rasa.requests] == [RED_FLAG]
    assert found["reports"] == [("safety_net", "urgent")]


async def test_a_report_rasas_action_recorded_before_failing_is_not_escalated_twice(
    tg: BotApiStandIn, rasa: FakeRasa, clinic: Dict, gateway: Dict
) -> None:
    service = gateway["service"]

    def recorded_then_failed(body: Dict) -> List[Dict]:
        record_as_rasas_action(service, body)  # the action committed the report and its alert, then died
        return []

    rasa.replies = recorded_then_failed
    found = await send_red_flag_and_check(tg, gateway["settings"], clinic)
    assert found["reports"] == [("rasa", "urgent")]  # the safety net answered but did not record it again


async def test_after_a_timeout_a_report_rasa_commits_late_is_not_escalated_twice(
    tg: BotApiStandIn, rasa: FakeRasa, clinic: Dict, gateway: Dict
) -> None:
    """Rasa was slow: the gateway gives up after TIMEOUT, but the action already running commits 0.5 s later.
    The safety net waits (up to SETTLE) for that record before recording its own."""
    service = gateway["service"]
    late: List[asyncio.Task] = []

    async def action_still_running(body: Dict) -> None:
        await asyncio.sleep(TIMEOUT + 0.5)
        await asyncio.to_thread(record_as_rasas_action, service, body)

    def arrives(body: Dict) -> float:
        late.append(asyncio.get_running_loop().create_task(action_still_running(body)))  # not cancelled with Rasa
        return 30.0  # Rasa's own answer would come much later than the gateway waits

    rasa.delay_for = arrives
    rasa.replies = lambda body: [{"text": "too late"}]
    found = await send_red_flag_and_check(tg, gateway["settings"], clinic)
    assert found["reports"] == [("rasa", "urgent")]
    assert late and late[0].done()
    assert "too late" not in [c.text for c in tg.sent("sendMessage", chat_id=PATIENT_CHAT)]


async def test_after_a_timeout_with_nothing_recorded_the_safety_net_records_and_alerts(
    tg: BotApiStandIn, rasa: FakeRasa, clinic: Dict, gateway: Dict
) -> None:
    rasa.delay = 30.0  # Rasa never answers (and, cancelled when the gateway hangs up, never records)
    found = await send_red_flag_and_check(tg, gateway["settings"], clinic)
    assert found["reports"] == [("safety_net", "urgent")]


async def test_a_fallback_utterance_without_a_triage_record_is_a_failure_too(
    tg: BotApiStandIn, rasa: FakeRasa, clinic: Dict, gateway: Dict
) -> None:
    """With the action server dead, the first message of a session gets Rasa's utter_default (action_session_start
    failed too), not an empty list. A red flag that Rasa answered without recording any triage was not triaged."""
    rasa.replies = lambda body: [{"text": "Sorry, I didn't quite follow. Could you describe what you notice?"}]
    found = await send_red_flag_and_check(tg, gateway["settings"], clinic)
    assert found["reports"] == [("safety_net", "urgent")]
    assert not [c for c in tg.sent("sendMessage", chat_id=PATIENT_CHAT) if "didn't quite follow" in c.text]


async def test_rasas_answer_stands_when_its_action_recorded_the_red_flag(
    tg: BotApiStandIn, rasa: FakeRasa, clinic: Dict, gateway: Dict
) -> None:
    service = gateway["service"]

    def triaged(body: Dict) -> List[Dict]:
        record_as_rasas_action(service, body)
        return [{"text": "This needs to be seen today: I've alerted your practitioner."}]

    rasa.replies = triaged
    mark = tg.mark()
    tg.inject_text(PATIENT_CHAT, RED_FLAG)
    await tg.wait_for_sent(lambda c: "alerted your practitioner" in c.text, chat_id=PATIENT_CHAT, since=mark)
    await tg.wait_for_sent(method="sendMessage", chat_id=DOCTOR_CHAT, since=mark, timeout=15)
    await asyncio.sleep(QUIET)
    assert len([c for c in tg.sent("sendMessage", chat_id=DOCTOR_CHAT) if c.ok]) == 1
    assert [c.text for c in tg.sent("sendMessage", chat_id=PATIENT_CHAT)] == [
        "This needs to be seen today: I've alerted your practitioner."
    ]  # no "call the clinic, I'm degraded"
    found = counts(clinic["factory"])
    assert found == {"reports": [("rasa", "urgent")], "escalations": 1, "alert rows": 1}


async def test_an_answer_to_words_that_do_not_escalate_needs_no_record(
    tg: BotApiStandIn, rasa: FakeRasa, clinic: Dict, gateway: Dict
) -> None:
    rasa.replies = lambda body: [{"text": "Hello! How is your skin today?"}]
    mark = tg.mark()
    tg.inject_text(PATIENT_CHAT, "hello there")
    await tg.wait_for_sent(lambda c: "How is your skin" in c.text, chat_id=PATIENT_CHAT, since=mark)
    await asyncio.sleep(0.5)
    assert [c.text for c in tg.sent("sendMessage", chat_id=PATIENT_CHAT)] == ["Hello! How is your skin today?"]
    assert counts(clinic["factory"]) == {"reports": [], "escalations": 0, "alert rows": 0}
