"""Claiming work rows with a lease, so that several sender processes never send the same row twice.

Used by the alert notifier (alert_deliveries) and the check-in sender (scheduled_checkins): both tables carry
`claim_token`, `claimed_until` and `attempts`. A process claims due rows by writing its token and a lease end,
sends outside any transaction, then records the outcome only if the row still carries its token. If a process
dies, its lease runs out and another one claims the row again (at-least-once delivery).
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any, Awaitable, Callable, List, Optional, Sequence

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


def lease_free(model: Any, now: dt.datetime):
    """Rows nobody holds a live lease on."""
    return or_(model.claimed_until.is_(None), model.claimed_until <= now)


def claim(session: Session, model: Any, due, order_by: Sequence, token: str, now: dt.datetime,
          lease: dt.timedelta, batch_size: int) -> List[Any]:
    """Claim up to `batch_size` rows of `model` matching `due` (plus a free lease), oldest first."""
    due = and_(due, lease_free(model, now))
    lease_end = now + lease
    if session.get_bind().dialect.name == "postgresql":
        query = select(model).where(due).order_by(*order_by).limit(batch_size)
        rows = list(session.execute(query.with_for_update(skip_locked=True)).scalars())
        for row in rows:
            row.claim_token, row.claimed_until, row.attempts = token, lease_end, row.attempts + 1
        session.flush()
        return rows
    # SQLite (and anything else): claim in one UPDATE, then read back what carries our token.
    ids = select(model.id).where(due).order_by(*order_by).limit(batch_size)
    session.execute(
        update(model)
        .where(model.id.in_(ids.scalar_subquery()))
        .values(claim_token=token, claimed_until=lease_end, attempts=model.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return list(session.execute(select(model).where(model.claim_token == token).order_by(*order_by)).scalars())


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


async def poll_forever(run_pass: Callable[[], Awaitable[Any]], batch_size: int, poll_interval: float,
                       stop: Optional[asyncio.Event], label: str, nudge: Optional[Nudge] = None) -> None:
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


def still_ours(session: Session, model: Any, row_id: int, token: str) -> Optional[Any]:
    """The claimed row, locked for the outcome update, if it still carries our token; None when our lease ran out
    and another process took it over (that process records the outcome)."""
    query = select(model).where(model.id == row_id, model.claim_token == token).with_for_update()
    return session.execute(query).scalar_one_or_none()
