"""Who is alerted about an escalation, and when. Pure: no database, no clock of its own (`now` is passed in).

Rules (timings from Settings: ESCALATION_REALERT_MINUTES, ESCALATION_BACKUP_AFTER_MINUTES):
* initial alert: the treating practitioner; an EMERGENCY also goes to every on-call practitioner at once.
  If the treating practitioner cannot be reached (inactive, no Telegram chat yet) the on-call practitioners
  get it instead, and failing those the backups: an escalation must always reach somebody.
* while nobody has acknowledged: re-alert the treating practitioner every N minutes (at most `max_realerts`
  times), and after M minutes alert the backup practitioners (the on-call ones if there is no backup).
* a delivery that FAILED (Telegram refused it for good: bot blocked, chat not found, user deactivated; or it
  gave up after its retries) makes that practitioner unreachable for this escalation: no reminders to the dead
  chat, and when nobody alerted so far can still get it, the next tier is paged AT ONCE (`failover`): the
  on-call practitioners, then the backups; the 20-minute wait is for people who may be busy, not for chats
  that cannot receive anything.
* when every candidate has failed (or there never was one) `nobody_reachable` is True: the caller marks the
  escalation and tells the patient to phone the clinic (or emergency services) themselves.
Once acknowledged or resolved, nothing more is due.

The database side (inserting the rows these functions ask for) is bot.escalation.followups.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import FrozenSet, Iterable, List, Optional, Sequence, Tuple

from bot.escalation.states import EscalationState
from bot.triage.model import Level

INITIAL = "initial"
REALERT = "realert"
BACKUP = "backup"
FAILOVER = "failover"
UNREACHABLE_NOTICE = "unreachable_notice"
PATIENT_ACK_NOTICE = "patient_ack_notice"


@dataclass(frozen=True)
class PractitionerRef:
    """What the policy needs to know about a practitioner."""

    id: int
    role: str  # treating | on_call | backup
    chat_id: Optional[int]
    active: bool = True

    @property
    def reachable(self) -> bool:
        return self.active and self.chat_id is not None


@dataclass(frozen=True)
class Followup:
    """One alert to queue: to practitioner `practitioner_id`, of `kind`, numbered `round` (the dedupe key)."""

    practitioner_id: int
    kind: str
    round: int


@dataclass(frozen=True)
class EscalationSnapshot:
    """An escalation as the policy sees it.

    queued: (practitioner_id, kind, round) of every alert already in the outbox for this escalation.
    failed: ids of the practitioners a delivery of this escalation could not reach (status `failed`).
    unreachable: the escalation is already marked as reaching nobody (the patient has been told).
    """

    escalation_id: int
    level: Level
    state: EscalationState
    created_at: dt.datetime
    treating: Optional[PractitionerRef]
    staff: Tuple[PractitionerRef, ...] = ()
    queued: FrozenSet[Tuple[int, str, int]] = field(default_factory=frozenset)
    failed: FrozenSet[int] = field(default_factory=frozenset)
    unreachable: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "state", EscalationState(self.state))  # the database gives the plain word

    @property
    def alerted(self) -> FrozenSet[int]:
        """Practitioners with an alert for this escalation that may still reach them (pending or sent)."""
        return frozenset(p for p, _, _ in self.queued) - self.failed


@dataclass(frozen=True)
class EscalationPolicy:
    realert_after: dt.timedelta = dt.timedelta(minutes=10)
    backup_after: dt.timedelta = dt.timedelta(minutes=20)
    max_realerts: int = 3

    @classmethod
    def from_settings(cls, settings: object) -> "EscalationPolicy":
        return cls(
            realert_after=dt.timedelta(minutes=settings.escalation_realert_minutes),
            backup_after=dt.timedelta(minutes=settings.escalation_backup_after_minutes),
        )

    def initial_recipients(
        self, level: Level, treating: Optional[PractitionerRef], staff: Sequence[PractitionerRef]
    ) -> List[PractitionerRef]:
        """Who gets the first alert. Empty only when nobody at all can be reached (the caller must log it)."""
        recipients: List[PractitionerRef] = []
        if treating is not None and treating.reachable:
            recipients.append(treating)
        on_call = _reachable_with_role(staff, "on_call", exclude=recipients)
        if level == Level.EMERGENCY or not recipients:
            recipients.extend(on_call)
        if not recipients:
            recipients.extend(_reachable_with_role(staff, "backup", exclude=recipients))
        return recipients

    def due_followups(self, state: EscalationSnapshot, now: dt.datetime) -> List[Followup]:
        """Reminders and backup alerts due at `now` that are not in the outbox yet."""
        if state.state is not EscalationState.OPEN:
            return []
        elapsed = now - state.created_at
        due = self._due_failover(state) + self._due_realert(state, elapsed) + self._due_backup(state, elapsed)
        return [f for f in due if (f.practitioner_id, f.kind, f.round) not in state.queued]

    def next_recipients(self, state: EscalationSnapshot) -> List[PractitionerRef]:
        """Who to page at once because an alert failed for good and nobody alerted so far can still get it;
        [] while someone still can (or nothing has failed)."""
        if state.state is not EscalationState.OPEN or state.alerted or not state.failed:
            return []
        return self._untried(state)

    def nobody_reachable(self, state: EscalationSnapshot) -> bool:
        """True when the escalation is open, not yet marked, nobody alerted can still get it and nobody is left
        to try: the patient must be told to phone the clinic themselves."""
        return (
            state.state is EscalationState.OPEN
            and not state.unreachable
            and not state.alerted
            and not self._untried(state)
        )

    @staticmethod
    def _untried(state: EscalationSnapshot) -> List[PractitionerRef]:
        """The first tier (treating, on call, backup) with somebody reachable who has neither failed nor been
        alerted about this escalation yet."""
        tried = {p for p, _, _ in state.queued} | set(state.failed)
        treating = [state.treating] if state.treating is not None else []
        for tier in (treating, _with_role(state.staff, "on_call"), _with_role(state.staff, "backup")):
            people = [p for p in tier if p.reachable and p.id not in tried]
            if people:
                return _unique(people)
        return []

    def _due_failover(self, state: EscalationSnapshot) -> List[Followup]:
        return [Followup(p.id, FAILOVER, 1) for p in self.next_recipients(state)]

    def _due_realert(self, state: EscalationSnapshot, elapsed: dt.timedelta) -> List[Followup]:
        treating = state.treating
        if treating is None or not treating.reachable or treating.id in state.failed:
            return []
        rounds_due = min(int(elapsed / self.realert_after), self.max_realerts)
        if rounds_due < 1:
            return []
        # Only the latest round: a notifier that was down for half an hour sends one reminder, not three.
        return [Followup(treating.id, REALERT, rounds_due)]

    def _due_backup(self, state: EscalationSnapshot, elapsed: dt.timedelta) -> List[Followup]:
        if elapsed < self.backup_after:
            return []
        exclude = ([state.treating] if state.treating else []) + [p for p in state.staff if p.id in state.failed]
        people = _reachable_with_role(state.staff, "backup", exclude) or _reachable_with_role(
            state.staff, "on_call", exclude
        )
        return [Followup(p.id, BACKUP, 1) for p in people]


def due_followups(
    state: EscalationSnapshot, now: dt.datetime, policy: Optional[EscalationPolicy] = None
) -> List[Tuple[int, str, int]]:
    """(practitioner_id, kind, round) of the alerts due for `state` at `now` (default timings unless given)."""
    followups = (policy or EscalationPolicy()).due_followups(state, now)
    return [(f.practitioner_id, f.kind, f.round) for f in followups]


def _reachable_with_role(
    staff: Iterable[PractitionerRef], role: str, exclude: Iterable[Optional[PractitionerRef]] = ()
) -> List[PractitionerRef]:
    excluded_ids = {p.id for p in exclude if p is not None}
    return [p for p in staff if p.role == role and p.reachable and p.id not in excluded_ids]


def _with_role(staff: Iterable[PractitionerRef], role: str) -> List[PractitionerRef]:
    return [p for p in staff if p.role == role]


def _unique(people: Sequence[PractitionerRef]) -> List[PractitionerRef]:
    seen: set = set()
    return [p for p in people if not (p.id in seen or seen.add(p.id))]
