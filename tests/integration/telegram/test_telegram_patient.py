"""Patients' side of the gateway, end to end through the real PTB client and the Bot API stand-in."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import pytest
from telegram_helpers import (
    CLINIC_PHONE,
    EMERGENCY,
    LINK_CODE,
    NEW_CHAT,
    PATIENT_CHAT,
    STAFF_CHAT,
    RunningBot,
    free_port,
)

from bot.telegram.handlers.patient import MAX_RELAY_CHARS


async def test_start_with_code_links_the_chat_after_the_disclaimer(bot: RunningBot) -> None:
    mark = bot.tg.mark()
    bot.tg.inject_start(NEW_CHAT, LINK_CODE, user={"first_name": "Bea"})

    disclaimer = await bot.tg.wait_for_sent(method="sendMessage", chat_id=NEW_CHAT, since=mark)
    greeting = await bot.tg.wait_for_sent(
        lambda c: "linked" in c.text, method="sendMessage", chat_id=NEW_CHAT, since=mark
    )

    assert "automated" in disclaimer.text and "not a doctor" in disclaimer.text
    assert CLINIC_PHONE in disclaimer.text and EMERGENCY in disclaimer.text
    assert disclaimer.time <= greeting.time and "Bea Newcomer" in greeting.text
    assert (await bot.memory.links.patient_for_chat(NEW_CHAT)).id == 8


async def test_start_with_a_bad_code_is_refused_politely(bot: RunningBot) -> None:
    mark = bot.tg.mark()
    bot.tg.inject_start(NEW_CHAT, "not-a-code")

    refusal = await bot.tg.wait_for_sent(lambda c: "not valid" in c.text, chat_id=NEW_CHAT, since=mark)
    assert CLINIC_PHONE in refusal.text
    assert await bot.memory.links.patient_for_chat(NEW_CHAT) is None


async def test_unlinked_chat_gets_an_explanation_and_no_patient_data(bot: RunningBot) -> None:
    mark = bot.tg.mark()
    bot.tg.inject_text(NEW_CHAT, "my face is swollen, is that normal?")

    answer = await bot.tg.wait_for_sent(method="sendMessage", chat_id=NEW_CHAT, since=mark)
    assert "isn't linked" in answer.text and CLINIC_PHONE in answer.text and EMERGENCY in answer.text
    await asyncio.sleep(0.1)
    everything_said = " ".join(call.text for call in bot.tg.sent(chat_id=NEW_CHAT))
    assert "Alice" not in everything_said and "Bea" not in everything_said
    assert bot.rasa.requests == []  # nothing relayed


async def test_text_is_relayed_to_rasa_with_typing_and_buttons(bot: RunningBot) -> None:
    bot.rasa.replies = lambda body: [
        {
            "text": "Is the redness spreading?",
            "buttons": [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}],
        },
    ]
    mark = bot.tg.mark()
    update = bot.tg.inject_text(PATIENT_CHAT, "my cheeks are red")

    question = await bot.tg.wait_for_sent(method="sendMessage", chat_id=PATIENT_CHAT, since=mark)
    assert question.text == "Is the redness spreading?"
    assert question.buttons == [("Yes", "rasa:/affirm"), ("No", "rasa:/deny")]
    assert bot.rasa.requests[0] == {
        "sender": "patient-7",
        "message": "my cheeks are red",
        "metadata": {"chat_id": PATIENT_CHAT, "message_id": update["message"]["message_id"], "disclaimer_shown": True},
    }
    typing = bot.tg.sent("sendChatAction", chat_id=PATIENT_CHAT)
    assert typing and typing[0].params["action"] == "typing" and typing[0].time <= question.time

    bot.rasa.replies = lambda body: [{"text": "Thank you, that's reassuring."}]
    mark = bot.tg.mark()
    bot.tg.press_button(PATIENT_CHAT, question.message_id, "rasa:/deny")

    await bot.tg.wait_for_sent(lambda c: "reassuring" in c.text, method="sendMessage", since=mark)
    assert bot.rasa.requests[-1]["message"] == "/deny"
    assert bot.tg.sent("answerCallbackQuery")
    shown = bot.tg.message(PATIENT_CHAT, question.message_id)
    assert "reply_markup" not in shown and shown["text"].endswith("› No")  # can't be answered twice


async def test_long_payloads_fit_telegrams_64_byte_callback_limit(bot: RunningBot) -> None:
    payload = '/inform{"symptom": "swelling", "area": "left cheek", "severity": "moderate"}'
    bot.rasa.replies = lambda body: [{"text": "Which one?", "buttons": [{"title": "Swelling", "payload": payload}]}]
    mark = bot.tg.mark()
    bot.tg.inject_text(PATIENT_CHAT, "it is swollen")
    question = await bot.tg.wait_for_sent(method="sendMessage", chat_id=PATIENT_CHAT, since=mark)
    ((_, data),) = question.buttons
    assert len(data.encode()) <= 64

    bot.tg.press_button(PATIENT_CHAT, question.message_id, data)
    await bot.tg.wait_for_sent(lambda c: len(bot.rasa.requests) == 2, since=mark, method="sendMessage")
    assert bot.rasa.requests[-1]["message"] == payload


async def test_long_texts_are_truncated_before_relaying_and_the_patient_is_told(bot: RunningBot) -> None:
    mark = bot.tg.mark()
    bot.tg.inject_text(PATIENT_CHAT, "my skin feels tight " * 200)

    notice = await bot.tg.wait_for_sent(lambda c: "long" in c.text, chat_id=PATIENT_CHAT, since=mark)
    await bot.tg.wait_for_sent(lambda c: "Thanks for telling me" in c.text, chat_id=PATIENT_CHAT, since=mark)
    assert str(MAX_RELAY_CHARS) in notice.text
    relayed = bot.rasa.requests[0]["message"]
    assert len(relayed) <= MAX_RELAY_CHARS and relayed.endswith("…")


@pytest.mark.parametrize("failure", ["http_500", "unreachable", "timeout", "empty_answer", "nothing_visible"])
async def test_when_rasa_fails_the_fallback_answers_and_the_patient_is_told_to_call(
    bot: RunningBot, failure: str
) -> None:
    gateway = bot.app.bot_data["gateway"]
    if failure == "http_500":
        bot.rasa.status = 500
    elif failure == "unreachable":
        gateway.rasa.urls = (f"http://127.0.0.1:{free_port()}/webhooks/rest/webhook",)
    elif failure == "timeout":
        bot.rasa.delay, gateway.rasa.timeout = 1.0, 0.2
    elif failure == "empty_answer":  # HTTP 200 and no message: what Rasa answers when an action failed
        bot.rasa.replies = lambda body: []
    else:  # only a payload meant for another channel: the patient would see nothing
        bot.rasa.replies = lambda body: [{"custom": {"kind": "card"}}]
    bot.memory.fallback.replies = ["I've passed this to your practitioner."]
    mark = bot.tg.mark()
    bot.tg.inject_text(PATIENT_CHAT, "I have a fever and the swelling is getting worse")

    urgent = await bot.tg.wait_for_sent(lambda c: CLINIC_PHONE in c.text, chat_id=PATIENT_CHAT, since=mark)
    replies = [c.text for c in bot.tg.sent("sendMessage", chat_id=PATIENT_CHAT)[-2:]]
    assert replies == ["I've passed this to your practitioner.", urgent.text]
    assert bot.memory.fallback.calls == [(7, "I have a fever and the swelling is getting worse")]
    assert bot.memory.answered == 1  # the safety net may have written an alert: the notifier is nudged
    (attempt,) = bot.memory.fallback.attempts  # whether Rasa got the message, so its action may have recorded it
    if failure == "unreachable":
        assert attempt is None
    else:
        assert attempt.message == "I have a fever and the swelling is getting worse"
        assert attempt.timed_out == (failure == "timeout")
        assert attempt.sent_at <= dt.datetime.now(dt.timezone.utc)


async def test_each_answered_message_nudges_the_notifier_before_the_reply_goes_out(bot: RunningBot) -> None:
    seen_at_reply = []
    bot.rasa.replies = lambda body: seen_at_reply.append(bot.memory.answered) or [{"text": "Noted."}]
    for number in range(2):
        mark = bot.tg.mark()
        bot.tg.inject_text(PATIENT_CHAT, f"message {number}")
        await bot.tg.wait_for_sent(lambda c: c.text == "Noted.", chat_id=PATIENT_CHAT, since=mark)
        assert bot.memory.answered == number + 1
    assert seen_at_reply == [0, 1]  # Rasa had answered (and any alert rows were committed) before each nudge


async def test_photos_are_stored_and_a_caption_is_read_like_text(bot: RunningBot) -> None:
    mark = bot.tg.mark()
    bot.tg.inject_photo(PATIENT_CHAT, file_id="AgACPhoto-1", caption="this red patch is new")

    thanks = await bot.tg.wait_for_sent(lambda c: "photo" in c.text, chat_id=PATIENT_CHAT, since=mark)
    await bot.tg.wait_for_sent(lambda c: "Thanks for telling me" in c.text, chat_id=PATIENT_CHAT, since=mark)
    assert "practitioner" in thanks.text
    assert bot.memory.photos.attached == [(7, "AgACPhoto-1", "this red patch is new")]  # the largest size
    assert bot.rasa.requests[0]["message"] == "this red patch is new"


@pytest.mark.parametrize(
    "inject, expected",
    [
        (lambda tg: tg.inject_sticker(PATIENT_CHAT), "only read text"),
        (lambda tg: tg.inject_voice(PATIENT_CHAT), "can't listen"),
        (lambda tg: tg.inject_message(PATIENT_CHAT, location={"latitude": 51.5, "longitude": -0.1}), "only read text"),
        (
            lambda tg: tg.inject_message(PATIENT_CHAT, document={"file_id": "BQAD1", "file_unique_id": "d1"}),
            "only read text",
        ),
    ],
)
async def test_other_kinds_of_message_get_a_short_answer(bot: RunningBot, inject, expected: str) -> None:
    mark = bot.tg.mark()
    inject(bot.tg)
    answer = await bot.tg.wait_for_sent(method="sendMessage", chat_id=PATIENT_CHAT, since=mark)
    assert expected in answer.text
    assert bot.rasa.requests == []


async def test_edited_messages_are_not_reread(bot: RunningBot) -> None:
    mark = bot.tg.mark()
    original = bot.tg.inject_text(PATIENT_CHAT, "a bit red")
    await bot.tg.wait_for_sent(method="sendMessage", chat_id=PATIENT_CHAT, since=mark)
    mark = bot.tg.mark()
    bot.tg.inject_edit(PATIENT_CHAT, original["message"]["message_id"], "very red and hot")

    answer = await bot.tg.wait_for_sent(method="sendMessage", chat_id=PATIENT_CHAT, since=mark)
    assert "new message" in answer.text
    assert len(bot.rasa.requests) == 1


async def test_stop_and_resume_pause_check_ins(bot: RunningBot) -> None:
    mark = bot.tg.mark()
    bot.tg.inject_text(PATIENT_CHAT, "/stop")
    await bot.tg.wait_for_sent(lambda c: "paused" in c.text, chat_id=PATIENT_CHAT, since=mark)
    assert bot.memory.checkins.paused == {7}

    bot.tg.inject_text(PATIENT_CHAT, "/resume")
    await bot.tg.wait_for_sent(lambda c: c.text.startswith("Check-in messages are back on"), since=mark)
    assert bot.memory.checkins.paused == set()


async def test_a_flood_limit_on_a_reply_is_waited_out(bot: RunningBot) -> None:
    bot.tg.fail_next("sendMessage", 429, retry_after=1)
    mark = bot.tg.mark()
    bot.tg.inject_text(PATIENT_CHAT, "hello")

    await bot.tg.wait_for_sent(lambda c: "Thanks for telling me" in c.text, chat_id=PATIENT_CHAT, since=mark)
    statuses = [c.status for c in bot.tg.attempts("sendMessage")]
    assert statuses == [429, 200]


async def test_an_unexpected_error_is_logged_without_the_text_and_the_patient_is_told(
    bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(patient_id, file_id, caption):
        raise RuntimeError("database is down")

    bot.memory.photos.attach = broken  # type: ignore[method-assign]
    caplog.set_level(logging.DEBUG, logger="bot")
    mark = bot.tg.mark()
    bot.tg.inject_photo(PATIENT_CHAT, caption="secret symptom words")

    sorry = await bot.tg.wait_for_sent(lambda c: "went wrong" in c.text, chat_id=PATIENT_CHAT, since=mark)
    assert CLINIC_PHONE in sorry.text
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors and errors[0].name == "bot.telegram.handlers.errors"


async def test_no_message_text_or_names_in_the_logs(bot: RunningBot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    mark = bot.tg.mark()
    bot.tg.inject_text(PATIENT_CHAT, "zebra-itch on my scalp")
    bot.tg.inject_start(1003, LINK_CODE)
    await bot.tg.wait_for_sent(lambda c: "Thanks for telling me" in c.text, since=mark)
    await bot.tg.wait_for_sent(lambda c: "linked" in c.text, chat_id=1003, since=mark)

    logged = "\n".join(record.getMessage() for record in caplog.records if record.name.startswith("bot"))
    assert "relayed a message for patient 7" in logged
    for private in ("zebra-itch", "Alice", "Bea Newcomer", LINK_CODE):
        assert private not in logged


async def test_rasa_images_are_sent_as_photos(bot: RunningBot) -> None:
    bot.rasa.replies = lambda body: [
        {"text": "This is what normal redness looks like:"},
        {"image": "https://clinic.example/redness.jpg"},
    ]
    mark = bot.tg.mark()
    bot.tg.inject_text(PATIENT_CHAT, "what is normal?")

    photo = await bot.tg.wait_for_sent(method="sendPhoto", chat_id=PATIENT_CHAT, since=mark)
    assert photo.params["photo"] == "https://clinic.example/redness.jpg"


async def test_one_chat_is_answered_in_order_while_other_chats_are_not_held_up(bot: RunningBot) -> None:
    bot.rasa.delay_for = lambda body: 0.6 if body["message"] == "first" else 0.0
    bot.rasa.replies = lambda body: [{"text": f"answer to {body['message']}"}]
    mark = bot.tg.mark()
    bot.tg.inject_text(PATIENT_CHAT, "first")
    bot.tg.inject_text(PATIENT_CHAT, "second")
    bot.tg.inject_text(STAFF_CHAT, "/open")

    second = await bot.tg.wait_for_sent(lambda c: c.text == "answer to second", since=mark)
    answers = [c.text for c in bot.tg.sent("sendMessage", chat_id=PATIENT_CHAT)[-2:]]
    assert answers == ["answer to first", "answer to second"]
    (staff_reply,) = bot.tg.sent("sendMessage", chat_id=STAFF_CHAT)
    assert staff_reply.time < second.time - 0.3  # the practitioner did not wait for the patient's Rasa call
