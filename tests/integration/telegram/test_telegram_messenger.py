"""TelegramMessenger translates what Telegram answers into the notifier's three errors."""

from __future__ import annotations

import pytest
from telegram import Bot
from telegram_helpers import STAFF_CHAT, RunningBot

from bot.outbox.errors import PermanentSendError, RetryAfter, TransientSendError
from bot.telegram.messenger import TelegramMessenger
from devtools.telegram_standin import BotApiStandIn

BUTTONS = [("Acknowledge", "ack:5"), ("Resolve", "resolve:5")]


async def test_success_returns_the_message_id_and_sends_plain_text(bot: RunningBot) -> None:
    messenger = TelegramMessenger(bot.app.bot)
    text = 'Patient wrote: "<b>sore</b> & swollen"'
    message_id = await messenger.send_alert(STAFF_CHAT, text, BUTTONS)

    (call,) = bot.tg.sent("sendMessage", chat_id=STAFF_CHAT)
    assert message_id == str(call.message_id)
    assert call.text == text and "parse_mode" not in call.params  # patient words are never parsed as HTML
    assert call.buttons == BUTTONS


async def test_flood_control_becomes_retry_after_without_waiting(bot: RunningBot) -> None:
    bot.tg.fail_next("sendMessage", 429, retry_after=7)
    with pytest.raises(RetryAfter) as raised:
        await TelegramMessenger(bot.app.bot).send_alert(STAFF_CHAT, "alert", BUTTONS)
    assert raised.value.seconds == 7
    assert len(bot.tg.attempts("sendMessage")) == 1  # the outbox, not the rate limiter, decides when to retry


@pytest.mark.parametrize("status", [500, 502])
async def test_server_errors_are_transient(bot: RunningBot, status: int) -> None:
    bot.tg.fail_next("sendMessage", status)
    with pytest.raises(TransientSendError):
        await TelegramMessenger(bot.app.bot).send_alert(STAFF_CHAT, "alert", BUTTONS)


async def test_a_slow_answer_is_a_transient_timeout(bot: RunningBot) -> None:
    bot.tg.fail_next("sendMessage", 200, delay=1.0)
    with pytest.raises(TransientSendError, match="TimedOut"):
        await TelegramMessenger(bot.app.bot, read_timeout=0.2).send_alert(STAFF_CHAT, "alert", BUTTONS)


async def test_blocked_bot_and_unknown_chat_are_permanent(bot: RunningBot) -> None:
    bot.tg.block(STAFF_CHAT)
    with pytest.raises(PermanentSendError, match="blocked"):
        await TelegramMessenger(bot.app.bot).send_alert(STAFF_CHAT, "alert", BUTTONS)
    with pytest.raises(PermanentSendError, match="not found"):
        await TelegramMessenger(bot.app.bot).send_alert(555_555, "alert", BUTTONS)


async def test_works_with_a_plain_bot_too(tg: BotApiStandIn) -> None:
    """A notifier process may hold a bare telegram.Bot (no rate limiter): same translation."""
    tg.open_chat(STAFF_CHAT)
    tg.fail_next("sendMessage", 429, retry_after=2)
    async with Bot(tg.token, base_url=tg.base_url) as plain:
        messenger = TelegramMessenger(plain)
        with pytest.raises(RetryAfter):
            await messenger.send_alert(STAFF_CHAT, "alert", None)
        assert await messenger.send_alert(STAFF_CHAT, "alert", None) == "1"


async def test_an_overlong_alert_is_shortened_but_keeps_its_reference_line(bot: RunningBot) -> None:
    text = "URGENT\n" + "Patient wrote: " + "swelling " * 600 + "\nref E5/initial/0"
    await TelegramMessenger(bot.app.bot).send_alert(STAFF_CHAT, text, BUTTONS)
    (call,) = bot.tg.sent("sendMessage", chat_id=STAFF_CHAT)
    assert len(call.text) <= 4096 and call.text.endswith("…\nref E5/initial/0")
