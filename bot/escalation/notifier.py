"""The notifier: delivers the outbox (alert_deliveries) through a `Messenger`, at least once.

One pass (`run_once`):
1. queue the reminders/backup alerts that have become due (bot.escalation.followups);
2. CLAIM a batch of due rows: set a claim token and a lease (`claimed_until`) and count the attempt.
   PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED, so two notifiers never claim the same row.
   SQLite: one UPDATE ... WHERE id IN (SELECT ...); SQLite has a single writer, so the UPDATE is atomic.
3. send each claimed message, outside any transaction (a slow network must not hold database locks);
4. record the outcome: `sent`, or back to `pending` with a later `next_attempt_at` (exponential backoff
   with jitter, at least what RetryAfter asked for), or `failed` after `max_attempts` / a permanent error.
5. if a delivery failed in this round, go back to 1 at once (a few rounds at most): the policy then pages the
   next recipient (`failover`), or, when nobody is left, marks the escalation and tells the patient, in this
   same pass instead of the next poll or ESCALATION_BACKUP_AFTER_MINUTES later.

Crash safety: if the process dies after sending but before step 4, the lease runs out and another notifier
sends the row again. The recipient may see the same alert twice; both copies carry the same reference line
("ref E12/initial/0"), which is the dedupe key. Nothing is lost.

The database work is synchronous SQLAlchemy run in a worker thread (asyncio.to_thread), so the event loop
(the Telegram gateway shares it) never waits on a database lock.
"""
from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import random
import textwrap
import uuid
from dataclasses import dataclass
from typing import IO, Callable, List, Optional, Protocol, Sequence, Tuple

from sqlalchemy import and_
from sqlalchemy.orm import Session

from bot.escalation import alerts
from bot.escalation.errors import PermanentSendError, RetryAfter, SendError, TransientSendError
from bot.escalation.followups import schedule_followups
from bot.escalation.policy import EscalationPolicy
from bot.store import leases, repository
from bot.store.models import AlertDelivery, Escalation, utcnow
from bot.store.uow import SessionFactory, UnitOfWork

log = logging.getLogger(__name__)

Buttons = Optional[List[Tuple[str, str]]]


class Messenger(Protocol):
    """Anything that can put a message in front of a person. Returns the external message id.

    Raises RetryAfter(seconds), TransientSendError or PermanentSendError (bot.escalation.errors).
    """

    async def send_alert(self, chat_id: int, text: str, buttons: Buttons) -> str: ...


@dataclass(frozen=True)
class ClaimedDelivery:
    """A row this notifier holds the lease on, with its message already worded."""

    id: int
    token: str
    chat_id: int
    attempts: int
    dedupe_key: str
    text: str
    buttons: Buttons


@dataclass
class PassStats:
    """What one `run_once` did."""

    followups_queued: int = 0
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    lost_lease: int = 0  # sent, but another notifier had taken the row over (it will be sent again)
    rounds: int = 0  # schedule/claim/send rounds (more than one when a failure made someone else due at once)


async def send_once(messenger: "Messenger", chat_id: int, text: str, buttons: Buttons) -> object:
    """Send one message; returns the external message id or the SendError that stopped it (never raises one)."""
    try:
        return await messenger.send_alert(chat_id, text, buttons)
    except SendError as error:
        return error
    except (asyncio.TimeoutError, OSError) as error:  # an adapter that let a network error through
        return TransientSendError(f"{type(error).__name__}: {error}")


class Notifier:
    def __init__(
        self,
        session_factory: SessionFactory,
        messenger: Messenger,
        policy: Optional[EscalationPolicy] = None,
        *,
        max_attempts: int = 8,
        # The lease must outlast sending a whole batch (Telegram's timeout is ~15 s a message); it only delays
        # the re-send of the few messages that were in flight when a notifier died.
        lease: dt.timedelta = dt.timedelta(minutes=5),
        batch_size: int = 10,
        base_backoff_seconds: float = 2.0,
        max_backoff_seconds: float = 600.0,
        clinic_name: str = "the clinic",
        emergency_number: str = "your local emergency number",
        clinic_phone: str = "the clinic's phone number",
        max_rounds: int = 4,
        rng: Optional[random.Random] = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.session_factory = session_factory
        self.messenger = messenger
        self.policy = policy or EscalationPolicy()
        self.max_attempts = max_attempts
        self.lease = lease
        self.batch_size = batch_size
        self.base_backoff_seconds = base_backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.clinic_name = clinic_name
        self.emergency_number = emergency_number
        self.clinic_phone = clinic_phone
        # treating -> on call -> backup -> the patient's notice: enough rounds for a whole chain to fail over.
        self.max_rounds = max(1, max_rounds)
        self.rng = rng or random.Random()
        self.clock = clock

    @classmethod
    def from_settings(cls, settings: object, session_factory: SessionFactory, messenger: Messenger,
                      **kwargs: object) -> "Notifier":
        return cls(session_factory, messenger, EscalationPolicy.from_settings(settings),
                   clinic_name=getattr(settings, "clinic_name"),
                   emergency_number=getattr(settings, "emergency_number"),
                   clinic_phone=getattr(settings, "clinic_phone", "the clinic's phone number"),
                   **kwargs)  # type: ignore[arg-type]

    # The loop ------------------------------------------------------------------------------------------------
    async def run_forever(self, poll_interval: float = 2.0, stop: Optional[asyncio.Event] = None,
                          nudge: Optional[leases.Nudge] = None) -> None:
        """Poll until `stop` is set (or the task is cancelled), at once when nudged. Errors are logged, never fatal.

        The poll is the safety net (follow-ups, retries, alerts written while nobody nudged); the nudge after
        each answered patient message is what makes a new alert arrive right after the patient's reply."""
        await leases.poll_forever(lambda: self.run_once(self.clock()), self.batch_size, poll_interval, stop,
                                  "notifier", nudge)

    async def run_once(self, now: Optional[dt.datetime] = None) -> PassStats:
        now = now or self.clock()
        stats = PassStats()
        while stats.rounds < self.max_rounds:
            stats.rounds += 1
            failed_before = stats.failed
            stats.followups_queued += await asyncio.to_thread(self._schedule_followups, now)
            claimed, cancelled = await asyncio.to_thread(self._claim, now)
            stats.cancelled += cancelled
            stats.claimed += len(claimed)
            for delivery in claimed:
                outcome = await self._send(delivery)
                result = await asyncio.to_thread(self._record_outcome, delivery, outcome, now)
                setattr(stats, result, getattr(stats, result) + 1)
            if stats.failed == failed_before:
                break  # nobody newly unreachable: nothing else can have become due in this pass
        return stats

    # Steps -------------------------------------------------------------------------------------------------
    def _schedule_followups(self, now: dt.datetime) -> int:
        with UnitOfWork(self.session_factory) as uow:
            count = schedule_followups(uow, now, self.policy)
            uow.commit()
        return count

    def _claim(self, now: dt.datetime) -> Tuple[List[ClaimedDelivery], int]:
        token = uuid.uuid4().hex
        with UnitOfWork(self.session_factory) as uow:
            rows = self._claim_rows(uow.session, token, now)
            claimed: List[ClaimedDelivery] = []
            cancelled = 0
            for row in rows:
                if self._no_longer_needed(uow, row):
                    row.status, row.claim_token, row.claimed_until = "cancelled", None, None
                    repository.audit(uow, "alert_delivery", row.id, "cancelled", "system:notifier",
                                     {"reason": "escalation no longer open"}, now)
                    cancelled += 1
                    continue
                text, buttons = self._word(uow, row, now)
                claimed.append(ClaimedDelivery(row.id, token, row.chat_id, row.attempts, row.dedupe_key,
                                               text, buttons))
            uow.commit()
        return claimed, cancelled

    def _word(self, uow: UnitOfWork, row: AlertDelivery, now: dt.datetime) -> Tuple[str, Buttons]:
        try:
            # In a savepoint: on PostgreSQL a failed query would otherwise void the claim transaction too.
            with uow.session.begin_nested():
                if row.screening_id is not None:
                    return alerts.render_screening(repository.screening_alert_context(uow, row))
                context = repository.alert_context(uow, row, self.clinic_name, self.emergency_number)
            return alerts.render(dataclasses.replace(context, clinic_phone=self.clinic_phone), now)
        except Exception:
            # A bug or odd record must not block the alert (or, worse, the whole outbox): send a bare one.
            log.exception("could not word alert delivery %s; sending a minimal alert", row.id)
            if row.screening_id is not None:
                return alerts.render_minimal_screening(row.screening_id, row.kind, row.round)
            return alerts.render_minimal(row.escalation_id, row.kind, row.round, self.clinic_phone,
                                         self.emergency_number)

    def _claim_rows(self, session: Session, token: str, now: dt.datetime) -> List[AlertDelivery]:
        due = and_(AlertDelivery.status == "pending", AlertDelivery.next_attempt_at <= now)
        return leases.claim(session, AlertDelivery, due, (AlertDelivery.next_attempt_at, AlertDelivery.id), token,
                            now, self.lease, self.batch_size)

    @staticmethod
    def _no_longer_needed(uow: UnitOfWork, row: AlertDelivery) -> bool:
        # A reminder, backup or failover page for an escalation someone already acknowledged would only be noise,
        # and "nobody could be reached" would no longer be true.
        if row.kind not in ("realert", "backup", "failover", "unreachable_notice"):
            return False
        escalation = uow.session.get(Escalation, row.escalation_id)
        return escalation is None or escalation.state != "open"

    async def _send(self, delivery: ClaimedDelivery) -> object:
        return await send_once(self.messenger, delivery.chat_id, delivery.text, delivery.buttons)

    def _record_outcome(self, delivery: ClaimedDelivery, outcome: object, now: dt.datetime) -> str:
        """Write the result of one send. Returns the PassStats field to count it under."""
        with UnitOfWork(self.session_factory) as uow:
            row = leases.still_ours(uow.session, AlertDelivery, delivery.id, delivery.token)
            if row is None or row.status != "pending":
                # Our lease ran out and another notifier took the row over; it will record the outcome.
                log.debug("delivery %s changed hands before its outcome was recorded", delivery.id)
                return "lost_lease"
            result = self._apply_outcome(uow, row, outcome, now)
            uow.commit()
        return result

    def _apply_outcome(self, uow: UnitOfWork, row: AlertDelivery, outcome: object, now: dt.datetime) -> str:
        row.claim_token, row.claimed_until = None, None
        if isinstance(outcome, str):
            row.status, row.sent_at, row.external_message_id, row.last_error = "sent", now, outcome[:64], None
            repository.audit(uow, "alert_delivery", row.id, "sent", "system:notifier",
                             {"escalation_id": row.escalation_id, "kind": row.kind, "attempts": row.attempts}, now)
            return "sent"
        error = outcome if isinstance(outcome, SendError) else TransientSendError(repr(outcome))
        row.last_error = f"{type(error).__name__}: {error}"[:500]
        if isinstance(error, PermanentSendError) or row.attempts >= self.max_attempts:
            row.status = "failed"
            permanent = isinstance(error, PermanentSendError)
            # The error text is Telegram's ("Forbidden: bot was blocked by the user"), never the alert's words.
            repository.audit(uow, "alert_delivery", row.id, "failed", "system:notifier",
                             {"escalation_id": row.escalation_id, "kind": row.kind, "attempts": row.attempts,
                              "recipient": row.recipient, "permanent": permanent, "error": row.last_error}, now)
            log.error("alert delivery %s (escalation %s, %s, %s) gave up after %s attempts: %s%s",
                      row.id, row.escalation_id, row.kind, row.recipient, row.attempts, type(error).__name__,
                      " (the next recipient is paged now)" if row.escalation_id and row.practitioner_id else "")
            return "failed"
        row.next_attempt_at = now + dt.timedelta(seconds=self.retry_delay(row.attempts, error))
        log.info("alert delivery %s attempt %s failed (%s); retrying at %s",
                 row.id, row.attempts, type(error).__name__, row.next_attempt_at.isoformat())
        return "retried"

    def retry_delay(self, attempts: int, error: SendError) -> float:
        """Seconds to wait: exponential in the attempt number, jittered so that retries from many rows
        do not arrive together, and never shorter than a RetryAfter the messenger asked for."""
        backoff = min(self.max_backoff_seconds, self.base_backoff_seconds * 2 ** max(0, attempts - 1))
        delay = backoff * (0.5 + self.rng.random() / 2)
        if isinstance(error, RetryAfter):
            delay = max(delay, error.seconds + self.rng.random())
        return delay


# Terminal mode --------------------------------------------------------------------------------------------------
class ConsoleMessenger:
    """Prints alerts in a box on a stream: the practitioner's "phone" when running without Telegram."""

    def __init__(self, stream: IO[str], width: int = 72) -> None:
        self.stream = stream
        self.width = width
        self._count = 0

    async def send_alert(self, chat_id: int, text: str, buttons: Buttons) -> str:
        self._count += 1
        self.stream.write(self.boxed(f"message to chat {chat_id}", text, buttons or ()))
        self.stream.flush()
        return f"console-{self._count}"

    def boxed(self, title: str, text: str, buttons: Sequence[Tuple[str, str]]) -> str:
        inner = self.width - 4
        lines: List[str] = []
        for paragraph in text.splitlines() or [""]:
            lines.extend(textwrap.wrap(paragraph, inner) or [""])
        if buttons:
            lines.append("")
            lines.append("  ".join(f"[{label}: {data}]" for label, data in buttons))
        top = f"┌─ {title} " + "─" * max(0, self.width - len(title) - 5) + "┐"
        body = [f"│ {line.ljust(inner)} │" for line in lines]
        bottom = "└" + "─" * (self.width - 2) + "┘"
        return "\n" + "\n".join([top, *body, bottom]) + "\n"
