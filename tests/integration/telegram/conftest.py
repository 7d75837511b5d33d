"""Fixtures for the Telegram gateway tests: everything offline, on loopback.

* `tg`     the Bot API stand-in (devtools/telegram_standin.py), spoken to by the real python-telegram-bot client;
* `rasa`   a tiny aiohttp server playing Rasa's REST channel, with scripted answers;
* `memory` in-memory ports (bot/telegram/memory.py) pre-filled with one patient, one practitioner and one
           open escalation;
* `bot`    the application from build_application(), polling the stand-in.
"""

from __future__ import annotations

from typing import AsyncIterator

import pytest
from telegram_helpers import (
    LINK_CODE,
    PATIENT_CHAT,
    STAFF_CHAT,
    STRANGER_CHAT,
    TOKEN,
    FakeRasa,
    RunningBot,
    make_settings,
    start_polling,
    stop,
)

from bot.telegram.app import build_application
from bot.telegram.memory import MemoryDeps
from bot.telegram.ports import LinkedPatient, StaffMember
from devtools.telegram_standin import BotApiStandIn


@pytest.fixture
async def tg() -> AsyncIterator[BotApiStandIn]:
    async with BotApiStandIn(token=TOKEN) as standin:
        yield standin


@pytest.fixture
async def rasa() -> AsyncIterator[FakeRasa]:
    fake = FakeRasa()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def memory() -> MemoryDeps:
    memory = MemoryDeps()
    memory.links.chats[PATIENT_CHAT] = LinkedPatient(7, "Alice Example")
    memory.links.codes[LINK_CODE] = LinkedPatient(8, "Bea Newcomer")
    memory.staff.by_chat[STAFF_CHAT] = StaffMember(3, "Dr Lee")
    memory.escalations.add(12, patient_id=7, patient_name="Alice Example", level="urgent")
    memory.escalations.patients[7] = "Alice Example (id 7): face, exosome microneedling 2 days ago."
    return memory


@pytest.fixture
async def bot(tg: BotApiStandIn, rasa: FakeRasa, memory: MemoryDeps) -> AsyncIterator[RunningBot]:
    for chat_id, name in [(PATIENT_CHAT, "Alice"), (STAFF_CHAT, "Sam Lee"), (STRANGER_CHAT, "Mallory")]:
        tg.open_chat(chat_id, name)
    settings = make_settings(tg, rasa.url)
    app = build_application(settings, memory.deps)
    await start_polling(app)
    try:
        yield RunningBot(app, tg, rasa, memory, settings)
    finally:
        await stop(app)
