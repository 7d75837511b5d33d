"""Shared pieces for the check-in tests (a module with a unique name, so imports are unambiguous)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from typing import List, Optional, Tuple

from bot.store.uow import UnitOfWork
from bot.usecases import enrolment

T0 = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.timezone.utc)  # treatment time used throughout
HOURS = (24, 72, 168, 672, 2016)
MAINTENANCE_DAYS = {"face": 180, "scalp": 90}


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now

    def set(self, when: dt.datetime) -> dt.datetime:
        self.now = when
        return self.now


class FakeMessenger:
    """Records what patients "saw". `script`: exceptions to raise on the next sends, in order (None = ok)."""

    def __init__(self, script: Optional[List[Optional[Exception]]] = None) -> None:
        self.script = list(script or [])
        self.messages: List[Tuple[int, str, object]] = []
        self.attempts = 0

    async def send_alert(self, chat_id, text, buttons):
        self.attempts += 1
        await asyncio.sleep(0)  # a real network call yields to the loop: lets racing senders interleave
        if self.script:
            error = self.script.pop(0)
            if error is not None:
                raise error
        self.messages.append((chat_id, text, buttons))
        return f"m{len(self.messages)}"

    @property
    def per_chat(self) -> Counter:
        return Counter(chat_id for chat_id, _, _ in self.messages)


def add_practitioner(session_factory) -> int:
    practitioner = enrolment.add_practitioner(UnitOfWork(session_factory), "Dr Treating", "treating", 1001)
    return practitioner.id


def add_patient(
    session_factory,
    practitioner_id: int,
    chat_id: Optional[int],
    area: str = "face",
    treated_at: dt.datetime = T0,
    now: Optional[dt.datetime] = None,
    hours=HOURS,
    maintenance=MAINTENANCE_DAYS,
) -> int:
    """A patient treated at `treated_at` with the check-in schedule; chat linked unless chat_id is None."""
    now = now or treated_at
    uow = UnitOfWork(session_factory)
    new = enrolment.add_patient_with_treatment(
        uow,
        f"Patient {chat_id}",
        treated_at,
        area,
        "microneedling",
        practitioner_id,
        now=now,
        checkin_hours=hours,
        maintenance_days=maintenance,
    )
    if chat_id is not None:
        enrolment.redeem_link_code(uow, new.link_code, chat_id, now=now)
    return new.patient.id
