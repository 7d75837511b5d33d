"""Staff commands parse ids strictly (issue 12): "²", "1.5", "-3", a number beyond the database's integer and a
missing id get a reply that says what is wrong, and never reach the records; forged button data neither."""

from __future__ import annotations

from typing import List, Tuple

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram_helpers import STAFF_CHAT, RunningBot

from bot.ids import MAX_ID, BadId, parse_id

BAD = ["²", "1.5", "-3", "99999999999999999999", "٣", "0x7", "7,", "007"]


@pytest.mark.parametrize("raw", BAD + ["", None, " 7", "2147483648"])
def test_parse_id_refuses_with_a_reason(raw) -> None:
    with pytest.raises(BadId) as refused:
        parse_id(raw, "patient id")
    assert "patient id" in str(refused.value)


def test_parse_id_accepts_plain_ids() -> None:
    assert parse_id("7") == 7 and parse_id("12") == 12 and parse_id(str(MAX_ID)) == MAX_ID


def _recording(bot: RunningBot) -> List[Tuple[int, int]]:
    calls: List[Tuple[int, int]] = []
    original = bot.memory.escalations.patient_summary

    async def patient_summary(patient_id: int, practitioner_id: int) -> str:
        calls.append((patient_id, practitioner_id))
        return await original(patient_id, practitioner_id)

    bot.memory.escalations.patient_summary = patient_summary  # type: ignore[method-assign]
    return calls


async def test_bad_patient_ids_get_a_clear_reply_and_reach_nothing(bot: RunningBot) -> None:
    calls = _recording(bot)
    for raw in BAD:
        mark = bot.tg.mark()
        bot.tg.inject_text(STAFF_CHAT, f"/patient {raw}")
        reply = await bot.tg.wait_for_sent(method="sendMessage", chat_id=STAFF_CHAT, since=mark)
        assert f"{raw!r} is not a patient id" in reply.text, (raw, reply.text)
        assert "/patient ID" in reply.text
    mark = bot.tg.mark()
    bot.tg.inject_text(STAFF_CHAT, "/patient")  # nothing after the command: the usage
    reply = await bot.tg.wait_for_sent(method="sendMessage", chat_id=STAFF_CHAT, since=mark)
    assert reply.text.startswith("Usage: /patient ID")
    assert calls == []

    mark = bot.tg.mark()
    bot.tg.inject_text(STAFF_CHAT, "/patient 7")
    summary = await bot.tg.wait_for_sent(method="sendMessage", chat_id=STAFF_CHAT, since=mark)
    assert summary.text.startswith("Alice Example (id 7)") and calls == [(7, 3)]


async def test_bad_escalation_ids_in_resolve_are_refused(bot: RunningBot) -> None:
    for raw in BAD:
        mark = bot.tg.mark()
        bot.tg.inject_text(STAFF_CHAT, f"/resolve {raw} called her")
        reply = await bot.tg.wait_for_sent(method="sendMessage", chat_id=STAFF_CHAT, since=mark)
        assert f"{raw!r} is not an escalation id" in reply.text, (raw, reply.text)
        assert "/resolve ID note" in reply.text
    mark = bot.tg.mark()
    bot.tg.inject_text(STAFF_CHAT, "/resolve")
    reply = await bot.tg.wait_for_sent(method="sendMessage", chat_id=STAFF_CHAT, since=mark)
    assert reply.text.startswith("Usage: /resolve ID")
    assert bot.memory.escalations.actions == []


async def test_forged_alert_buttons_are_refused(bot: RunningBot) -> None:
    forged = [("ack:99999999999999999999", "ids go up to"), ("resolve:0", "is not an escalation id"), ("ack:٣", "")]
    # a message carrying forged callback data (a modified client can send any data under any message)
    sent = await bot.app.bot.send_message(
        STAFF_CHAT,
        "alert",
        reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton(f"b{i}", callback_data=data)] for i, (data, _) in enumerate(forged)]
        ),
    )
    message_id = sent.message_id
    for data, expected in forged:
        mark = bot.tg.mark()
        bot.tg.press_button(STAFF_CHAT, message_id, data)
        answer = await bot.tg.wait_for_sent(method="answerCallbackQuery", since=mark)
        assert expected in answer.params.get("text", ""), (data, answer.params)
    assert bot.memory.escalations.actions == []
