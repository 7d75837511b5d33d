"""The outbox worker: ONE loop delivering every message the bot sends on its own (practitioners' alerts,
patients' check-ins and preparation guidance), at least once, whatever the kind.

A kind of message is a `Source` (bot.delivery.alerts.AlertSource, bot.delivery.checkins.CheckinSource): it
says which rows of its table are due, words a row, and writes what happened. Everything else is here, once:

One pass (`run_once(now)`), in rounds:
1. PREPARE: the source's housekeeping in its own transaction (alerts: queue the reminders/backups that fell
   due; check-ins: skip the stale ones);
2. CLAIM up to `batch_size` due rows under a lease (bot.store.leases: a claim token, `claimed_until`, the
   attempt counted). PostgreSQL: SELECT ... FOR UPDATE SKIP LOCKED; SQLite: one atomic UPDATE. Each claimed row
   is worded in the same transaction (or cancelled by the source when no longer needed);
3. SEND each through the `Messenger` port, outside any transaction (a slow network never holds database locks);
4. RECORD the outcome, only if the row still carries our claim token (if our lease ran out meanwhile, the worker
   that took the row over records it: "lost_lease"): sent; or a retry time from the ONE retry rule
   (bot.outbox.retry: exponential backoff with jitter, at least what RetryAfter asked for, a cap); or given up
   (permanent error or out of attempts);
5. if something was given up on in this round and the source allows more rounds (alerts: the next recipient
   is paged at once), go back to 1.

Dedupe: a row is one message to one recipient, made unique by the source's table (alerts: escalation or
screening, recipient, kind, round; check-ins: the row), and the claim token makes the row ours alone until its
lease runs out. If a worker dies between sending and recording, the lease runs out and the row is sent again
(at least once); the copy carries the same `dedupe_key` (alerts print it as their reference line).

The database steps are synchronous SQLAlchemy run in a worker thread (asyncio.to_thread), so the event loop
(the Telegram gateway shares it) never waits on a database lock. Message texts are never logged.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import uuid
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, List, Optional, Protocol, Sequence, Tuple

from sqlalchemy.sql.elements import ColumnElement

from bot.outbox.errors import SendError, TransientSendError
from bot.outbox.messenger import Buttons, Messenger, send_once, send_photos
from bot.outbox.retry import RetryRule
from bot.store import leases
from bot.store.models import utcnow
from bot.store.uow import SessionFactory, UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    """What a source worded for one row."""

    chat_id: int
    text: str
    buttons: Buttons
    dedupe_key: str  # the same for every copy of this message (a re-send after a crash carries it too)
    # The message is this photo (a Telegram file id) with `text` as its caption (a photo forwarded to a practitioner).
    photo: Optional[str] = None
    # (file id, caption) of photos sent after the text once it went out, best effort: a photo that cannot be sent is
    # logged and skipped; it never fails, retries or repeats the text.
    photos: Tuple[Tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Claimed:
    """A row this worker holds the lease on, with its message already worded."""

    id: int
    token: str
    attempts: int
    message: Message


@dataclass
class PassStats:
    """What one `run_once` did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0  # given up on (alerts: status "failed"; check-ins: skipped as undeliverable)
    cancelled: int = 0  # claimed but no longer needed (an alert's escalation was closed meanwhile)
    lost_lease: int = 0  # sent, but another worker had taken the row over meanwhile (it records the outcome)
    rounds: int = 0  # prepare/claim/send rounds (more than one when a give-up made someone else due at once)
    followups_queued: int = 0  # alerts' PREPARE: reminders, backups and failover pages queued
    skipped: int = 0  # check-ins' PREPARE: stale ones skipped (a later one was due too, the appointment began)
    photos_sent: int = 0  # photos sent after an alert's text (Message.photos)
    photos_failed: int = 0  # ... and those that could not be sent (logged, not retried)


class Source(Protocol):
    """One kind of outbox row. `model` has id, attempts, claim_token, claimed_until and last_error columns."""

    label: str  # for logs: "alert delivery", "check-in"
    model: Any

    def prepare(self, uow: UnitOfWork, now: dt.datetime, stats: PassStats) -> None:
        """Housekeeping before claiming, in its own transaction; counts what it did in `stats`."""

    def due(self, now: dt.datetime) -> ColumnElement:
        """Rows ready to be sent at `now` (the lease is checked by the worker)."""

    def order_by(self) -> Sequence[Any]:
        """Oldest first."""

    def word(self, uow: UnitOfWork, row: Any, now: dt.datetime) -> Optional[Message]:
        """The message for a claimed row; None when it is no longer needed (the source has marked the row)."""

    def still_pending(self, row: Any) -> bool:
        """Whether a row that still carries our token may take an outcome."""

    def record_sent(self, uow: UnitOfWork, row: Any, message_id: str, now: dt.datetime) -> None: ...

    def record_retry(self, row: Any, when: dt.datetime) -> None:
        """Make the row due again at `when`, not sooner."""

    def record_given_up(self, uow: UnitOfWork, row: Any, error: SendError, now: dt.datetime) -> None: ...


class OutboxWorker:
    poll_interval: float = 2.0

    def __init__(
        self,
        session_factory: SessionFactory,
        messenger: Messenger,
        source: Source,
        retry: RetryRule,
        *,
        # The lease must outlast sending a whole batch (Telegram's timeout is ~15 s a message); it only delays the
        # re-send of the few messages that were in flight when a worker died.
        lease: dt.timedelta = dt.timedelta(minutes=5),
        batch_size: int = 10,
        max_rounds: int = 1,
        rng: Optional[random.Random] = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.session_factory = session_factory
        self.messenger = messenger
        self.source = source
        self.retry = retry
        self.lease = lease
        self.batch_size = batch_size
        self.max_rounds = max(1, max_rounds)
        self.rng = rng or random.Random()
        self.clock = clock

    # The loop ------------------------------------------------------------------------------------------------
    async def run_forever(
        self,
        poll_interval: Optional[float] = None,
        stop: Optional[asyncio.Event] = None,
        nudge: Optional["Nudge"] = None,
    ) -> None:
        """Poll until `stop` is set (or the task is cancelled), at once when nudged. Errors are logged, never fatal."""
        await poll_forever(
            lambda: self.run_once(self.clock()),
            self.batch_size,
            self.poll_interval if poll_interval is None else poll_interval,
            stop,
            self.source.label,
            nudge,
        )

    async def run_once(self, now: Optional[dt.datetime] = None) -> PassStats:
        now = now or self.clock()
        stats = PassStats()
        while stats.rounds < self.max_rounds:
            stats.rounds += 1
            failed_before = stats.failed
            await asyncio.to_thread(self._prepare, now, stats)
            claimed = await asyncio.to_thread(self.claim, now, stats)
            for item in claimed:
                message = item.message
                outcome = await send_once(
                    self.messenger, message.chat_id, message.text, message.buttons, photo=message.photo
                )
                result = await asyncio.to_thread(self._record_outcome, item, outcome, now)
                setattr(stats, result, getattr(stats, result) + 1)
                if isinstance(outcome, str) and message.photos:  # the text went out (and is on record): its photos
                    sent = await send_photos(
                        self.messenger, message.chat_id, message.photos, f"{self.source.label} {item.id}"
                    )
                    stats.photos_sent += sent
                    stats.photos_failed += len(message.photos) - sent
            if stats.failed == failed_before:
                break  # nobody newly unreachable: nothing else can have become due in this pass
        return stats

    # Steps -------------------------------------------------------------------------------------------------
    def _prepare(self, now: dt.datetime, stats: PassStats) -> None:
        with UnitOfWork(self.session_factory) as uow:
            self.source.prepare(uow, now, stats)
            uow.commit()

    def claim(self, now: dt.datetime, stats: Optional[PassStats] = None) -> List[Claimed]:
        """Claim and word a batch of due rows (counted in `stats`). The lease is ours once this returns."""
        stats = stats if stats is not None else PassStats()
        token = uuid.uuid4().hex
        model = self.source.model
        with UnitOfWork(self.session_factory) as uow:
            rows = leases.claim(
                uow.session,
                model,
                self.source.due(now),
                self.source.order_by(),
                token,
                now,
                self.lease,
                self.batch_size,
            )
            claimed: List[Claimed] = []
            for row in rows:
                message = self.source.word(uow, row, now)
                if message is None:
                    row.claim_token, row.claimed_until = None, None
                    stats.cancelled += 1
                    continue
                claimed.append(Claimed(row.id, token, row.attempts, message))
            uow.commit()
        stats.claimed += len(claimed)
        return claimed

    def _record_outcome(self, item: Claimed, outcome: object, now: dt.datetime) -> str:
        """Write the result of one send. Returns the PassStats field to count it under."""
        with UnitOfWork(self.session_factory) as uow:
            row = leases.still_ours(uow.session, self.source.model, item.id, item.token)
            if row is None or not self.source.still_pending(row):
                # Our lease ran out and another worker took the row over; it records the outcome.
                log.debug("%s %s changed hands before its outcome was recorded", self.source.label, item.id)
                return "lost_lease"
            result = self._apply_outcome(uow, row, outcome, now)
            uow.commit()
        return result

    def _apply_outcome(self, uow: UnitOfWork, row: Any, outcome: object, now: dt.datetime) -> str:
        row.claim_token, row.claimed_until = None, None
        if isinstance(outcome, str):
            row.last_error = None
            self.source.record_sent(uow, row, outcome, now)
            return "sent"
        error = outcome if isinstance(outcome, SendError) else TransientSendError(repr(outcome))
        # The error text is the messenger's ("Forbidden: bot was blocked by the user"), never the message's words.
        row.last_error = f"{type(error).__name__}: {error}"[:500]
        delay = self.retry.delay(row.attempts, error, self.rng.random())
        if delay is None:
            self.source.record_given_up(uow, row, error, now)
            return "failed"
        when = now + dt.timedelta(seconds=delay)
        self.source.record_retry(row, when)
        log.info(
            "%s %s attempt %s failed (%s); retrying at %s",
            self.source.label,
            row.id,
            row.attempts,
            type(error).__name__,
            when.isoformat(),
        )
        return "retried"


# Polling -------------------------------------------------------------------------------------------------------
class Nudge:
    """Cuts a poller's sleep short. Alerts are written by another process (the action server), so the poller
    cannot see them appear; but the gateway knows when a patient's message has just been answered, and an
    answer is exactly when alert rows may have been committed. Nudging then sends the alert at once instead of
    up to a poll interval later. Calling it is cheap and safe from the event loop's thread."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def __call__(self) -> None:
        self._event.set()

    def clear(self) -> None:
        self._event.clear()

    async def wait(self) -> None:
        await self._event.wait()


async def poll_forever(
    run_pass: Callable[[], Awaitable[Any]],
    batch_size: int,
    poll_interval: float,
    stop: Optional[asyncio.Event],
    label: str,
    nudge: Optional[Nudge] = None,
) -> None:
    """Run `run_pass` until `stop` is set (or the task is cancelled); errors are logged, never fatal.

    A pass that claimed a full batch is followed at once by the next one: more rows may be waiting. Between
    passes it sleeps `poll_interval`, or less when nudged."""
    stop = stop or asyncio.Event()
    while not stop.is_set():
        if nudge is not None:
            nudge.clear()  # before the pass: a nudge that arrives during it is not lost, it runs another pass
        claimed = 0
        try:
            claimed = (await run_pass()).claimed
        except Exception:  # a database hiccup must not stop sending for good
            log.exception("%s pass failed; retrying in %.0fs", label, poll_interval)
        if claimed >= batch_size:
            continue
        await _sleep(poll_interval, stop, nudge)


async def _sleep(seconds: float, stop: asyncio.Event, nudge: Optional[Nudge]) -> None:
    """Sleep until `seconds` pass, `stop` is set or `nudge` is called, whichever is first."""
    waiters = [asyncio.ensure_future(stop.wait())]
    if nudge is not None:
        waiters.append(asyncio.ensure_future(nudge.wait()))
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
