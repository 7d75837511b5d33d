"""What the Telegram gateway needs from the rest of the system, as small Protocols ("ports").

The gateway never imports the store, the escalation service or the triage core directly: it is given objects
that have these methods (see `GatewayDeps`). The composition root wires real implementations; the tests and
the offline demo use the in-memory ones in bot/telegram/memory.py.

All methods are `async` so a slow database call never blocks the bot's event loop. An adapter over the
synchronous SQLAlchemy store can simply do `return await asyncio.to_thread(repository_call, ...)`.

When a service declines a request for a reason the person should hear ("this link code has expired",
"no escalation with id 12"), it raises `Refused` with a message that is safe to show them. Any other exception
is treated as a bug: it is logged and the person is told to phone the clinic.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, List, Optional, Protocol, Sequence, runtime_checkable


class Refused(Exception):
    """The service said no. `str(error)` is shown as is to the patient or practitioner who asked."""


@dataclass(frozen=True)
class LinkedPatient:
    """The patient record a Telegram chat is linked to."""

    id: int
    display_name: str


@dataclass(frozen=True)
class StaffMember:
    """A practitioner whose Telegram chat is registered with the clinic."""

    id: int
    name: str


@dataclass(frozen=True)
class EscalationOutcome:
    """The state of an escalation after a practitioner acted on it.

    state:   "open" | "acknowledged" | "resolved"
    changed: False when the action repeated an earlier one (pressed twice, or a colleague was faster)
    by_name: who acknowledged / resolved it, for the buttons ("Acknowledged by Dr Lee")
    """

    escalation_id: int
    state: str
    changed: bool
    by_name: Optional[str] = None


@dataclass(frozen=True)
class EscalationLine:
    """One row of the practitioner's /open list."""

    escalation_id: int
    level: str
    state: str
    patient_id: int
    patient_name: str
    created_at: dt.datetime


@runtime_checkable
class LinkService(Protocol):
    async def redeem(self, code: str, chat_id: int) -> str:
        """Link `chat_id` to the patient the one-time `code` was issued for; return the display name.

        Raises Refused (unknown / expired / already used code, chat linked to someone else).
        """

    async def patient_for_chat(self, chat_id: int) -> Optional[LinkedPatient]:
        """The patient linked to this chat, or None."""


@runtime_checkable
class CheckIns(Protocol):
    async def pause(self, patient_id: int) -> None:
        """Stop scheduled check-in messages for this patient (/stop)."""

    async def resume(self, patient_id: int) -> None:
        """Start them again (/resume)."""


@runtime_checkable
class PhotoStore(Protocol):
    async def attach(self, patient_id: int, file_id: str, caption: Optional[str]) -> None:
        """Keep Telegram's file_id of a photo the patient sent, so the practitioner can look at it."""


@runtime_checkable
class StaffDirectory(Protocol):
    async def practitioner_for_chat(self, chat_id: int) -> Optional[StaffMember]:
        """The practitioner registered with this chat id, or None for everybody else."""


@runtime_checkable
class EscalationService(Protocol):
    async def acknowledge(self, escalation_id: int, practitioner_id: int) -> EscalationOutcome:
        """Mark the escalation as seen. Raises Refused (unknown escalation, not allowed)."""

    async def resolve(self, escalation_id: int, practitioner_id: int, note: Optional[str] = None) -> EscalationOutcome:
        """Close the escalation (acknowledging it first if needed). Raises Refused."""

    async def open_escalations(self, practitioner_id: int) -> Sequence[EscalationLine]:
        """Escalations not resolved yet that this practitioner may see, oldest first."""

    async def patient_summary(self, patient_id: int, practitioner_id: int) -> str:
        """A short plain-text summary of a patient for staff (/patient ID). Raises Refused."""


@runtime_checkable
class FallbackTriage(Protocol):
    async def __call__(self, patient_id: int, text: str) -> List[str]:
        """Used when Rasa cannot answer: run the triage safety net on the text (recording and escalating as
        needed) and return the replies for the patient. A plain `async def fallback(patient_id, text)` fits.
        """


@dataclass(frozen=True)
class GatewayDeps:
    """Everything build_application() needs besides settings."""

    links: LinkService
    checkins: CheckIns
    photos: PhotoStore
    staff: StaffDirectory
    escalations: EscalationService
    fallback: FallbackTriage
    # Started with the bot (post_init) and given the Application: the notifier runs here in production.
    background: Optional[Callable[[Any], Awaitable[None]]] = None
    # Called after each patient message has been answered: alerts it caused can go out now (bot.store.leases.Nudge).
    answered: Optional[Callable[[], None]] = None
