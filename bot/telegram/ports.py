"""What the Telegram gateway needs from the rest of the system, as small Protocols ("ports").

The gateway's handlers never import the store, the escalation service or the triage core: they are given objects
that have these methods (see `GatewayDeps`). The composition root (bot.bootstrap.gateway) wires the real
implementations; the tests and the offline demo use the in-memory ones in bot/telegram/memory.py.

All methods are `async` so a slow database call never blocks the bot's event loop. An adapter over the
synchronous SQLAlchemy store runs a use case (bot.usecases) in a worker thread (bot.bootstrap.gateway).

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


class RefusedAnswer(Refused):
    """The service said no because of one answer in a dialog (`field`: "patient" or "when"): show the message and
    ask for that answer again."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


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
class PatientPhoto:
    """A photo a patient sent, by Telegram's file id (the bot never downloads it)."""

    file_id: str
    received_at: dt.datetime
    caption: Optional[str] = None


@dataclass(frozen=True)
class RegisteredPatient:
    """A patient registered from Telegram (/newpatient), with the one-time code that links their chat."""

    patient_id: int
    treatment_id: int
    display_name: str
    link_code: str
    link_expires_at: dt.datetime


@dataclass(frozen=True)
class BookedAppointment:
    """A planned treatment booked from Telegram (/appointment)."""

    appointment_id: int
    patient_id: int
    scheduled_at: dt.datetime


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

    async def patient_photos(self, patient_id: int, practitioner_id: int) -> Sequence[PatientPhoto]:
        """The patient's newest photos, oldest of them first, for /patient ID (the read is audited). Raises Refused."""


@runtime_checkable
class Onboarding(Protocol):
    """Registering patients and booking appointments from a practitioner's chat (/newpatient, /appointment).
    `by` is the id of the practitioner who asks (the audit trail's actor)."""

    async def practitioners(self) -> Sequence[StaffMember]:
        """The active practitioners, to choose the treating one from."""

    async def register_patient(
        self, name: str, performed_at: dt.datetime, area: str, method: str, practitioner_id: int, by: int
    ) -> RegisteredPatient:
        """Register the patient and their treatment (check-ins scheduled) and issue their link code.
        Raises RefusedAnswer (a time in the future: field "when") or Refused."""

    async def book_appointment(
        self, patient_id: int, scheduled_at: dt.datetime, area: str, method: str, practitioner_id: int, by: int
    ) -> BookedAppointment:
        """Book a planned treatment (the preparation guidance is scheduled before it). Raises RefusedAnswer (a time
        not in the future: field "when"; an unknown patient: field "patient") or Refused."""


@dataclass(frozen=True)
class RelayAttempt:
    """What the gateway sent to Rasa before Rasa failed to answer it.

    Rasa may have received the message and run the triage action, which records the report and queues the alert,
    before failing (the action server crashing after the commit, an HTTP error, a timeout). The safety net looks
    for that record so that one message never opens two escalations.

    message:   exactly what was sent to Rasa (the report Rasa's action records ends with it)
    sent_at:   UTC, taken just before sending
    timed_out: we stopped waiting for Rasa; an action already running may still commit shortly after
    """

    message: str
    sent_at: dt.datetime
    timed_out: bool = False


@runtime_checkable
class FallbackTriage(Protocol):
    async def __call__(self, patient_id: int, text: str, attempt: Optional[RelayAttempt] = None) -> List[str]:
        """Used when Rasa cannot answer: run the triage safety net on the text (recording and escalating as
        needed, unless Rasa's own action already recorded this message: see RelayAttempt) and return the replies
        for the patient. `attempt` is None when Rasa never received the message.
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
    # Called after each patient message has been answered: alerts it caused can go out now (bot.outbox.worker.Nudge).
    answered: Optional[Callable[[], None]] = None
    # Asked after Rasa answered a patient's message: False when Rasa's answer cannot stand (the message's words
    # escalate but Rasa's triage recorded nothing for it, e.g. the action server is down and Rasa answered with its
    # fallback utterance); the gateway then treats it like a failed answer and the safety net takes over.
    answer_check: Optional[Callable[[int, str, RelayAttempt], Awaitable[bool]]] = None
    # /newpatient and /appointment; None: those commands say they are not available here.
    onboarding: Optional[Onboarding] = None
