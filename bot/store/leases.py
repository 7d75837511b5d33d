"""Claiming work rows with a lease, so that several sender processes never send the same row twice.

Used by the outbox worker (bot.outbox.worker) for both of its tables, alert_deliveries and scheduled_checkins:
both carry `claim_token`, `claimed_until` and `attempts`. A process claims due rows by writing its token and a
lease end, sends outside any transaction, then records the outcome only if the row still carries its token. If a process
dies, its lease runs out and another one claims the row again (at-least-once delivery).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, List, Optional, Sequence

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session


def lease_free(model: Any, now: dt.datetime):
    """Rows nobody holds a live lease on."""
    return or_(model.claimed_until.is_(None), model.claimed_until <= now)


def claim(
    session: Session,
    model: Any,
    due,
    order_by: Sequence,
    token: str,
    now: dt.datetime,
    lease: dt.timedelta,
    batch_size: int,
) -> List[Any]:
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


def still_ours(session: Session, model: Any, row_id: int, token: str) -> Optional[Any]:
    """The claimed row, locked for the outcome update, if it still carries our token; None when our lease ran out
    and another process took it over (that process records the outcome)."""
    query = select(model).where(model.id == row_id, model.claim_token == token).with_for_update()
    return session.execute(query).scalar_one_or_none()
