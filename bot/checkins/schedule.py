"""Which check-ins a treatment gets, and when. Pure: no database, no clock, no settings file.

    plan_checkins(performed_at, "face", (24, 72, 168), {"face": 180, "scalp": 90})
    -> [PlannedCheckin("24h", ...), PlannedCheckin("72h", ...), PlannedCheckin("1w", ...),
        PlannedCheckin("maintenance", performed_at + 180 days)]

The plan is stored as rows of scheduled_checkins when the patient is added (bot.usecases.checkins), and the
sender (bot.delivery.checkins) works from those rows. Keeping the schedule in the database rather than in an
in-memory job queue is what makes check-ins survive a restart.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import List, Mapping, Optional, Sequence

MAINTENANCE = "maintenance"
HOURS_PER_WEEK = 24 * 7


@dataclass(frozen=True)
class PlannedCheckin:
    kind: str  # "24h", "72h", "1w", "4w", "12w" ... or "maintenance"
    due_at: dt.datetime


def checkin_kind(hours: int) -> str:
    """A short, stable label for a check-in `hours` after treatment: "24h", "72h", "1w", "12w", "10d".

    Up to a week we count hours (that is how the aftercare guide talks about the first days), after that
    whole weeks or days. The label is stored in the database and shown to staff; the patient never sees it.
    """
    if hours < HOURS_PER_WEEK or hours % 24:
        return f"{hours}h"
    if hours % HOURS_PER_WEEK == 0:
        return f"{hours // HOURS_PER_WEEK}w"
    return f"{hours // 24}d"


def plan_checkins(
    performed_at: dt.datetime,
    area: str,
    checkin_hours: Sequence[int],
    maintenance_days: Optional[Mapping[str, int]] = None,
) -> List[PlannedCheckin]:
    """The check-ins for one treatment, earliest first.

    checkin_hours: hours after the treatment (e.g. settings.checkin_schedule_hours).
    maintenance_days: days after the treatment for the maintenance reminder, by area
    (e.g. {"face": 180, "scalp": 90}, settings.maintenance_reminder_days); a missing area or 0 = no reminder.
    """
    if performed_at.tzinfo is None:
        raise ValueError("performed_at must be timezone-aware")
    planned = [
        PlannedCheckin(checkin_kind(h), performed_at + dt.timedelta(hours=h))
        for h in sorted(set(checkin_hours))
        if h > 0
    ]
    days = (maintenance_days or {}).get(area) or 0
    if days > 0:
        planned.append(PlannedCheckin(MAINTENANCE, performed_at + dt.timedelta(days=days)))
    planned.sort(key=lambda p: p.due_at)
    return planned


def plan_from_settings(performed_at: dt.datetime, area: str, settings: object) -> List[PlannedCheckin]:
    """The plan with the clinic's configured schedule (a bot.settings.Settings)."""
    return plan_checkins(performed_at, area, settings.checkin_schedule_hours, settings.maintenance_reminder_days)
