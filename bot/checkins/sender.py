"""The check-in sender: sends scheduled check-ins (scheduled_checkins rows) when they fall due, once each.
The preparation guidance before an appointment (kind "preparation", bot.screening.preparation) is such a row
too; it is skipped once its appointment has begun.

One pass (`run_once(now)`):
1. SKIP stale check-ins: when several of a patient's check-ins are due (the bot was down, or the patient
   linked their chat late), only the latest one is worth sending; the older ones get `skipped_at`.
2. CLAIM a batch of due, unpaused, unsent check-ins of patients whose Telegram chat is linked: set a claim
   token and a lease (`claimed_until`) and count the attempt, like the alert notifier does with its outbox.
   PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED, so two senders never claim the same row.
   SQLite: one UPDATE ... WHERE id IN (SELECT ...); SQLite has a single writer, so the UPDATE is atomic.
3. send each claimed check-in through the `Messenger` (the same one the notifier uses), outside any
   transaction, so a slow network never holds database locks;
4. record the outcome: `sent_at`; or, after a failure, a retry time (kept in `claimed_until`, so nobody
   retries sooner); or `skipped_at` when Telegram refuses for good or after `max_attempts`.

Because everything lives in the database, a restart loses nothing: a check-in that fell due while the bot
was down is sent by the first pass after it comes back. If a sender dies between sending and step 4, its lease
runs out and the check-in is sent again (at least once, like alerts); that window is a few seconds.
Patients' names and message texts are never logged.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from bot.checkins import texts
from bot.escalation.errors import PermanentSendError, RetryAfter, SendError, TransientSendError
from bot.escalation.notifier import Buttons, Messenger, send_once
from bot.store import leases, repository
from bot.screening import preparation
from bot.store.models import Appointment, ChatLink, ScheduledCheckin, Treatment, utcnow
from bot.store.uow import SessionFactory, UnitOfWork

log = logging.getLogger(__name__)

ACTOR = "system:checkins"


@dataclass(frozen=True)
class ClaimedCheckin:
    """A check-in this sender holds the lease on, with its message already worded."""

    id: int
    token: str
    chat_id: int
    kind: str
    text: str
    buttons: Buttons


@dataclass
class CheckinPassStats:
    """What one `run_once` did."""

    skipped: int = 0  # stale: a later check-in of the same patient was due too
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0  # given up on (skipped for good)
    lost_lease: int = 0  # sent, but another sender had taken the row over meanwhile


# Conditions shared by the queries below ----------------------------------------------------------------------
def _pending() -> ColumnElement:
    """Not sent, not skipped, not paused by the patient."""
    return and_(ScheduledCheckin.sent_at.is_(None), ScheduledCheckin.skipped_at.is_(None),
                ScheduledCheckin.paused.is_(False))


def _superseded(now: dt.datetime) -> ColumnElement:
    """A later check-in of the same patient and series is due too (sent or not): this one is stale.

    Series: the aftercare check-ins form one; the preparation guidance for an appointment is its own, so a
    "how are you?" after the last session never hides the preparation for the next one (or the reverse)."""
    later = aliased(ScheduledCheckin)
    same_series = or_(and_(later.appointment_id.is_(None), ScheduledCheckin.appointment_id.is_(None)),
                      later.appointment_id == ScheduledCheckin.appointment_id)
    return exists().where(
        later.patient_id == ScheduledCheckin.patient_id,
        same_series,
        later.paused.is_(False),
        later.due_at <= now,
        or_(later.due_at > ScheduledCheckin.due_at,
            and_(later.due_at == ScheduledCheckin.due_at, later.id > ScheduledCheckin.id)),
    )


def _appointment_passed(now: dt.datetime) -> ColumnElement:
    """Preparation guidance for an appointment that has already begun: too late to be of use."""
    return exists().where(Appointment.id == ScheduledCheckin.appointment_id, Appointment.scheduled_at <= now)


def _linked() -> ColumnElement:
    return exists().where(ChatLink.patient_id == ScheduledCheckin.patient_id)


class CheckinSender:
    def __init__(
        self,
        session_factory: SessionFactory,
        messenger: Messenger,
        clock: Callable[[], dt.datetime] = utcnow,
        *,
        clinic_name: str = "the clinic",
        clinic_phone: str = "the clinic's phone number",
        # Must outlast sending a whole batch (Telegram's timeout is ~15 s a message). It only matters when a
        # sender dies mid-batch: its check-ins are re-sent once the lease runs out.
        lease: dt.timedelta = dt.timedelta(minutes=5),
        batch_size: int = 20,
        max_attempts: int = 5,
        base_retry_seconds: float = 30.0,
        max_retry_seconds: float = 3600.0,
        guidance: Optional[preparation.Guidance] = None,
    ) -> None:
        self.session_factory = session_factory
        self.messenger = messenger
        self.clock = clock
        self.clinic_name = clinic_name
        self.clinic_phone = clinic_phone
        self.lease = lease
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.base_retry_seconds = base_retry_seconds
        self.max_retry_seconds = max_retry_seconds
        self.guidance = guidance  # None: the clinic's data/preparation/guidance.yml

    @classmethod
    def from_settings(cls, settings: object, session_factory: SessionFactory, messenger: Messenger,
                      **kwargs: object) -> "CheckinSender":
        return cls(session_factory, messenger, clinic_name=getattr(settings, "clinic_name"),  # type: ignore[arg-type]
                   clinic_phone=getattr(settings, "clinic_phone"), **kwargs)

    # The loop ------------------------------------------------------------------------------------------------
    async def run_forever(self, poll_interval: float = 30.0, stop: Optional[asyncio.Event] = None) -> None:
        """Poll until `stop` is set (or the task is cancelled). Errors are logged, never fatal.

        Check-ins are not urgent: polling every half minute is plenty and costs one small query.
        """
        await leases.poll_forever(lambda: self.run_once(self.clock()), self.batch_size, poll_interval, stop,
                                  "check-in")

    async def run_once(self, now: Optional[dt.datetime] = None) -> CheckinPassStats:
        now = now or self.clock()
        stats = CheckinPassStats()
        claimed, stats.skipped = await asyncio.to_thread(self._claim, now)
        stats.claimed = len(claimed)
        for checkin in claimed:
            outcome = await self._send(checkin)
            result = await asyncio.to_thread(self._record_outcome, checkin, outcome, now)
            setattr(stats, result, getattr(stats, result) + 1)
        return stats

    # Steps -------------------------------------------------------------------------------------------------
    def _claim(self, now: dt.datetime) -> Tuple[List[ClaimedCheckin], int]:
        token = uuid.uuid4().hex
        with UnitOfWork(self.session_factory) as uow:
            skipped = self._skip_stale(uow, now)
            claimed = [self._word(uow, row, token, now) for row in self._claim_rows(uow.session, token, now)]
            uow.commit()
        return claimed, skipped

    def _skip_stale(self, uow: UnitOfWork, now: dt.datetime) -> int:
        query = select(ScheduledCheckin).where(
            _pending(), leases.lease_free(ScheduledCheckin, now), ScheduledCheckin.due_at <= now,
            or_(_superseded(now), _appointment_passed(now))
        ).order_by(ScheduledCheckin.id)
        if uow.session.get_bind().dialect.name == "postgresql":
            # Rows another sender is working on right now are left to it.
            query = query.with_for_update(skip_locked=True)
        rows = list(uow.session.execute(query).scalars())
        for row in rows:
            row.skipped_at = now
            reason = "a later check-in was due too" if row.appointment_id is None else "stale before appointment"
            repository.audit(uow, "checkin", row.id, "skipped", ACTOR, {"kind": row.kind, "reason": reason}, now)
        if rows:
            log.info("skipped %d stale check-in(s)", len(rows))
        return len(rows)

    def _claim_rows(self, session: Session, token: str, now: dt.datetime) -> List[ScheduledCheckin]:
        # NOT superseded: only a patient's latest due check-in is ever claimed, even if step 1 left an older
        # one behind because another sender had it locked.
        due = and_(_pending(), ScheduledCheckin.due_at <= now, _linked(), ~_superseded(now),
                   ~_appointment_passed(now))
        return leases.claim(session, ScheduledCheckin, due, (ScheduledCheckin.due_at, ScheduledCheckin.id), token,
                            now, self.lease, self.batch_size)

    def _word(self, uow: UnitOfWork, row: ScheduledCheckin, token: str, now: dt.datetime) -> ClaimedCheckin:
        session = uow.session
        # The most recently linked chat: a patient who re-linked from a new phone gets it there.
        chat_id = session.execute(
            select(ChatLink.telegram_chat_id).where(ChatLink.patient_id == row.patient_id)
            .order_by(ChatLink.linked_at.desc(), ChatLink.id.desc()).limit(1)
        ).scalar_one()
        if row.appointment_id is not None:
            appointment = session.get(Appointment, row.appointment_id)
            text, buttons = preparation.render(appointment.scheduled_at, appointment.area, self.clinic_name,
                                               self.clinic_phone, self.guidance)
            return ClaimedCheckin(row.id, token, chat_id, row.kind, text, buttons)
        treatment = session.get(Treatment, row.treatment_id)
        elapsed = now - treatment.performed_at if treatment else now - row.due_at
        text, buttons = texts.render(row.kind, treatment.area if treatment else None, elapsed,
                                     self.clinic_name, self.clinic_phone)
        return ClaimedCheckin(row.id, token, chat_id, row.kind, text, buttons)

    async def _send(self, checkin: ClaimedCheckin) -> object:
        return await send_once(self.messenger, checkin.chat_id, checkin.text, checkin.buttons)

    def _record_outcome(self, checkin: ClaimedCheckin, outcome: object, now: dt.datetime) -> str:
        """Write the result of one send. Returns the CheckinPassStats field to count it under."""
        with UnitOfWork(self.session_factory) as uow:
            row = leases.still_ours(uow.session, ScheduledCheckin, checkin.id, checkin.token)
            if row is None:
                # Our lease ran out and another sender took the row over; it records the outcome.
                log.debug("check-in %s changed hands before its outcome was recorded", checkin.id)
                return "lost_lease"
            result = self._apply_outcome(uow, row, outcome, now)
            uow.commit()
        return result

    def _apply_outcome(self, uow: UnitOfWork, row: ScheduledCheckin, outcome: object, now: dt.datetime) -> str:
        row.claim_token = None
        if isinstance(outcome, str):
            row.sent_at, row.claimed_until, row.last_error = now, None, None
            repository.audit(uow, "checkin", row.id, "sent", ACTOR, {"kind": row.kind, "attempts": row.attempts},
                             now)
            log.info("check-in %s (%s) sent", row.id, row.kind)
            return "sent"
        error = outcome if isinstance(outcome, SendError) else TransientSendError(repr(outcome))
        row.last_error = f"{type(error).__name__}: {error}"[:500]
        if isinstance(error, PermanentSendError) or row.attempts >= self.max_attempts:
            # e.g. the patient blocked the bot. A check-in is a courtesy, not an alert: give up quietly.
            row.skipped_at, row.claimed_until = now, None
            repository.audit(uow, "checkin", row.id, "skipped", ACTOR,
                             {"kind": row.kind, "reason": "undeliverable", "attempts": row.attempts,
                              "error": row.last_error}, now)
            log.warning("check-in %s (%s) given up after %s attempt(s): %s",
                        row.id, row.kind, row.attempts, type(error).__name__)
            return "failed"
        row.claimed_until = now + dt.timedelta(seconds=self.retry_delay(row.attempts, error))
        log.info("check-in %s attempt %s failed (%s); retrying at %s",
                 row.id, row.attempts, type(error).__name__, row.claimed_until.isoformat())
        return "retried"

    def retry_delay(self, attempts: int, error: SendError) -> float:
        """Seconds to wait before the next attempt: doubling each time, at least what RetryAfter asked for."""
        delay = min(self.max_retry_seconds, self.base_retry_seconds * 2 ** max(0, attempts - 1))
        if isinstance(error, RetryAfter):
            delay = max(delay, error.seconds)
        return delay
