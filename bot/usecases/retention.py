"""Patients' data under control: erase one patient everywhere, and purge those inactive for longer than the
clinic keeps data (DATA_RETENTION_DAYS).

Erasing is two steps in two stores. First the clinic's records, in one transaction (_erase_records:
every row of the patient's, and a tombstone in the audit trail without health data); then the patient's Rasa
conversation (bot.store.conversations). When the conversation store cannot be reached the clinic's records are
erased all the same and the result says so (`conversation_error`): the caller must tell a person, and running
the erasure again later finishes the job (a patient whose records are already erased only has their conversation
erased).

`aftercare patient erase ID` and `aftercare purge` (bot.cli.admin) use this; so does the gateway, once a day,
through `RetentionPurger` (started in bot.bootstrap.gateway with the notifier).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Dict, List, Optional

from bot.store import errors, repository
from bot.store.conversations import ConversationStore, ConversationStoreUnavailable
from bot.store.models import utcnow
from bot.store.uow import UnitOfWork

log = logging.getLogger(__name__)

PURGE_INTERVAL = dt.timedelta(days=1)
SYSTEM_ACTOR = "system:retention"


@dataclass(frozen=True)
class Erasure:
    patient_id: int
    rows: Dict[str, int]  # rows deleted per table ({} when the records had been erased before)
    conversation_events: Optional[int]  # None when the conversation store was unreachable
    conversation_error: Optional[str] = None
    already_erased: bool = False

    @property
    def complete(self) -> bool:
        return self.conversation_error is None


@dataclass(frozen=True)
class PurgeResult:
    cutoff: Optional[dt.datetime]
    erased: List[Erasure] = field(default_factory=list)
    error: Optional[str] = None  # the purge could not decide (conversation store unreachable): nothing erased

    @property
    def complete(self) -> bool:
        return self.error is None and all(e.complete for e in self.erased)


def preview(session_factory, conversations: ConversationStore, patient_id: int) -> Dict[str, object]:
    """What erase() would remove, without removing anything: rows per table and the conversation's events."""
    with UnitOfWork(session_factory) as uow:
        rows = repository.patient_rows(uow, patient_id).counts
    try:
        events: object = conversations.count(patient_id)
    except ConversationStoreUnavailable as error:
        events = f"unknown: {error}"
    return {"rows": rows, "conversation_events": events}


def erase(
    session_factory,
    conversations: ConversationStore,
    patient_id: int,
    actor: str,
    reason: str = "request",
    now: Optional[dt.datetime] = None,
) -> Erasure:
    """Erase the patient's records (committed) and then their conversation. Raises UnknownPatient only for an id
    that never was a patient's (no tombstone)."""
    now = now or utcnow()
    with UnitOfWork(session_factory) as uow:
        try:
            rows = _erase_records(uow, patient_id, actor, reason, now)
            already = False
        except errors.UnknownPatient:
            if not repository.was_erased(uow, patient_id):
                raise
            rows, already = {}, True
        uow.commit()
    events: Optional[int]
    try:
        events, problem = conversations.erase(patient_id), None
    except ConversationStoreUnavailable as error:
        events, problem = None, str(error)
        log.error("patient %s: records erased, but the conversation was not: %s", patient_id, error)
    with UnitOfWork(session_factory) as uow:
        if events is None:
            repository.audit(
                uow, "patient", patient_id, "conversation_not_erased", actor, {"reason": "store unreachable"}, now
            )
        else:
            repository.audit(uow, "patient", patient_id, "conversation_erased", actor, {"events": events}, now)
        uow.commit()
    return Erasure(patient_id, rows, events, problem, already)


def _erase_records(uow: UnitOfWork, patient_id: int, actor: str, reason: str, now: dt.datetime) -> Dict[str, int]:
    """Delete every row of the patient's (repository.patient_rows) and leave one tombstone in the audit trail:
    entity "patient", their id, action "erased", who and when, and how many rows went per table (no name, no
    words, no health data). Returns those counts."""
    rows = repository.patient_rows(uow, patient_id)
    repository.delete_patient_rows(uow, rows)
    repository.audit(uow, "patient", patient_id, repository.ERASED, actor, {"reason": reason, "rows": rows.counts}, now)
    uow.flush()
    log.info("patient %s erased by %s (%s)", patient_id, actor, reason)
    return rows.counts


def due_for_purge(
    session_factory, conversations: ConversationStore, retention_days: int, now: Optional[dt.datetime] = None
) -> List[int]:
    """Patients whose last treatment, last message (to the clinic's records or in the conversation) and every
    other activity are older than `retention_days`. Raises ConversationStoreUnavailable: a patient who only chatted
    recently must not be purged because the conversation store could not be asked."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=retention_days)
    with UnitOfWork(session_factory) as uow:
        candidates = [
            patient_id
            for patient_id in repository.list_patient_ids(uow)
            if repository.last_activity(uow, patient_id) < cutoff
        ]
    due = []
    for patient_id in candidates:
        last_said = conversations.last_event_at(patient_id)
        if last_said is None or last_said < cutoff:
            due.append(patient_id)
    return due


def purge(
    session_factory,
    conversations: ConversationStore,
    retention_days: int,
    now: Optional[dt.datetime] = None,
    actor: str = SYSTEM_ACTOR,
    dry_run: bool = False,
) -> PurgeResult:
    """Erase every patient due_for_purge (retention_days 0 = keep everything: nothing happens)."""
    if retention_days <= 0:
        return PurgeResult(None)
    now = now or utcnow()
    cutoff = now - dt.timedelta(days=retention_days)
    try:
        due = due_for_purge(session_factory, conversations, retention_days, now)
    except ConversationStoreUnavailable as error:
        log.error("retention purge skipped: %s", error)
        return PurgeResult(cutoff, error=str(error))
    if dry_run:
        return PurgeResult(cutoff, [Erasure(patient_id, {}, None) for patient_id in due])
    erased = [
        erase(session_factory, conversations, patient_id, actor, reason="retention", now=now) for patient_id in due
    ]
    if erased:
        log.info("retention purge: %d patient(s) inactive since before %s erased", len(erased), cutoff.date())
    return PurgeResult(cutoff, erased)


Clock = Callable[[], dt.datetime]
Sleep = Callable[[float], Awaitable[None]]


class RetentionPurger:
    """Runs `purge` once a day in the gateway (first a minute after start). Never raises: a failed purge is
    logged and tried again the next day."""

    def __init__(
        self,
        session_factory,
        conversations: Optional[ConversationStore],
        retention_days: int,
        clock: Clock = utcnow,
        sleep: Sleep = asyncio.sleep,
        interval: dt.timedelta = PURGE_INTERVAL,
        first_delay: float = 60.0,
    ):
        self.session_factory = session_factory
        self.conversations = conversations
        self.retention_days = retention_days
        self.clock = clock
        self.sleep = sleep
        self.interval = interval
        self.first_delay = first_delay
        self.runs: List[PurgeResult] = []

    async def run_once(self) -> PurgeResult:
        if self.conversations is None:
            log.error("retention purge skipped: the conversation store is not configured")
            result = PurgeResult(None, error="the conversation store is not configured")
            self.runs.append(result)
            return result
        try:
            result = await asyncio.to_thread(
                purge, self.session_factory, self.conversations, self.retention_days, self.clock()
            )
        except Exception as error:  # the gateway must keep running; tomorrow's run tries again
            log.exception("retention purge failed")
            result = PurgeResult(None, error=f"{type(error).__name__}")
        self.runs.append(result)
        return result

    async def run_forever(self, stop: Optional[asyncio.Event] = None) -> None:
        if self.retention_days <= 0:
            return
        await self.sleep(self.first_delay)
        while stop is None or not stop.is_set():
            await self.run_once()
            await self.sleep(self.interval.total_seconds())
