"""In-memory implementations of the gateway's ports (bot/telegram/ports.py).

Used by the integration tests and by the offline demo (`python -m bot.run.gateway --demo`). They keep what
they were asked to do in plain lists so a test can assert on it. Nothing here is fit for real patient data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from bot.escalation import states
from bot.escalation.states import EscalationState
from bot.telegram.ports import (
    BookedAppointment,
    EscalationLine,
    EscalationOutcome,
    GatewayDeps,
    LinkedPatient,
    PatientPhoto,
    Refused,
    RefusedAnswer,
    RegisteredPatient,
    RelayAttempt,
    StaffMember,
)


@dataclass
class MemoryLinks:
    codes: Dict[str, LinkedPatient] = field(default_factory=dict)  # code -> patient it links
    chats: Dict[int, LinkedPatient] = field(default_factory=dict)  # chat id -> linked patient
    used: Dict[str, int] = field(default_factory=dict)  # code -> chat that redeemed it

    async def redeem(self, code: str, chat_id: int) -> str:
        patient = self.codes.get(code)
        if patient is None:
            raise Refused("This link code is not valid. Please ask the clinic for a new link.")
        if code in self.used and self.used[code] != chat_id:
            raise Refused("This link code has already been used. Please ask the clinic for a new link.")
        self.used[code] = chat_id
        self.chats[chat_id] = patient
        return patient.display_name

    async def patient_for_chat(self, chat_id: int) -> Optional[LinkedPatient]:
        return self.chats.get(chat_id)


@dataclass
class MemoryCheckIns:
    paused: set = field(default_factory=set)

    async def pause(self, patient_id: int) -> None:
        self.paused.add(patient_id)

    async def resume(self, patient_id: int) -> None:
        self.paused.discard(patient_id)


@dataclass
class MemoryPhotos:
    attached: List[Tuple[int, str, Optional[str]]] = field(default_factory=list)

    async def attach(self, patient_id: int, file_id: str, caption: Optional[str]) -> None:
        self.attached.append((patient_id, file_id, caption))


@dataclass
class MemoryStaff:
    by_chat: Dict[int, StaffMember] = field(default_factory=dict)

    async def practitioner_for_chat(self, chat_id: int) -> Optional[StaffMember]:
        return self.by_chat.get(chat_id)


@dataclass
class _Escalation:
    line: EscalationLine
    acknowledged_by: Optional[str] = None
    resolved_by: Optional[str] = None
    note: Optional[str] = None


@dataclass
class MemoryEscalations:
    staff: MemoryStaff
    items: Dict[int, _Escalation] = field(default_factory=dict)
    actions: List[Tuple[str, int, int]] = field(default_factory=list)  # (action, escalation id, practitioner id)
    patients: Dict[int, str] = field(default_factory=dict)  # patient id -> summary text
    photos: Dict[int, List[PatientPhoto]] = field(default_factory=dict)  # patient id -> their photos
    photo_reads: List[Tuple[int, int]] = field(default_factory=list)  # (patient id, practitioner id), like the audit

    def add(self, escalation_id: int, patient_id: int, patient_name: str, level: str = "urgent") -> None:
        self.items[escalation_id] = _Escalation(
            EscalationLine(
                escalation_id,
                level,
                EscalationState.OPEN.value,
                patient_id,
                patient_name,
                dt.datetime.now(dt.timezone.utc),
            )
        )

    def _name(self, practitioner_id: int) -> str:
        return next((m.name for m in self.staff.by_chat.values() if m.id == practitioner_id), f"#{practitioner_id}")

    def _get(self, escalation_id: int) -> _Escalation:
        if escalation_id not in self.items:
            raise Refused(f"No escalation with id {escalation_id}.")
        return self.items[escalation_id]

    def _set_state(self, item: _Escalation, state: str) -> None:
        line = item.line
        item.line = EscalationLine(
            line.escalation_id, line.level, state, line.patient_id, line.patient_name, line.created_at
        )

    async def acknowledge(self, escalation_id: int, practitioner_id: int) -> EscalationOutcome:
        self.actions.append(("acknowledge", escalation_id, practitioner_id))
        return self._apply(states.acknowledge, escalation_id, practitioner_id, None)

    async def resolve(self, escalation_id: int, practitioner_id: int, note: Optional[str] = None) -> EscalationOutcome:
        self.actions.append(("resolve", escalation_id, practitioner_id))
        return self._apply(states.resolve, escalation_id, practitioner_id, note)

    def _apply(self, action, escalation_id: int, practitioner_id: int, note: Optional[str]) -> EscalationOutcome:
        """The same state machine as the store's (bot.escalation.states)."""
        item = self._get(escalation_id)
        transition: states.Transition = action(item.line.state)
        if not transition.changed:
            return EscalationOutcome(escalation_id, item.line.state, False, item.resolved_by or item.acknowledged_by)
        name = self._name(practitioner_id)
        if transition.acknowledges:
            item.acknowledged_by = name
        if transition.after is EscalationState.RESOLVED:
            item.resolved_by, item.note = name, note
        self._set_state(item, transition.after.value)
        return EscalationOutcome(escalation_id, transition.after.value, True, name)

    async def open_escalations(self, practitioner_id: int) -> Sequence[EscalationLine]:
        return [item.line for item in self.items.values() if item.line.state in states.UNRESOLVED]

    async def patient_summary(self, patient_id: int, practitioner_id: int) -> str:
        if patient_id not in self.patients:
            raise Refused(f"No patient with id {patient_id}.")
        return self.patients[patient_id]

    async def patient_photos(self, patient_id: int, practitioner_id: int) -> Sequence[PatientPhoto]:
        if patient_id not in self.patients:
            raise Refused(f"No patient with id {patient_id}.")
        self.photo_reads.append((patient_id, practitioner_id))
        return list(self.photos.get(patient_id, ()))[-10:]


@dataclass
class MemoryOnboarding:
    """Registers patients and books appointments in lists. Times are checked like the use cases do: a treatment
    must not be in the future, an appointment must be; an unknown patient is refused."""

    staff: MemoryStaff
    others: List[StaffMember] = field(default_factory=list)  # active practitioners without a chat here
    known_patients: set = field(default_factory=set)  # patient ids /appointment may book for
    registered: List[Tuple[RegisteredPatient, str, str, int, int]] = field(default_factory=list)
    booked: List[Tuple[BookedAppointment, str, str, int, int]] = field(default_factory=list)

    async def practitioners(self) -> Sequence[StaffMember]:
        return sorted({*self.staff.by_chat.values(), *self.others}, key=lambda member: member.id)

    async def register_patient(
        self, name: str, performed_at: dt.datetime, area: str, method: str, practitioner_id: int, by: int
    ) -> RegisteredPatient:
        now = dt.datetime.now(dt.timezone.utc)
        if performed_at > now + dt.timedelta(minutes=5):
            raise RefusedAnswer(f"Treatment time {performed_at.isoformat()} is in the future.", "when")
        patient_id = 100 + len(self.registered) + len(self.known_patients)
        new = RegisteredPatient(patient_id, patient_id, name, f"CODE{patient_id}", now + dt.timedelta(hours=72))
        self.known_patients.add(patient_id)
        self.registered.append((new, area, method, practitioner_id, by))
        return new

    async def book_appointment(
        self, patient_id: int, scheduled_at: dt.datetime, area: str, method: str, practitioner_id: int, by: int
    ) -> BookedAppointment:
        if patient_id not in self.known_patients:
            raise RefusedAnswer(f"No patient with id {patient_id}.", "patient")
        if scheduled_at <= dt.datetime.now(dt.timezone.utc):
            raise RefusedAnswer(f"Appointment time {scheduled_at.isoformat()} is not in the future.", "when")
        booked = BookedAppointment(len(self.booked) + 1, patient_id, scheduled_at)
        self.booked.append((booked, area, method, practitioner_id, by))
        return booked


@dataclass
class MemoryFallback:
    """Stands in for the triage safety net: records what it was asked and gives a fixed answer."""

    calls: List[Tuple[int, str]] = field(default_factory=list)
    attempts: List[Optional[RelayAttempt]] = field(default_factory=list)  # one per call, None if Rasa never got it
    replies: List[str] = field(default_factory=lambda: ["Thank you, I have recorded your message."])

    async def __call__(self, patient_id: int, text: str, attempt: Optional[RelayAttempt] = None) -> List[str]:
        self.calls.append((patient_id, text))
        self.attempts.append(attempt)
        return list(self.replies)


@dataclass
class MemoryDeps:
    """All the fakes together; `.deps` is what build_application() takes."""

    links: MemoryLinks = field(default_factory=MemoryLinks)
    checkins: MemoryCheckIns = field(default_factory=MemoryCheckIns)
    photos: MemoryPhotos = field(default_factory=MemoryPhotos)
    staff: MemoryStaff = field(default_factory=MemoryStaff)
    fallback: MemoryFallback = field(default_factory=MemoryFallback)
    escalations: MemoryEscalations = field(init=False)
    onboarding: MemoryOnboarding = field(init=False)
    answered: int = 0  # how many times the gateway said a patient's message was answered (nudging the notifier)

    def __post_init__(self) -> None:
        self.escalations = MemoryEscalations(self.staff)
        self.onboarding = MemoryOnboarding(self.staff)

    def _answered(self) -> None:
        self.answered += 1

    @property
    def deps(self) -> GatewayDeps:
        return GatewayDeps(
            self.links,
            self.checkins,
            self.photos,
            self.staff,
            self.escalations,
            self.fallback,
            answered=self._answered,
            onboarding=self.onboarding,
        )


def demo_deps(staff_chat_id: int = 2001) -> MemoryDeps:
    """Fakes pre-filled for trying the bot offline: link code DEMO, one practitioner, one open escalation."""
    memory = MemoryDeps()
    memory.links.codes["DEMO"] = LinkedPatient(1, "Demo Patient")
    memory.staff.by_chat[staff_chat_id] = StaffMember(1, "Dr Demo")
    memory.escalations.add(1, patient_id=1, patient_name="Demo Patient")
    memory.escalations.patients[1] = "Demo Patient (id 1): scalp exosome treatment yesterday; 1 open escalation."
    memory.onboarding.known_patients.add(1)  # /appointment can book for the demo patient
    return memory
