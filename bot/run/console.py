"""The terminal chat of `make run` without a Telegram token: you are a demo patient, and the alerts your
practitioner would get on Telegram are printed in a box, with the notifier running as in production.

Type a message to the assistant. Staff shortcuts (the practitioner's buttons): /ack, /resolve, /open. /quit ends.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import sys
import threading
from dataclasses import replace
from typing import List, Optional

import httpx

from bot.delivery.alerts import Notifier
from bot.delivery.checkins import CheckinSender
from bot.outbox.messenger import ConsoleMessenger
from bot.outbox.worker import Nudge
from bot.settings import Settings
from bot.store.uow import UnitOfWork
from bot.usecases import console_accounts, enrolment, escalations

DEMO_PATIENT_CHAT = 1
DEMO_PRACTITIONER_CHAT = 1001
DEMO_ON_CALL_CHAT = 1002
# The terminal demo's own records and conversations, beside (never in) the clinic's: its practitioners (chat ids
# 1001, 1002) must never get staff access or on-call alerts in a clinic's real database.
DEMO_DATABASE = "demo.db"
DEMO_TRACKER = "demo_rasa_tracker.db"


def demo_settings(settings: Settings) -> Settings:
    """The settings the terminal demo runs with: its own SQLite database in the data directory (whatever
    DATABASE_URL says, PostgreSQL included), the embedded profile (one Rasa worker, conversations in SQLite), and
    an environment for the children (bot.run.profiles) that says the same, so the action server records the demo's
    reports in the demo database too."""
    url = f"sqlite:///{settings.data_dir / DEMO_DATABASE}"
    extra = {**settings.extra, "DATABASE_URL": url, "AFTERCARE_PROFILE": "embedded", "RASA_WORKERS": "1"}
    return replace(settings, database_url=url, profile="embedded", rasa_workers=1, extra=extra)


def demo_workers(settings: Settings, workers: list) -> list:
    """The embedded worker with the demo's own conversation store (`<data dir>/demo_rasa_tracker.db`): the demo
    patient talks as sender patient-1, which in the clinic's store may be a real patient's conversation."""
    tracker = str(settings.data_dir / DEMO_TRACKER)
    return [
        replace(worker, env=tuple(sorted({**dict(worker.env), "RASA_TRACKER_DB": tracker}.items())))
        for worker in workers
    ]


def ensure_demo_clinic(session_factory, settings: Settings, now: Optional[dt.datetime] = None) -> int:
    """A demo practitioner, on-call colleague and patient (treated 20 hours ago) when the clinic is empty.

    Returns the demo patient's id. A clinic with its own practitioners is never touched beyond the lookup.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    uow = UnitOfWork(session_factory)
    linked = enrolment.patient_for_chat(uow, DEMO_PATIENT_CHAT)
    if linked is not None:
        return linked.id
    # Each step is its own use case; a demo interrupted half-way is completed by the next start.
    treating = enrolment.practitioner_for_chat(uow, DEMO_PRACTITIONER_CHAT) or enrolment.add_practitioner(
        uow, "Dr Demo (treating)", role="treating", chat_id=DEMO_PRACTITIONER_CHAT, actor="system:demo"
    )
    if enrolment.practitioner_for_chat(uow, DEMO_ON_CALL_CHAT) is None:
        enrolment.add_practitioner(
            uow, "Dr On-Call (demo)", role="on_call", chat_id=DEMO_ON_CALL_CHAT, actor="system:demo"
        )
    new = enrolment.add_patient_with_treatment(
        uow,
        "Demo Patient",
        now - dt.timedelta(hours=20),
        "face",
        "microneedling",
        treating.id,
        now=now,
        **enrolment.clinic_registration(settings),
    )
    enrolment.redeem_link_code(uow, new.link_code, DEMO_PATIENT_CHAT, now=now)
    return new.patient.id


DEMO_CONSOLE_USER = "demo"


def ensure_demo_console_account(session_factory) -> str:
    """The demo's web console account ("demo", admin, acting as the demo's treating practitioner) with a new random
    password for this run, which is returned (the launcher shows it on the terminal)."""
    uow = UnitOfWork(session_factory)
    password = secrets.token_urlsafe(12)
    if any(account.username == DEMO_CONSOLE_USER for account in console_accounts.list_accounts(uow)):
        console_accounts.set_password(uow, DEMO_CONSOLE_USER, password, actor="system:demo")
    else:
        treating = enrolment.practitioner_for_chat(uow, DEMO_PRACTITIONER_CHAT)
        console_accounts.add_account(
            uow,
            DEMO_CONSOLE_USER,
            password,
            "admin",
            practitioner_id=treating.id if treating is not None else None,
            actor="system:demo",
        )
    return password


def _stdin_lines() -> "asyncio.Queue[Optional[str]]":
    """Lines typed by the user, read on a daemon thread.

    Not asyncio.to_thread(input): on Ctrl-C, asyncio.run() waits for its worker threads, and one blocked in
    input() would keep `make run` from ever stopping the servers it started."""
    loop = asyncio.get_running_loop()
    queue: "asyncio.Queue[Optional[str]]" = asyncio.Queue()

    def read() -> None:
        while True:
            line = sys.stdin.readline()
            loop.call_soon_threadsafe(queue.put_nowait, line if line else None)
            if not line:
                return

    threading.Thread(target=read, name="console-input", daemon=True).start()
    return queue


class ConsoleChat:
    def __init__(self, settings: Settings, session_factory, patient_id: int, out=sys.stdout):
        self.settings = settings
        self.session_factory = session_factory
        self.patient_id = patient_id
        self.out = out
        self.messenger = ConsoleMessenger(out)
        self.notifier = Notifier.from_settings(settings, session_factory, self.messenger)
        self.checkins = CheckinSender.from_settings(settings, session_factory, self.messenger)

    async def send(self, client: httpx.AsyncClient, text: str) -> List[str]:
        """Relay one message to Rasa as the demo patient; the bot's replies."""
        response = await client.post(
            f"{self.settings.rasa_urls[0]}/webhooks/rest/webhook",
            json={"sender": f"patient-{self.patient_id}", "message": text},
        )
        response.raise_for_status()
        replies = []
        for item in response.json():
            line = item.get("text") or ""
            if item.get("buttons"):
                line += "\n   " + "  ".join(f"[{b.get('title')}]" for b in item["buttons"])
            replies.append(line)
        return replies

    def staff_command(self, text: str) -> str:
        """/ack, /resolve, /open as the demo practitioner: the buttons of the Telegram alert."""
        uow = UnitOfWork(self.session_factory)
        practitioner = enrolment.practitioner_for_chat(uow, DEMO_PRACTITIONER_CHAT)
        open_ones = escalations.open_escalations(uow)
        if text == "/open":
            return f"{len(open_ones)} open escalation(s): " + ", ".join(
                f"#{e.id} {e.level} ({e.state})" for e in open_ones
            )
        if not open_ones or practitioner is None:
            return "No open escalation."
        latest = open_ones[-1]
        if text == "/ack":
            escalations.acknowledge(uow, latest.id, practitioner.id)
        else:
            escalations.resolve(uow, latest.id, practitioner.id, note="resolved from the terminal")
        return f"Escalation #{latest.id}: {'acknowledged' if text == '/ack' else 'resolved'} as {practitioner.name}."

    async def run(self) -> None:
        stop = asyncio.Event()
        nudge = Nudge()
        notifier = asyncio.create_task(self.notifier.run_forever(poll_interval=1.0, stop=stop, nudge=nudge))
        checkins = asyncio.create_task(self.checkins.run_forever(poll_interval=5.0, stop=stop))
        print(
            "\nYou are the demo patient (treated 20 hours ago, face, microneedling). Type a message; "
            "/ack /resolve /open act as the practitioner; /quit or Ctrl-C ends.\n",
            file=self.out,
        )
        async with httpx.AsyncClient(timeout=self.settings.rasa_timeout_seconds) as client:
            for reply in await self.send(client, "/session_start"):
                print(f"bot> {reply}", file=self.out)
            lines = _stdin_lines()
            while True:
                print("you> ", end="", file=self.out, flush=True)
                line = await lines.get()
                if line is None:  # end of input
                    break
                text = line.strip()
                if text in ("/quit", "/exit"):
                    break
                if text in ("/ack", "/resolve", "/open"):
                    print(f"[practitioner] {self.staff_command(text)}", file=self.out)
                    await asyncio.sleep(1.5)  # the notice to the patient is printed by the notifier
                    continue
                if not text:
                    continue
                try:
                    replies = await self.send(client, text)
                except httpx.HTTPError as error:
                    replies = [
                        f"(the assistant is not reachable: {type(error).__name__}). For anything urgent "
                        f"call the clinic on {self.settings.clinic_phone}."
                    ]
                nudge()
                for reply in replies:
                    print(f"bot> {reply}", file=self.out)
                await asyncio.sleep(0.4)  # let the notifier print the practitioner's alert before the next prompt
        stop.set()
        await asyncio.gather(notifier, checkins)
