"""Process updates concurrently across chats, but strictly in order within one chat.

PTB processes updates one at a time by default, so a patient waiting ~20 s on a slow Rasa answer would also
delay a practitioner's Acknowledge button. Full concurrency (`concurrent_updates(True)`) fixes that but could
answer a patient's second message before their first. This processor does both: one lock per chat.
"""
from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Dict

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class PerChatUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int = 32) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: Dict[int, asyncio.Lock] = {}
        self._users: Dict[int, int] = {}  # how many updates hold or wait for each chat's lock

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        lock = self._locks.setdefault(chat.id, asyncio.Lock())
        self._users[chat.id] = self._users.get(chat.id, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._users[chat.id] -= 1
            if self._users[chat.id] == 0:  # nobody else queued for this chat: forget its lock
                del self._users[chat.id], self._locks[chat.id]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""
