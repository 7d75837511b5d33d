"""The preparation message's button, through the real PTB client and the Bot API stand-in: sent by the check-in
sender's messenger, pressed by the patient, relayed to Rasa as the start of the screening questions."""

from __future__ import annotations

import datetime as dt

from telegram_helpers import PATIENT_CHAT, RunningBot

from bot.screening import preparation
from bot.telegram.messenger import TelegramMessenger


async def test_the_preparation_button_starts_the_screening_in_rasa(bot: RunningBot) -> None:
    text, buttons = preparation.render(
        dt.datetime(2026, 12, 3, 10, 0, tzinfo=dt.timezone.utc), "face", "Glow Clinic", "0123 456"
    )
    message_id = int(await TelegramMessenger(bot.app.bot).send_alert(PATIENT_CHAT, text, buttons))
    shown = bot.tg.message(PATIENT_CHAT, message_id)
    assert "retinoids" in shown["text"]

    bot.rasa.replies = lambda body: [
        {
            "text": "1/7 Do you have any skin infection at the moment?",
            "buttons": [{"title": "Yes", "payload": "/affirm"}],
        }
    ]
    mark = bot.tg.mark()
    bot.tg.press_button(PATIENT_CHAT, message_id, buttons[0][1])

    question = await bot.tg.wait_for_sent(
        lambda c: "1/7" in c.text, method="sendMessage", chat_id=PATIENT_CHAT, since=mark
    )
    assert bot.rasa.requests[-1]["sender"] == "patient-7"
    assert bot.rasa.requests[-1]["message"] == "/start_screening"
    assert question.buttons == [("Yes", "rasa:/affirm")]
