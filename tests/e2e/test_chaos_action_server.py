"""Chaos: the action server dies (SIGKILL, as a crash or the out-of-memory killer would), then a patient reports a
red flag. Every other part is real: Rasa (with the trained model), the gateway with its notifier, the database,
the Bot API stand-in.

Two cases, because Rasa does not fail the same way in both:
* ongoing conversation (the patient wrote before the kill): action_triage fails and Rasa answers HTTP 200 with no
  message at all;
* fresh conversation (the red flag is the first message of a session): action_session_start fails too and Rasa
  answers with its fallback utterance ("Sorry, I didn't quite follow…"), and no triage was recorded.
The gateway must treat both as a failure: its safety net triages the text, answers the patient (advice + call the
clinic) and escalates through the outbox, so exactly one alert reaches the practitioner's chat.

Bounds (stated, asserted): the patient's answer within ANSWER_BOUND_S of their message, the alert within
ALERT_BOUND_S of it, and no second alert in the QUIET_S that follow.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest
from sqlalchemy import select

from bot.settings import Settings
from bot.store import db, repository
from bot.store.models import AlertDelivery, Escalation, SymptomReport
from bot.store.uow import UnitOfWork
from bot.telegram import texts
from devtools.telegram_standin import BotApiStandIn
from tests.e2e.test_telegram_full_loop import TOKEN, registered, start_gateway, stop_gateway  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.rasa]

PATIENT_CHAT = 4343
RED_FLAG = "green pus is coming out of two of the needle holes"
ANSWER_BOUND_S = 20.0
ALERT_BOUND_S = 25.0
QUIET_S = 6.0  # three notifier polls: a second alert would show up in this time


def _on_record(database_url: str, chat_id: int):
    factory = db.make_session_factory(database_url)
    try:
        with UnitOfWork(factory) as uow:
            patient = repository.patient_for_chat(uow, chat_id)
            reports = (
                uow.session.execute(select(SymptomReport).where(SymptomReport.patient_id == patient.id)).scalars().all()
            )
            escalations = (
                uow.session.execute(
                    select(Escalation)
                    .join(SymptomReport, SymptomReport.id == Escalation.report_id)
                    .where(SymptomReport.patient_id == patient.id)
                )
                .scalars()
                .all()
            )
            alerts = (
                uow.session.execute(
                    select(AlertDelivery).where(
                        AlertDelivery.escalation_id.in_([e.id for e in escalations]),
                        AlertDelivery.recipient.like("practitioner:%"),
                    )
                )
                .scalars()
                .all()
            )
            return ([(r.source, r.level) for r in reports], len(escalations), [(a.kind, a.status) for a in alerts])
    finally:
        factory.kw["bind"].dispose()


@pytest.mark.parametrize("conversation", ["ongoing", "fresh"])
async def test_action_server_killed_a_red_flag_is_answered_and_alerted_once(
    servers,
    registered,  # noqa: F811
    conversation,
):
    code, doctor_chat = registered
    chat = PATIENT_CHAT if conversation == "ongoing" else PATIENT_CHAT + 1
    settings = Settings.from_env(env={"CLINIC_PHONE": "+44 20 7946 0000", "EMERGENCY_NUMBER": "999"})
    try:
        async with BotApiStandIn(token=TOKEN) as tg:
            tg.open_chat(chat, "Ann")
            tg.open_chat(doctor_chat, "Lee")
            app = await start_gateway(servers, tg)
            try:
                tg.inject_start(chat, code)
                await tg.wait_for_sent(lambda c: "linked" in c.text, method="sendMessage", chat_id=chat, timeout=20)
                if conversation == "ongoing":
                    mark = tg.mark()
                    tg.inject_text(chat, "hello")
                    await tg.wait_for_sent(method="sendMessage", chat_id=chat, since=mark, timeout=60)
                    await asyncio.sleep(1.5)  # every part of Rasa's answer delivered

                actions = servers.processes["actions"]
                os.killpg(actions.pid, signal.SIGKILL)
                actions.process.wait(timeout=10)

                mark = tg.mark()
                sent = time.perf_counter()
                tg.inject_text(chat, RED_FLAG)
                told = await tg.wait_for_sent(
                    lambda c: c.text == texts.rasa_down(settings),
                    method="sendMessage",
                    chat_id=chat,
                    since=mark,
                    timeout=ANSWER_BOUND_S + 10,
                )
                alert = await tg.wait_for_sent(
                    method="sendMessage", chat_id=doctor_chat, since=mark, timeout=ALERT_BOUND_S + 10
                )
                await asyncio.sleep(QUIET_S)
                answers = [c for c in tg.sent("sendMessage", chat_id=chat) if c.ok and c.at >= sent]
                first_s, answer_s, alert_s = answers[0].at - sent, told.at - sent, alert.at - sent
                to_patient = [c.text for c in answers]
                alerts = [c for c in tg.sent("sendMessage", chat_id=doctor_chat) if c.ok and c.at >= sent]
                reports, escalations, rows = _on_record(servers.database_url, chat)
                print(
                    f"\n{conversation} conversation, action server SIGKILLed: first reply after {first_s:.2f}s, "
                    f"'call the clinic' (last of {len(answers)} replies) after {answer_s:.2f}s, alert after "
                    f"{alert_s:.2f}s; {len(alerts)} alert(s) in the practitioner's chat in the {QUIET_S:.0f}s "
                    f"after; reports {reports}; {escalations} escalation(s); outbox rows {rows}"
                )
            finally:
                await stop_gateway(app)
    finally:
        servers.start_actions()

    assert answer_s <= ANSWER_BOUND_S and alert_s <= ALERT_BOUND_S, (answer_s, alert_s)
    assert len(alerts) == 1, [c.text for c in alerts]
    assert "Ann Example" in alert.text and "URGENT" in alert.text.upper()
    assert any("practitioner" in text.lower() for text in to_patient[:-1]), to_patient  # the urgent advice
    assert to_patient[-1] == told.text and "+44 20 7946 0000" in told.text  # then: call the clinic
    assert reports == [("safety_net", "urgent")] and escalations == 1 and rows == [("initial", "sent")]
