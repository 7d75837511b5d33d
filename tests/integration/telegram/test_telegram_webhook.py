"""Webhook mode: updates arrive by POST from the stand-in; forged requests are refused before any handler."""

from __future__ import annotations

import asyncio
from typing import Any, Dict

import aiohttp
from telegram_helpers import LINK_CODE, PATIENT_CHAT, STRANGER_CHAT, FakeRasa, free_port, make_settings, stop

from bot.telegram.app import build_application, webhook_options
from bot.telegram.memory import MemoryDeps
from devtools.telegram_standin import BotApiStandIn

SECRET = "s3cret_Webhook-token_0123456789"


def forged_start(chat_id: int) -> Dict[str, Any]:
    """An update someone other than Telegram might POST: it would link their chat if it were processed."""
    return {
        "update_id": 999,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": chat_id, "type": "private", "first_name": "M"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "M"},
            "text": f"/start {LINK_CODE}",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


def test_webhook_options_come_from_the_settings(tg: BotApiStandIn) -> None:
    settings = make_settings(
        tg,
        "http://rasa",
        telegram_mode="webhook",
        telegram_webhook_secret=SECRET,
        telegram_webhook_url="https://clinic.example/hooks/telegram",
        telegram_webhook_port=8443,
    )
    options = webhook_options(settings)
    assert options["url_path"] == "hooks/telegram" and options["secret_token"] == SECRET
    assert options["webhook_url"] == "https://clinic.example/hooks/telegram" and options["port"] == 8443


async def test_a_request_without_the_right_secret_gets_403_and_changes_nothing(
    tg: BotApiStandIn, rasa: FakeRasa, memory: MemoryDeps
) -> None:
    port = free_port()
    settings = make_settings(
        tg,
        rasa.url,
        telegram_mode="webhook",
        telegram_webhook_secret=SECRET,
        telegram_webhook_url="https://clinic.example/telegram",
        telegram_webhook_port=port,
    )
    app = build_application(settings, memory.deps)
    local_url = f"http://127.0.0.1:{port}/telegram"
    # Same options as production, except that the stand-in must call us on loopback.
    options = dict(webhook_options(settings), webhook_url=local_url)
    await app.initialize()
    await app.start()
    await app.updater.start_webhook(**options)
    try:
        registered = tg.sent("setWebhook")[-1].params
        assert registered["url"] == local_url and registered["secret_token"] == SECRET

        # Genuine delivery (the stand-in sends the secret header): handled.
        tg.open_chat(PATIENT_CHAT)
        mark = tg.mark()
        tg.inject_text(PATIENT_CHAT, "hello")
        await tg.wait_for_sent(lambda c: "Thanks for telling me" in c.text, chat_id=PATIENT_CHAT, since=mark)

        mark = tg.mark()
        async with aiohttp.ClientSession() as session:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong-secret"}):
                async with session.post(local_url, json=forged_start(STRANGER_CHAT), headers=headers) as response:
                    assert response.status == 403
        await asyncio.sleep(0.3)  # give a (wrongly) queued update time to be handled
        assert [c.method for c in tg.calls[mark:]] == []  # no handler ran: nothing was sent
        assert await memory.links.patient_for_chat(STRANGER_CHAT) is None
        assert len(rasa.requests) == 1
    finally:
        await stop(app)
