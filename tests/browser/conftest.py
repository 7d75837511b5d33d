"""The clinic's web console in a real browser: Debian's Chromium driven by Playwright, no browser download.

* `chromium`  the system browser (/usr/bin/chromium, or AFTERCARE_CHROMIUM). Missing: the tests skip with how to
              install it (`apt-get install chromium`), unless AFTERCARE_REQUIRE_BROWSER=1 (set by .ci/run), which
              turns the skip into a failure;
* `clinic`    a throw-away migrated SQLite clinic: Dr Lee (treating, Telegram chat DOCTOR_CHAT), Ann (treated
              30 h ago, her chat PATIENT_CHAT linked), and two console accounts made through the use cases:
              "lee" (clinician, Dr Lee) and "desk" (desk);
* `console`   the console (bot.web.app.build_app) served by uvicorn on a free loopback port, in a thread;
* `browser`   a headless Chromium (a fresh profile each test);
* `tg`, `rasa`, `gateway`  the real Telegram gateway (bot.bootstrap.gateway: the store, the triage core, the
              notifier) polling the Bot API stand-in, with a fake Rasa that answers nothing, so the gateway's
              safety net triages (no trained Rasa model needed).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, AsyncIterator, Dict, Iterator, List, Optional, Tuple

import pytest
from aiohttp import web

from bot.run.processes import free_port
from bot.settings import Settings
from bot.store import db
from bot.store.uow import UnitOfWork
from bot.triage.model import Decision, Finding, Level
from bot.usecases import appointments, enrolment, reports

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "results" / "console"
CHROMIUM = os.environ.get("AFTERCARE_CHROMIUM", "/usr/bin/chromium")
# What the machine kind's notes say works here: no GPU, no sandbox (root), and none of Chromium's own traffic
# (this machine's closed network refuses it, many connections at a time).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

TOKEN = "123456:TEST-token"
BOT_USERNAME = "AftercareClinicBot"
PATIENT_CHAT = 6101
NEW_CHAT = 6102
DOCTOR_CHAT = 6201
CLINIC_PHONE = "+44 20 7946 0000"
EMERGENCY = "999"
PASSWORD = "correct horse battery staple"
RED_FLAG = "green pus is coming out of two of the needle holes"


def _browser_missing(reason: str) -> None:
    if os.environ.get("AFTERCARE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"AFTERCARE_REQUIRE_BROWSER=1 but the browser tests cannot run: {reason}")
    pytest.skip(f"{reason}; install Chromium with `apt-get install chromium` (Debian) to run the browser tests")


@pytest.fixture(scope="session")
def chromium() -> str:
    """The system Chromium's path (never a browser download)."""
    try:
        import playwright.async_api  # noqa: F401
    except ImportError as error:
        _browser_missing(f"Playwright is not installed ({error})")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _browser_missing(f"no Chromium at {CHROMIUM}")
    return CHROMIUM


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[Any]:
    """Headless Chromium; Playwright gives each launch a fresh, empty profile (--user-data-dir in a temp dir)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


# The clinic ---------------------------------------------------------------------------------------------------
@dataclass
class Clinic:
    url: str
    factory: Any
    doctor_id: int
    patient_id: int
    treatment_id: int

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.factory)


def _settings(url: str, **env: str) -> Settings:
    """Settings pinned here (a developer's .env must not change what the tests see)."""
    return Settings.from_env(
        env={
            "DATABASE_URL": url,
            "CLINIC_NAME": "Glow Clinic",
            "CLINIC_PHONE": CLINIC_PHONE,
            "EMERGENCY_NUMBER": EMERGENCY,
            "TELEGRAM_BOT_USERNAME": BOT_USERNAME,
            "CONSOLE_SECURE_COOKIES": "false",
            **env,
        }
    )


@pytest.fixture
def clinic(tmp_path: Path) -> Iterator[Clinic]:
    from bot.usecases import console_accounts  # W1's use cases (issue 15)

    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    db.upgrade(url)
    factory = db.make_session_factory(url)
    now = dt.datetime.now(dt.timezone.utc)
    uow = UnitOfWork(factory)
    doctor = enrolment.add_practitioner(uow, "Dr Lee", role="treating", chat_id=DOCTOR_CHAT, actor="test")
    new = enrolment.add_patient_with_treatment(
        uow, "Ann Example", now - dt.timedelta(hours=30), "face", "microneedling", doctor.id, now=now
    )
    enrolment.redeem_link_code(uow, new.link_code, PATIENT_CHAT, now=now)
    console_accounts.add_account(uow, "lee", PASSWORD, "clinician", practitioner_id=doctor.id, actor="test")
    console_accounts.add_account(uow, "desk", PASSWORD, "desk", actor="test")
    yield Clinic(url, factory, doctor.id, new.patient.id, new.treatment.id)
    factory.kw["bind"].dispose()


def seed_escalation(
    clinic: Clinic,
    text: str = RED_FLAG,
    level: Level = Level.URGENT,
    criteria: Tuple[str, ...] = ("infection",),
    finding: Finding = Finding(symptom="discharge", severity=("severe",), text="green pus"),
    patient_id: Optional[int] = None,
    treatment_id: Optional[int] = None,
) -> int:
    """A report from Ann (or another patient), as the triage would record it: its escalation's id."""
    recorded = reports.record_report(
        clinic.uow(),
        patient_id or clinic.patient_id,
        treatment_id or clinic.treatment_id,
        text,
        Decision(level=level, criteria=criteria, findings=(finding,)),
        "rasa",
    )
    return recorded.escalation.id


def seed_a_busy_day(clinic: Clinic) -> None:
    """What the screenshots show: Ann's red flag, a calm report, her next appointment and check-ins; Ben's
    emergency (another patient, treated this morning)."""
    now = dt.datetime.now(dt.timezone.utc)
    seed_escalation(clinic)
    reports.record_report(
        clinic.uow(),
        clinic.patient_id,
        clinic.treatment_id,
        "a bit pink still but much better than yesterday",
        Decision(level=Level.NORMAL, findings=(Finding(symptom="redness", text="a bit pink"),)),
        "rasa",
    )
    appointments.add_appointment(
        clinic.uow(), clinic.patient_id, now + dt.timedelta(days=28), "face", "microneedling", clinic.doctor_id
    )
    ben = enrolment.add_patient_with_treatment(
        clinic.uow(),
        "Ben Sample",
        now - dt.timedelta(hours=3),
        "scalp",
        "microinjection",
        clinic.doctor_id,
        checkin_hours=(24, 72),
    )
    seed_escalation(
        clinic,
        "my lips are swelling up and my throat feels tight",
        level=Level.EMERGENCY,
        criteria=("anaphylaxis",),
        finding=Finding(symptom="swelling", text="lips are swelling up"),
        patient_id=ben.patient.id,
        treatment_id=ben.treatment.id,
    )


# The console, served -----------------------------------------------------------------------------------------
class _Served:
    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            access_log=False,
            ws="none",  # as bot.run.web: Rasa pins an older websockets than uvicorn's own protocol needs
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="console", daemon=True)

    def start(self) -> None:
        self.thread.start()
        deadline = dt.datetime.now() + dt.timedelta(seconds=15)
        while not self.server.started:
            if not self.thread.is_alive() or dt.datetime.now() > deadline:
                raise RuntimeError("the console did not start (see the captured log)")
            threading.Event().wait(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def console(clinic: Clinic) -> Iterator[str]:
    """The console's base URL."""
    from bot.web.app import build_app

    served = _Served(build_app(_settings(clinic.url), clinic.factory))
    served.start()
    try:
        yield served.url
    finally:
        served.stop()


async def login(page: Any, console: str, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form; lands on the account's start page."""
    await page.goto(f"{console}/login")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    async with page.expect_navigation():
        await page.get_by_role("button", name="Sign in").click()
    assert "/login" not in page.url, await page.content()


# The gateway against the Bot API stand-in --------------------------------------------------------------------
class SilentRasa:
    """Rasa's REST channel answering HTTP 200 with no message (a dead action server): the safety net triages."""

    def __init__(self) -> None:
        self.requests: List[Dict[str, Any]] = []
        self.port = 0
        self._runner: Any = None

    async def _webhook(self, request: web.Request) -> web.Response:
        self.requests.append(await request.json())
        return web.json_response([])

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


@pytest.fixture
async def tg() -> AsyncIterator[Any]:
    from devtools.telegram_standin import BotApiStandIn

    async with BotApiStandIn(token=TOKEN, bot_username=BOT_USERNAME) as standin:
        standin.open_chat(PATIENT_CHAT, "Ann")
        standin.open_chat(DOCTOR_CHAT, "Lee")
        yield standin


@pytest.fixture
async def rasa() -> AsyncIterator[SilentRasa]:
    fake = SilentRasa()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def gateway(tg: Any, rasa: SilentRasa, clinic: Clinic) -> AsyncIterator[Settings]:
    """The real gateway polling the stand-in, its notifier (alerts, patient notices) running beside it."""
    from bot.bootstrap import clinic_service
    from bot.bootstrap.gateway import gateway_deps
    from bot.telegram.app import ALLOWED_UPDATES, build_application, start_background, stop_background

    settings = _settings(clinic.url, RASA_URL=rasa.url, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=tg.base_url)
    settings = replace(settings, rasa_timeout_seconds=2.0)
    deps = gateway_deps(settings, clinic_service(settings))
    deps.fallback.settle_seconds = 0.5  # how long the safety net waits for Rasa's own record (none comes here)
    app = build_application(settings, deps)
    await app.initialize()
    await app.start()
    await app.updater.start_polling(poll_interval=0, allowed_updates=ALLOWED_UPDATES)
    start_background(app)  # the notifier (polls the outbox every 2 s), as post_init starts it under run_polling
    try:
        yield settings
    finally:
        await stop_background(app)
        if app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()
        await asyncio.sleep(0)
