"""Shared pieces of the Telegram gateway tests (constants, the fake Rasa server, app start/stop).

A module with its own name rather than conftest.py, so that `from telegram_helpers import ...` can never pick
up another directory's conftest.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any, Callable, Dict, List

from aiohttp import web
from telegram.ext import Application

from bot.run.processes import free_port  # noqa: F401  (re-exported for the tests)
from bot.settings import Settings
from bot.telegram.app import ALLOWED_UPDATES
from bot.telegram.memory import MemoryDeps
from devtools.telegram_standin import BotApiStandIn

TOKEN = "123456:TEST-token"
PATIENT_CHAT = 1001  # linked to patient 7
NEW_CHAT = 1002  # not linked yet; LINK_CODE links it to patient 8
STAFF_CHAT = 2001  # practitioner 3, Dr Lee
STRANGER_CHAT = 3001  # nobody the clinic knows
LINK_CODE = "k3Y-abc_123"
CLINIC_PHONE = "+44 20 7946 0000"
EMERGENCY = "999"


class FakeRasa:
    """Rasa's REST channel: records each request and answers with `replies` (or fails, as told)."""

    def __init__(self) -> None:
        self.requests: List[Dict[str, Any]] = []
        self.replies: Callable[[Dict[str, Any]], List[Dict[str, Any]]] = lambda body: [
            {"text": "Thanks for telling me."}
        ]
        self.status = 200
        self.delay = 0.0
        self.delay_for: Callable[[Dict[str, Any]], float] = lambda body: self.delay  # per-message delays
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def _webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        delay = self.delay_for(body)
        if delay:
            await asyncio.sleep(delay)
        if self.status != 200:
            return web.Response(status=self.status, text="boom")
        return web.json_response(self.replies(body))

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self._webhook)
        self._runner = web.AppRunner(app, shutdown_timeout=0.2, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class RunningBot:
    app: Application
    tg: BotApiStandIn
    rasa: FakeRasa
    memory: MemoryDeps
    settings: Settings


def make_settings(tg: BotApiStandIn, rasa_url: str, **overrides: Any) -> Settings:
    settings = Settings(
        clinic_name="Glow Clinic",
        clinic_phone=CLINIC_PHONE,
        emergency_number=EMERGENCY,
        rasa_url=rasa_url,
        rasa_timeout_seconds=2.0,
        telegram_bot_token=tg.token,
        telegram_api_base_url=tg.base_url,
    )
    return replace(settings, **overrides)


async def start_polling(app: Application) -> None:
    await app.initialize()
    await app.start()
    await app.updater.start_polling(poll_interval=0, allowed_updates=ALLOWED_UPDATES)


async def stop(app: Application) -> None:
    if app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    await app.shutdown()
