"""The clinic side without a terminal (issue 15): /newpatient and /appointment dialogs, and /patient's photos, through
the real python-telegram-bot client, the Bot API stand-in and the in-memory ports."""

from __future__ import annotations

import datetime as dt
import io

import PIL.Image
import zxingcpp
from telegram_helpers import STAFF_CHAT, STRANGER_CHAT, FakeRasa, RunningBot, make_settings, start_polling, stop

from bot.telegram.app import build_application
from bot.telegram.handlers import onboarding
from bot.telegram.memory import MemoryDeps
from bot.telegram.ports import PatientPhoto, StaffMember
from devtools.telegram_standin import ApiCall, BotApiStandIn


async def _say(bot: RunningBot, text: str, expect: str, chat_id: int = STAFF_CHAT) -> ApiCall:
    """Type `text` in the chat; the bot's message containing `expect`."""
    mark = bot.tg.mark()
    bot.tg.inject_text(chat_id, text)
    return await bot.tg.wait_for_sent(lambda c: expect in c.text, method="sendMessage", chat_id=chat_id, since=mark)


async def _press(bot: RunningBot, data: str, expect: str) -> ApiCall:
    """Press the button `data` under the bot's latest question; the bot's message containing `expect`."""
    message_id, buttons = bot.tg.last_buttons(STAFF_CHAT)
    assert data in [d for _, d in buttons], buttons
    mark = bot.tg.mark()
    bot.tg.press_button(STAFF_CHAT, message_id, data)
    return await bot.tg.wait_for_sent(lambda c: expect in c.text, method="sendMessage", chat_id=STAFF_CHAT, since=mark)


async def test_a_new_patient_from_the_chat_gets_a_link_and_a_qr_code_that_carries_it(bot: RunningBot) -> None:
    bot.memory.onboarding.others.append(StaffMember(4, "Dr Shah"))
    yesterday = dt.datetime.now(dt.timezone.utc).date() - dt.timedelta(days=1)

    await _say(bot, "/newpatient", "What is the patient's name?")
    await _say(bot, "Ann Example", "When was the treatment?")
    retry = await _say(bot, "yesterday 25:70", "could not read that time")
    assert "2026-11-27 14:30, today 14:30, yesterday 9:00 or 14:30" in retry.text
    await _say(bot, "yesterday 9:00", "Which area?")
    await _say(bot, "fase", "Please press Face or Scalp")  # a typo: asked again, saying what is expected
    await _press(bot, "onb:area:face", "Which method?")
    question = await _press(bot, "onb:method:microneedling", "treating practitioner")
    assert question.buttons == [("Dr Lee (you)", "onb:pr:3"), ("Dr Shah", "onb:pr:4")]
    summary = await _press(bot, "onb:pr:4", "Please check the new patient")
    assert f"Treatment: {yesterday:%d %b %Y} 09:00 UTC" in summary.text
    assert "Name: Ann Example" in summary.text and "Practitioner: Dr Shah" in summary.text
    assert bot.memory.onboarding.registered == []  # nothing written before Confirm

    mark = bot.tg.mark()
    link_message = await _press(bot, "onb:confirm", "Their link")
    photo = await bot.tg.wait_for_sent(method="sendPhoto", chat_id=STAFF_CHAT, since=mark)

    [(registered, area, method, practitioner_id, by)] = bot.memory.onboarding.registered
    assert (registered.display_name, area, method, practitioner_id, by) == (
        "Ann Example",
        "face",
        "microneedling",
        4,
        3,
    )
    link = f"https://t.me/{bot.settings.telegram_bot_username}?start={registered.link_code}"
    assert link in link_message.text
    png = photo.params["photo"]["bytes"]
    assert zxingcpp.read_barcodes(PIL.Image.open(io.BytesIO(png)))[0].text == link
    assert "Ann Example" in photo.text


async def test_cancel_leaves_without_writing_anything(bot: RunningBot) -> None:
    await _say(bot, "/newpatient", "What is the patient's name?")
    await _say(bot, "Ann Example", "When was the treatment?")
    await _say(bot, "/cancel", "Cancelled: nothing was saved.")

    # The dialog is over: a time typed now is not taken as an answer.
    mark = bot.tg.mark()
    bot.tg.inject_text(STAFF_CHAT, "today 9:00")
    reply = await bot.tg.wait_for_sent(method="sendMessage", chat_id=STAFF_CHAT, since=mark)
    assert "Which area?" not in reply.text

    # The Cancel button at the summary writes nothing either.
    await _say(bot, "/newpatient", "What is the patient's name?")
    await _say(bot, "Bea", "When was the treatment?")
    await _press(bot, "onb:now", "Which area?")
    await _say(bot, "scalp", "Which method?")
    await _say(bot, "Combined", "treating practitioner")
    await _say(bot, "me", "Please check the new patient")
    await _press(bot, "onb:cancel", "Cancelled: nothing was saved.")
    assert bot.memory.onboarding.registered == []


async def test_only_practitioners_may_register_patients(bot: RunningBot) -> None:
    for command in ("/newpatient", "/appointment"):
        reply = await _say(bot, command, "only available to the clinic's practitioners", chat_id=STRANGER_CHAT)
        assert "name" not in reply.text
    mark = bot.tg.mark()
    bot.tg.inject_text(STRANGER_CHAT, "Mallory Example")
    await bot.tg.wait_for_sent(method="sendMessage", chat_id=STRANGER_CHAT, since=mark)
    assert not [c for c in bot.tg.sent("sendMessage", chat_id=STRANGER_CHAT) if "When was" in c.text]
    assert bot.memory.onboarding.registered == [] and bot.memory.onboarding.booked == []


async def test_an_appointment_in_the_past_is_asked_again(bot: RunningBot) -> None:
    bot.memory.onboarding.known_patients.add(7)
    tomorrow = dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=1)

    await _say(bot, "/appointment", "Which patient?")
    await _say(bot, "seven", "'seven' is not a patient id")
    await _say(bot, "99", "When is the appointment?")
    await _say(bot, "yesterday 10:00", "is not in the future")
    await _say(bot, "tomorrow 10:00", "Which area?")
    await _press(bot, "onb:area:face", "Which method?")
    await _press(bot, "onb:method:combined", "treating practitioner")
    await _press(bot, "onb:pr:3", "Please check the appointment")
    # The service refuses patient 99 (no such patient): its message, and the patient id is asked again.
    refusal = await _press(bot, "onb:confirm", "No patient with id 99.")
    assert refusal.text == "No patient with id 99."
    summary = await _say(bot, "7", "Please check the appointment")  # straight back to the summary
    assert "Patient: #7" in summary.text
    done = await _press(bot, "onb:confirm", "Appointment #1 booked")

    [(booked, area, method, practitioner_id, by)] = bot.memory.onboarding.booked
    assert booked.scheduled_at == dt.datetime(tomorrow.year, tomorrow.month, tomorrow.day, 10, tzinfo=dt.timezone.utc)
    assert (booked.patient_id, area, method, practitioner_id, by) == (7, "face", "combined", 3, 3)
    assert f"for patient #7: {tomorrow:%d %b %Y} 10:00 UTC" in done.text


async def test_patient_command_resends_the_patients_photos_by_file_id(bot: RunningBot) -> None:
    when = dt.datetime(2026, 11, 26, 18, 5, tzinfo=dt.timezone.utc)
    bot.memory.escalations.photos[7] = [PatientPhoto("AgACAgCheek", when, "my cheek tonight")]

    mark = bot.tg.mark()
    bot.tg.inject_text(STAFF_CHAT, "/patient 7")
    summary = await bot.tg.wait_for_sent(method="sendMessage", chat_id=STAFF_CHAT, since=mark)
    photo = await bot.tg.wait_for_sent(method="sendPhoto", chat_id=STAFF_CHAT, since=mark)

    assert "Alice Example" in summary.text
    assert photo.params["photo"] == "AgACAgCheek"  # Telegram's file id, nothing downloaded or uploaded
    assert photo.text == "Patient #7 · photo 1 of 1 · 26 Nov 18:05 UTC\nmy cheek tonight"
    assert bot.memory.escalations.photo_reads == [(7, 3)]
    assert not bot.tg.attempts("getFile")


async def test_staff_help_lists_the_new_commands(bot: RunningBot) -> None:
    reply = await _say(bot, "/help", "/newpatient")
    assert "/appointment" in reply.text and "/cancel" in reply.text


async def test_a_dialog_left_unanswered_ends_without_writing(
    tg: BotApiStandIn, rasa: FakeRasa, memory: MemoryDeps, monkeypatch
) -> None:
    monkeypatch.setattr(onboarding, "TIMEOUT", dt.timedelta(seconds=1))  # 15 minutes in production
    tg.open_chat(STAFF_CHAT, "Sam Lee")
    app = build_application(make_settings(tg, rasa.url), memory.deps)
    await start_polling(app)
    try:
        mark = tg.mark()
        tg.inject_text(STAFF_CHAT, "/newpatient")
        await tg.wait_for_sent(lambda c: "name" in c.text, method="sendMessage", chat_id=STAFF_CHAT, since=mark)
        tg.inject_text(STAFF_CHAT, "Ann Example")
        await tg.wait_for_sent(lambda c: "When was" in c.text, method="sendMessage", chat_id=STAFF_CHAT, since=mark)

        ended = await tg.wait_for_sent(
            lambda c: "nothing was saved" in c.text, method="sendMessage", chat_id=STAFF_CHAT, since=mark, timeout=10
        )
        assert "/newpatient" in ended.text
        mark = tg.mark()
        tg.inject_text(STAFF_CHAT, "today 9:00")  # too late: no longer an answer
        reply = await tg.wait_for_sent(method="sendMessage", chat_id=STAFF_CHAT, since=mark)
        assert "Which area?" not in reply.text
        assert memory.onboarding.registered == []
    finally:
        await stop(app)
