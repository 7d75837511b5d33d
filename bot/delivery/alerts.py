"""Alerts as a kind of outbox message: `AlertSource` plugs the outbox (alert_deliveries) into the one outbox worker
(bot.outbox.worker), which claims, sends, retries and records; `Notifier` is that worker set up for alerts.

What is particular to alerts:
* PREPARE queues the reminders/backup alerts that have become due (bot.usecases.followups);
* a claimed reminder, backup, failover page or "nobody could be reached" notice whose escalation is no longer
  open is cancelled, not sent;
* the wording never blocks the outbox: when an alert cannot be worded, a minimal one (reference line and
  buttons) goes out;
* up to `max_rounds` rounds a pass: a delivery given up on makes the policy page the next recipient
  (`failover`), or, when nobody is left, tell the patient, in this same pass instead of the next poll.

Crash safety (the worker's): if the process dies after sending but before recording, the lease runs out and the
row is sent again. Both copies carry the same reference line ("ref E12/initial/0"), the dedupe key.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import random
from typing import Callable, Optional, Sequence, Tuple

from sqlalchemy import and_
from sqlalchemy.sql.elements import ColumnElement

from bot import views
from bot.escalation import alerts
from bot.escalation.policy import EscalationPolicy
from bot.outbox.errors import PermanentSendError, SendError
from bot.outbox.messenger import Buttons, Messenger
from bot.outbox.retry import RetryRule
from bot.outbox.worker import Message, OutboxWorker, PassStats
from bot.store import repository
from bot.store.models import AlertDelivery, Escalation, utcnow
from bot.store.uow import SessionFactory, UnitOfWork
from bot.usecases.followups import schedule_followups

log = logging.getLogger(__name__)

ACTOR = "system:notifier"
# A reminder, backup or failover page for an escalation someone already acknowledged would only be noise, and
# "nobody could be reached" would no longer be true.
ONLY_WHILE_OPEN = ("realert", "backup", "failover", "unreachable_notice")
# A practitioner's alerts that carry the report's photos after the text; a reminder (realert) goes to someone who
# already has them.
WITH_PHOTOS = ("initial", "backup", "failover")
Photos = Tuple[Tuple[str, str], ...]


class AlertSource:
    label = "alert delivery"
    model = AlertDelivery

    def __init__(self, policy: EscalationPolicy, clinic_name: str, emergency_number: str, clinic_phone: str) -> None:
        self.policy = policy
        self.clinic_name = clinic_name
        self.emergency_number = emergency_number
        self.clinic_phone = clinic_phone

    def prepare(self, uow: UnitOfWork, now: dt.datetime, stats: PassStats) -> None:
        stats.followups_queued += schedule_followups(uow, now, self.policy)

    def due(self, now: dt.datetime) -> ColumnElement:
        return and_(AlertDelivery.status == "pending", AlertDelivery.next_attempt_at <= now)

    def order_by(self) -> Sequence:
        return (AlertDelivery.next_attempt_at, AlertDelivery.id)

    def word(self, uow: UnitOfWork, row: AlertDelivery, now: dt.datetime) -> Optional[Message]:
        if row.kind in ONLY_WHILE_OPEN:
            escalation = uow.session.get(Escalation, row.escalation_id)
            if escalation is None or escalation.state != "open":
                row.status = "cancelled"
                repository.audit(
                    uow, "alert_delivery", row.id, "cancelled", ACTOR, {"reason": "escalation no longer open"}, now
                )
                return None
        if row.kind == "photo":
            return self._forwarded_photo(uow, row, now)
        text, buttons, photos = self._text(uow, row, now)
        return Message(row.chat_id, text, buttons, row.dedupe_key, photos=photos)

    def _forwarded_photo(self, uow: UnitOfWork, row: AlertDelivery, now: dt.datetime) -> Optional[Message]:
        """A photo the patient sent after the alert: the photo itself, with a short caption."""
        with uow.session.begin_nested():
            file_id = views.forwarded_photo(uow, row)
        if file_id is None:
            row.status = "cancelled"
            repository.audit(uow, "alert_delivery", row.id, "cancelled", ACTOR, {"reason": "photo not on record"}, now)
            return None
        caption = alerts.render_forwarded_photo(row.escalation_id, row.round)
        return Message(row.chat_id, caption, None, row.dedupe_key, photo=file_id)

    def _text(self, uow: UnitOfWork, row: AlertDelivery, now: dt.datetime) -> Tuple[str, Buttons, Photos]:
        """The text and buttons, and the photos to send after it (a practitioner's first alert from this row's
        kind: not a reminder, which goes to someone who already has them)."""
        try:
            # In a savepoint: on PostgreSQL a failed query would otherwise void the claim transaction too.
            with uow.session.begin_nested():
                if row.screening_id is not None:
                    return (*alerts.render_screening(views.screening_alert_context(uow, row)), ())
                context = views.alert_context(uow, row, self.clinic_name, self.emergency_number)
            text, buttons = alerts.render(dataclasses.replace(context, clinic_phone=self.clinic_phone), now)
            photos: Photos = ()
            if row.practitioner_id is not None and row.kind in WITH_PHOTOS and context.photo_file_ids:
                captions = alerts.photo_captions(row.escalation_id, len(context.photo_file_ids))
                photos = tuple(zip(context.photo_file_ids, captions))
            return text, buttons, photos
        except Exception:
            # A bug or odd record must not block the alert (or, worse, the whole outbox): send a bare one.
            log.exception("could not word alert delivery %s; sending a minimal alert", row.id)
            if row.screening_id is not None:
                return (*alerts.render_minimal_screening(row.screening_id, row.kind, row.round), ())
            text, buttons = alerts.render_minimal(
                row.escalation_id, row.kind, row.round, self.clinic_phone, self.emergency_number
            )
            return text, buttons, ()

    def still_pending(self, row: AlertDelivery) -> bool:
        return row.status == "pending"

    def record_sent(self, uow: UnitOfWork, row: AlertDelivery, message_id: str, now: dt.datetime) -> None:
        row.status, row.sent_at, row.external_message_id = "sent", now, message_id[:64]
        repository.audit(
            uow,
            "alert_delivery",
            row.id,
            "sent",
            ACTOR,
            {"escalation_id": row.escalation_id, "kind": row.kind, "attempts": row.attempts},
            now,
        )

    def record_retry(self, row: AlertDelivery, when: dt.datetime) -> None:
        row.next_attempt_at = when

    def record_given_up(self, uow: UnitOfWork, row: AlertDelivery, error: SendError, now: dt.datetime) -> None:
        row.status = "failed"
        permanent = isinstance(error, PermanentSendError)
        repository.audit(
            uow,
            "alert_delivery",
            row.id,
            "failed",
            ACTOR,
            {
                "escalation_id": row.escalation_id,
                "kind": row.kind,
                "attempts": row.attempts,
                "recipient": row.recipient,
                "permanent": permanent,
                "error": row.last_error,
            },
            now,
        )
        log.error(
            "alert delivery %s (escalation %s, %s, %s) gave up after %s attempts: %s%s",
            row.id,
            row.escalation_id,
            row.kind,
            row.recipient,
            row.attempts,
            type(error).__name__,
            " (the next recipient is paged now)"
            if row.escalation_id and row.practitioner_id and row.kind != "photo"
            else "",
        )


class Notifier(OutboxWorker):
    """The outbox worker delivering alerts. Polls every 2 s, and at once when nudged (bot.outbox.worker.Nudge)."""

    poll_interval = 2.0

    def __init__(
        self,
        session_factory: SessionFactory,
        messenger: Messenger,
        policy: Optional[EscalationPolicy] = None,
        *,
        max_attempts: int = 8,
        lease: dt.timedelta = dt.timedelta(minutes=5),
        batch_size: int = 10,
        base_backoff_seconds: float = 2.0,
        max_backoff_seconds: float = 600.0,
        clinic_name: str = "the clinic",
        emergency_number: str = "your local emergency number",
        clinic_phone: str = "the clinic's phone number",
        # treating -> on call -> backup -> the patient's notice: enough rounds for a whole chain to fail over.
        max_rounds: int = 4,
        rng: Optional[random.Random] = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        source = AlertSource(policy or EscalationPolicy(), clinic_name, emergency_number, clinic_phone)
        super().__init__(
            session_factory,
            messenger,
            source,
            RetryRule(base_backoff_seconds, max_backoff_seconds, max_attempts),
            lease=lease,
            batch_size=batch_size,
            max_rounds=max_rounds,
            rng=rng,
            clock=clock,
        )
        self.alerts = source

    @property
    def policy(self) -> EscalationPolicy:
        return self.alerts.policy

    @property
    def clinic_name(self) -> str:
        return self.alerts.clinic_name

    @classmethod
    def from_settings(
        cls, settings: object, session_factory: SessionFactory, messenger: Messenger, **kwargs: object
    ) -> "Notifier":
        return cls(
            session_factory,
            messenger,
            EscalationPolicy.from_settings(settings),
            clinic_name=settings.clinic_name,
            emergency_number=settings.emergency_number,
            clinic_phone=getattr(settings, "clinic_phone", "the clinic's phone number"),
            **kwargs,
        )  # type: ignore[arg-type]
