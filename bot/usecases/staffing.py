"""Can a red flag reach a person? Who of the active practitioners can be alerted, and what is missing.

`aftercare doctor` shows it in full; the gateway warns at start (bot.telegram.app) when nobody at all, or nobody
standing in for the treating practitioner, has a Telegram chat id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence

from bot.store.uow import UnitOfWork
from bot.usecases import enrolment


@dataclass(frozen=True)
class Staff:
    """An active practitioner as the checks see it (no name: the output may end up in a ticket)."""

    id: int
    role: str
    chat_id: Optional[int]


def alerting_problems(staff: Sequence[Staff]) -> List[str]:
    """What stops alerts from reaching a person, from the active practitioners alone ([] when nothing does).
    Shared with the gateway's start-up warning."""
    reachable = [p for p in staff if p.chat_id is not None]
    fix = "add one with `.venv/bin/aftercare practitioner add --name ... --chat-id ... --role {role}`"
    if not reachable:
        return ["no active practitioner with a Telegram chat id: nobody can be alerted; " + fix.format(role="treating")]
    problems = []
    for role, why in (
        ("treating", "patients' alerts have nobody to go to first"),
        (
            "on_call",
            "nobody is paged when the treating practitioner cannot be reached, and emergencies reach one person only",
        ),
    ):
        if not any(p.role == role for p in reachable):
            problems.append(f"no active {role} practitioner with a chat id ({why}); " + fix.format(role=role))
    return problems


def active_staff(session_factory: object) -> List[Staff]:
    practitioners = enrolment.list_practitioners(UnitOfWork(session_factory), True)  # type: ignore[arg-type]
    return [Staff(p.id, p.role, p.telegram_chat_id) for p in practitioners]


def startup_warnings(session_factory: object) -> List[str]:
    """The gateway's start-up warning: nobody at all can be alerted, or nobody can stand in for the treating
    practitioner (no active on-call or backup practitioner with a chat id). [] when alerts can find a person."""
    reachable = [p for p in active_staff(session_factory) if p.chat_id is not None]
    if not reachable:
        return [
            "no active practitioner has a Telegram chat id: NOBODY can be alerted about a red flag. Add one: "
            "`.venv/bin/aftercare practitioner add --name ... --chat-id ... --role treating` "
            "(then run `.venv/bin/aftercare doctor`)"
        ]
    if not any(p.role in ("on_call", "backup") for p in reachable):
        return [
            "no active on-call or backup practitioner has a Telegram chat id: when the treating practitioner "
            "cannot be reached, nobody else is alerted. Add one with `.venv/bin/aftercare practitioner add "
            "--name ... --chat-id ... --role on_call` (then run `.venv/bin/aftercare doctor`)"
        ]
    return []
