"""Practitioners' side: alert buttons, staff commands, and refusing everybody else."""

from __future__ import annotations

from telegram_helpers import PATIENT_CHAT, STAFF_CHAT, STRANGER_CHAT, RunningBot

from bot.escalation.alerts import action_buttons
from bot.telegram.messenger import TelegramMessenger


async def _alert(bot: RunningBot, chat_id: int, escalation_id: int = 12) -> int:
    """Deliver an alert the way the notifier does, returning its message id."""
    messenger = TelegramMessenger(bot.app.bot)
    return int(
        await messenger.send_alert(
            chat_id, "⚠️ URGENT: aftercare alert\nref E12/initial/0", action_buttons(escalation_id)
        )
    )


async def test_acknowledge_then_resolve_from_the_alert_buttons(bot: RunningBot) -> None:
    message_id = await _alert(bot, STAFF_CHAT)
    assert bot.tg.message(STAFF_CHAT, message_id)["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "ack:12"

    mark = bot.tg.mark()
    bot.tg.press_button(STAFF_CHAT, message_id, "ack:12")
    answer = await bot.tg.wait_for_sent(method="answerCallbackQuery", since=mark)
    edit = await bot.tg.wait_for_sent(method="editMessageReplyMarkup", chat_id=STAFF_CHAT, since=mark)

    assert bot.memory.escalations.actions == [("acknowledge", 12, 3)]
    assert "acknowledged" in answer.params["text"]
    assert edit.buttons == [("✅ Acknowledged · Dr Lee", "done:12"), ("Resolve", "resolve:12")]

    mark = bot.tg.mark()
    bot.tg.press_button(STAFF_CHAT, message_id, "resolve:12")
    edit = await bot.tg.wait_for_sent(method="editMessageReplyMarkup", chat_id=STAFF_CHAT, since=mark)
    assert edit.buttons == [("✔️ Resolved · Dr Lee", "done:12")]
    assert bot.memory.escalations.actions[-1] == ("resolve", 12, 3)

    mark = bot.tg.mark()
    bot.tg.press_button(STAFF_CHAT, message_id, "done:12")
    answer = await bot.tg.wait_for_sent(method="answerCallbackQuery", since=mark)
    assert len(bot.memory.escalations.actions) == 2


async def test_a_second_press_by_a_slower_colleague_shows_the_current_state(bot: RunningBot) -> None:
    first, second = await _alert(bot, STAFF_CHAT), await _alert(bot, STAFF_CHAT)
    mark = bot.tg.mark()
    bot.tg.press_button(STAFF_CHAT, first, "ack:12")
    await bot.tg.wait_for_sent(method="editMessageReplyMarkup", since=mark)
    mark = bot.tg.mark()
    bot.tg.press_button(STAFF_CHAT, second, "ack:12")

    answer = await bot.tg.wait_for_sent(method="answerCallbackQuery", since=mark)
    edit = await bot.tg.wait_for_sent(method="editMessageReplyMarkup", since=mark)
    assert answer.params["text"] == "Already acknowledged by Dr Lee."
    assert edit.message_id == second


async def test_anybody_else_pressing_an_alert_button_is_refused(bot: RunningBot) -> None:
    message_id = await _alert(bot, STRANGER_CHAT)  # e.g. a misrouted or forwarded alert
    mark = bot.tg.mark()
    bot.tg.press_button(STRANGER_CHAT, message_id, "ack:12")

    answer = await bot.tg.wait_for_sent(method="answerCallbackQuery", since=mark)
    assert "only available to the clinic's practitioners" in answer.params["text"]
    assert answer.params["show_alert"] is True
    assert bot.memory.escalations.actions == []
    assert not bot.tg.sent("editMessageReplyMarkup")


async def test_staff_commands(bot: RunningBot) -> None:
    mark = bot.tg.mark()
    bot.tg.inject_text(STAFF_CHAT, "/open")
    listing = await bot.tg.wait_for_sent(method="sendMessage", chat_id=STAFF_CHAT, since=mark)
    assert "E12 · URGENT · open · Alice Example (patient 7)" in listing.text

    mark = bot.tg.mark()
    bot.tg.inject_text(STAFF_CHAT, "/patient 7")
    summary = await bot.tg.wait_for_sent(method="sendMessage", chat_id=STAFF_CHAT, since=mark)
    assert summary.text.startswith("Alice Example (id 7)")

    mark = bot.tg.mark()
    bot.tg.inject_text(STAFF_CHAT, "/resolve 12 called her, all fine")
    done = await bot.tg.wait_for_sent(method="sendMessage", chat_id=STAFF_CHAT, since=mark)
    assert done.text == "E12 resolved by Dr Lee."
    assert bot.memory.escalations.items[12].note == "called her, all fine"

    mark = bot.tg.mark()
    bot.tg.inject_text(STAFF_CHAT, "/resolve 99")
    unknown = await bot.tg.wait_for_sent(method="sendMessage", chat_id=STAFF_CHAT, since=mark)
    assert unknown.text == "No escalation with id 99."


async def test_staff_commands_are_refused_to_patients_and_strangers(bot: RunningBot) -> None:
    for chat_id in (PATIENT_CHAT, STRANGER_CHAT):
        for command in ("/open", "/patient 7", "/resolve 12 done"):
            mark = bot.tg.mark()
            bot.tg.inject_text(chat_id, command)
            refusal = await bot.tg.wait_for_sent(method="sendMessage", chat_id=chat_id, since=mark)
            assert "only available to the clinic's practitioners" in refusal.text
            assert "Alice" not in refusal.text
    assert bot.memory.escalations.actions == []


async def test_practitioners_get_the_staff_help_not_the_patient_flow(bot: RunningBot) -> None:
    for send in (
        lambda: bot.tg.inject_text(STAFF_CHAT, "/start"),
        lambda: bot.tg.inject_text(STAFF_CHAT, "hi"),
        lambda: bot.tg.inject_sticker(STAFF_CHAT),
        lambda: bot.tg.inject_photo(STAFF_CHAT),
    ):
        mark = bot.tg.mark()
        send()
        answer = await bot.tg.wait_for_sent(method="sendMessage", chat_id=STAFF_CHAT, since=mark)
        assert "Dr Lee" in answer.text and "/open" in answer.text
    assert bot.rasa.requests == [] and bot.memory.photos.attached == []
