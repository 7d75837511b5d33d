"""Check-ins as a kind of outbox message: `CheckinSource` plugs scheduled_checkins into the one outbox worker
(bot.outbox.worker), which claims, sends, retries and records; `CheckinSender` is that worker set up for
check-ins. The preparation guidance before an appointment (kind "preparation", bot.screening.preparation) is
such a row too; it is skipped once its appointment has begun.

What is particular to check-ins:
* PREPARE skips stale check-ins: when several of a patient's check-ins are due (the bot was down, or the patient
  linked their chat late), only the latest one is worth sending; the older ones get `skipped_at`;
* due: unsent, unskipped, unpaused, the patient's chat linked, not superseded, the appointment not begun;
* after a failure the retry time is kept in `claimed_until` (the table has no next-attempt column), so nobody
  retries sooner; given up (Telegram refuses for good, or out of attempts) means `skipped_at`: a check-in is a
  courtesy, not an alert.

Because everything lives in the database, a restart loses nothing: a check-in that fell due while the bot
was down is sent by the first pass after it comes back. If a worker dies between sending and recording, its
lease runs out and the check-in is sent again (at least once, like alerts); that window is a few seconds.
Patients' names and message texts are never logged.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from typing import Callable, Optional, Sequence

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from bot.checkins import texts
from bot.outbox.errors import SendError
from bot.outbox.messenger import Messenger
from bot.outbox.retry import RetryRule
from bot.outbox.worker import Message, OutboxWorker, PassStats
from bot.screening import preparation
from bot.store import leases, repository
from bot.store.models import Appointment, ChatLink, ScheduledCheckin, Treatment, utcnow
from bot.store.uow import SessionFactory, UnitOfWork

log = logging.getLogger(__name__)

ACTOR = "system:checkins"


# Conditions shared by the queries below ----------------------------------------------------------------------
def _pending() -> ColumnElement:
    """Not sent, not skipped, not paused by the patient."""
    return and_(
        ScheduledCheckin.sent_at.is_(None), ScheduledCheckin.skipped_at.is_(None), ScheduledCheckin.paused.is_(False)
    )


def _superseded(now: dt.datetime) -> ColumnElement:
    """A later check-in of the same patient and series is due too (sent or not): this one is stale.

    Series: the aftercare check-ins form one; the preparation guidance for an appointment is its own, so a
    "how are you?" after the last session never hides the preparation for the next one (or the reverse)."""
    later = aliased(ScheduledCheckin)
    same_series = or_(
        and_(later.appointment_id.is_(None), ScheduledCheckin.appointment_id.is_(None)),
        later.appointment_id == ScheduledCheckin.appointment_id,
    )
    return exists().where(
        later.patient_id == ScheduledCheckin.patient_id,
        same_series,
        later.paused.is_(False),
        later.due_at <= now,
        or_(
            later.due_at > ScheduledCheckin.due_at,
            and_(later.due_at == ScheduledCheckin.due_at, later.id > ScheduledCheckin.id),
        ),
    )


def _appointment_passed(now: dt.datetime) -> ColumnElement:
    """Preparation guidance for an appointment that has already begun: too late to be of use."""
    return exists().where(Appointment.id == ScheduledCheckin.appointment_id, Appointment.scheduled_at <= now)


def _linked() -> ColumnElement:
    return exists().where(ChatLink.patient_id == ScheduledCheckin.patient_id)


class CheckinSource:
    label = "check-in"
    model = ScheduledCheckin

    def __init__(self, clinic_name: str, clinic_phone: str, guidance: Optional[preparation.Guidance] = None) -> None:
        self.clinic_name = clinic_name
        self.clinic_phone = clinic_phone
        self.guidance = guidance  # None: the clinic's data/preparation/guidance.yml

    def prepare(self, uow: UnitOfWork, now: dt.datetime, stats: PassStats) -> None:
        """Skip the stale check-ins: superseded by a later due one, or preparation for an appointment that began."""
        query = (
            select(ScheduledCheckin)
            .where(
                _pending(),
                leases.lease_free(ScheduledCheckin, now),
                ScheduledCheckin.due_at <= now,
                or_(_superseded(now), _appointment_passed(now)),
            )
            .order_by(ScheduledCheckin.id)
        )
        if uow.session.get_bind().dialect.name == "postgresql":
            # Rows another worker is working on right now are left to it.
            query = query.with_for_update(skip_locked=True)
        rows = list(uow.session.execute(query).scalars())
        for row in rows:
            row.skipped_at = now
            reason = "a later check-in was due too" if row.appointment_id is None else "stale before appointment"
            repository.audit(uow, "checkin", row.id, "skipped", ACTOR, {"kind": row.kind, "reason": reason}, now)
        if rows:
            log.info("skipped %d stale check-in(s)", len(rows))
        stats.skipped += len(rows)

    def due(self, now: dt.datetime) -> ColumnElement:
        # NOT superseded: only a patient's latest due check-in is ever claimed, even if PREPARE left an older
        # one behind because another worker had it locked.
        return and_(_pending(), ScheduledCheckin.due_at <= now, _linked(), ~_superseded(now), ~_appointment_passed(now))

    def order_by(self) -> Sequence:
        return (ScheduledCheckin.due_at, ScheduledCheckin.id)

    def word(self, uow: UnitOfWork, row: ScheduledCheckin, now: dt.datetime) -> Optional[Message]:
        session = uow.session
        # The most recently linked chat: a patient who re-linked from a new phone gets it there.
        chat_id = session.execute(
            select(ChatLink.telegram_chat_id)
            .where(ChatLink.patient_id == row.patient_id)
            .order_by(ChatLink.linked_at.desc(), ChatLink.id.desc())
            .limit(1)
        ).scalar_one()
        if row.appointment_id is not None:
            appointment = session.get(Appointment, row.appointment_id)
            text, buttons = preparation.render(
                appointment.scheduled_at, appointment.area, self.clinic_name, self.clinic_phone, self.guidance
            )
        else:
            treatment = session.get(Treatment, row.treatment_id)
            elapsed = now - treatment.performed_at if treatment else now - row.due_at
            text, buttons = texts.render(
                row.kind, treatment.area if treatment else None, elapsed, self.clinic_name, self.clinic_phone
            )
        return Message(chat_id, text, buttons, f"c{row.id}/{row.kind}")

    def still_pending(self, row: ScheduledCheckin) -> bool:
        return row.sent_at is None and row.skipped_at is None

    def record_sent(self, uow: UnitOfWork, row: ScheduledCheckin, message_id: str, now: dt.datetime) -> None:
        row.sent_at = now
        repository.audit(uow, "checkin", row.id, "sent", ACTOR, {"kind": row.kind, "attempts": row.attempts}, now)
        log.info("check-in %s (%s) sent", row.id, row.kind)

    def record_retry(self, row: ScheduledCheckin, when: dt.datetime) -> None:
        row.claimed_until = when  # nobody claims it before then (leases.lease_free)

    def record_given_up(self, uow: UnitOfWork, row: ScheduledCheckin, error: SendError, now: dt.datetime) -> None:
        # e.g. the patient blocked the bot. A check-in is a courtesy, not an alert: give up quietly.
        row.skipped_at = now
        repository.audit(
            uow,
            "checkin",
            row.id,
            "skipped",
            ACTOR,
            {"kind": row.kind, "reason": "undeliverable", "attempts": row.attempts, "error": row.last_error},
            now,
        )
        log.warning(
            "check-in %s (%s) given up after %s attempt(s): %s", row.id, row.kind, row.attempts, type(error).__name__
        )


class CheckinSender(OutboxWorker):
    """The outbox worker delivering check-ins. Check-ins are not urgent: polling every half minute is plenty and
    costs one small query."""

    poll_interval = 30.0

    def __init__(
        self,
        session_factory: SessionFactory,
        messenger: Messenger,
        clock: Callable[[], dt.datetime] = utcnow,
        *,
        clinic_name: str = "the clinic",
        clinic_phone: str = "the clinic's phone number",
        lease: dt.timedelta = dt.timedelta(minutes=5),
        batch_size: int = 20,
        max_attempts: int = 5,
        base_retry_seconds: float = 30.0,
        max_retry_seconds: float = 3600.0,
        guidance: Optional[preparation.Guidance] = None,
        rng: Optional[random.Random] = None,
    ) -> None:
        source = CheckinSource(clinic_name, clinic_phone, guidance)
        super().__init__(
            session_factory,
            messenger,
            source,
            RetryRule(base_retry_seconds, max_retry_seconds, max_attempts),
            lease=lease,
            batch_size=batch_size,
            rng=rng,
            clock=clock,
        )

    @classmethod
    def from_settings(
        cls, settings: object, session_factory: SessionFactory, messenger: Messenger, **kwargs: object
    ) -> "CheckinSender":
        return cls(
            session_factory,
            messenger,
            clinic_name=settings.clinic_name,  # type: ignore[arg-type]
            clinic_phone=settings.clinic_phone,
            **kwargs,
        )
