"""The whole loop with every real part running: the admin CLI registers a practitioner and a patient, the
patient links with /start CODE on (our local stand-in of) Telegram, talks to the real Rasa server and action
server through the gateway, a red flag reaches the practitioner's chat, Acknowledge reaches the patient.
Then Rasa is stopped and the gateway's safety net must still alert."""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest

from bot.bootstrap.gateway import gateway_deps
from bot.cli import main as aftercare
from bot.responses import clinic_slots, render
from bot.settings import Settings
from bot.telegram.app import ALLOWED_UPDATES, build_application, start_background, stop_background
from bot.triage.advice import response_name
from devtools.telegram_standin import BotApiStandIn

pytestmark = [pytest.mark.e2e, pytest.mark.rasa]

TOKEN = "123456:E2E-token"
PATIENT_CHAT = 4242
_doctor_chats = itertools.count(777)


def cli(capsys, *args) -> str:
    assert aftercare(list(args)) == 0, capsys.readouterr().err
    return capsys.readouterr().out


@pytest.fixture
def registered(servers, capsys, monkeypatch):
    """(link code, the treating practitioner's chat id) of a new patient, registered with the admin CLI."""
    monkeypatch.setenv("DATABASE_URL", servers.database_url)
    doctor_chat = next(_doctor_chats)
    out = cli(capsys, "practitioner", "add", "--name", "Dr Lee", "--chat-id", str(doctor_chat), "--role", "treating")
    practitioner_id = re.search(r"practitioner (\d+) added", out).group(1)
    treated = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=30)).isoformat(timespec="minutes")
    out = cli(
        capsys,
        "patient",
        "add",
        "--name",
        "Ann Example",
        "--treated-at",
        treated,
        "--area",
        "face",
        "--method",
        "microneedling",
        "--practitioner",
        practitioner_id,
    )
    return re.search(r"link code: (\S+)", out).group(1), doctor_chat


async def start_gateway(servers, tg):
    settings = Settings.from_env(
        env={
            "DATABASE_URL": servers.database_url,
            "RASA_URL": servers.rasa_url,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": tg.base_url,
            "CLINIC_PHONE": "+44 20 7946 0000",
            "EMERGENCY_NUMBER": "999",
        }
    )
    app = build_application(settings, gateway_deps(settings))
    await app.initialize()
    await app.start()
    await app.updater.start_polling(poll_interval=0, allowed_updates=ALLOWED_UPDATES)
    start_background(app)  # what post_init does under run_polling: the notifier and check-ins
    return app


async def stop_gateway(app):
    await stop_background(app)
    await app.updater.stop()
    await app.stop()
    await app.shutdown()


def texts(tg, chat_id, since):
    return [c.text for c in tg.calls[since:] if c.method == "sendMessage" and c.chat_id == chat_id and c.ok]


async def test_patient_to_practitioner_and_back(servers, registered):
    code, doctor_chat = registered
    async with BotApiStandIn(token=TOKEN) as tg:
        tg.open_chat(PATIENT_CHAT, "Ann")
        tg.open_chat(doctor_chat, "Lee")
        app = await start_gateway(servers, tg)
        try:
            mark = tg.mark()
            tg.inject_start(PATIENT_CHAT, code)
            welcome = await tg.wait_for_sent(method="sendMessage", chat_id=PATIENT_CHAT, since=mark, timeout=20)
            assert "automated" in welcome.text.lower()

            # A normal reaction: reassurance (after one clarifying question), no alert.
            mark = tg.mark()
            tg.inject_text(PATIENT_CHAT, "a bit red and puffy, no pus")
            await tg.wait_for_sent(method="sendMessage", chat_id=PATIENT_CHAT, since=mark, timeout=60)
            mark = tg.mark()
            tg.inject_text(PATIENT_CHAT, "it's getting better than yesterday")
            await tg.wait_for_sent(
                lambda c: "normal" in c.text.lower(), method="sendMessage", chat_id=PATIENT_CHAT, since=mark, timeout=60
            )

            # A red flag: urgent advice to the patient and an alert to the practitioner at about the same time
            # (the gateway nudges the notifier as soon as Rasa has answered).
            mark = tg.mark()
            tg.inject_text(PATIENT_CHAT, "now there is yellow pus oozing from the needle marks and I feel feverish")
            reply = await tg.wait_for_sent(
                lambda c: "practitioner" in c.text.lower(),
                method="sendMessage",
                chat_id=PATIENT_CHAT,
                since=mark,
                timeout=60,
            )
            alert = await tg.wait_for_sent(method="sendMessage", chat_id=doctor_chat, since=mark, timeout=10)
            print(f"\nalert reached the practitioner {alert.time - reply.time:+.3f}s after the patient's reply")
            assert "Ann Example" in alert.text and "URGENT" in alert.text.upper()
            assert not [t for t in texts(tg, doctor_chat, 0) if t != alert.text], "the normal report alerted"

            # The practitioner acknowledges; the patient is told.
            ack = next(data for _, data in alert.buttons if data.startswith("ack:"))
            mark = tg.mark()
            tg.press_button(doctor_chat, alert.message_id, ack)
            notice = await tg.wait_for_sent(
                lambda call: "Dr Lee" in call.text, method="sendMessage", chat_id=PATIENT_CHAT, since=mark, timeout=15
            )
            assert "has seen your message" in notice.text
        finally:
            await stop_gateway(app)


async def test_rasa_down_the_safety_net_still_alerts(servers, registered):
    code, doctor_chat = registered
    servers.stop("rasa")
    try:
        async with BotApiStandIn(token=TOKEN) as tg:
            tg.open_chat(PATIENT_CHAT + 1, "Bo")
            tg.open_chat(doctor_chat, "Lee")
            app = await start_gateway(servers, tg)
            try:
                tg.inject_start(PATIENT_CHAT + 1, code)
                await tg.wait_for_sent(method="sendMessage", chat_id=PATIENT_CHAT + 1, timeout=20)
                mark = tg.mark()
                tg.inject_text(PATIENT_CHAT + 1, "the redness is spreading and it's hot, I have a fever")
                # told to call the clinic for anything urgent
                await tg.wait_for_sent(
                    lambda call: "+44 20 7946 0000" in call.text,
                    method="sendMessage",
                    chat_id=PATIENT_CHAT + 1,
                    since=mark,
                    timeout=30,
                )
                alert = await tg.wait_for_sent(method="sendMessage", chat_id=doctor_chat, since=mark, timeout=15)
                assert "URGENT" in alert.text.upper()
                # the safety net's own advice, filled with the clinic's details as the gateway runs with them
                said = render(response_name("practitioner_alerted"), clinic_slots(app.bot_data["gateway"].settings))
                assert said in texts(tg, PATIENT_CHAT + 1, mark)
            finally:
                await stop_gateway(app)
    finally:
        servers.start_rasa()
