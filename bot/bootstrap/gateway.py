"""The gateway's part of the composition root (bot.bootstrap): the Telegram ports over the store, the Rasa-down
safety net, and the notifier running in the gateway's event loop. `bot.run.gateway.main()` runs the gateway with
`gateway_deps(settings)`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from typing import List, Optional, Sequence

from sqlalchemy.exc import InterfaceError, OperationalError

from bot.bootstrap import clinic_service, retention_purger
from bot.delivery.alerts import Notifier
from bot.delivery.checkins import CheckinSender
from bot.outbox.worker import Nudge
from bot.responses import clinic_slots, render
from bot.settings import Settings
from bot.store import errors as store_errors
from bot.store.errors import StoreError
from bot.store.models import utcnow
from bot.store.uow import UnitOfWork
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
from bot.triage.advice import response_name
from bot.triage.model import Level
from bot.usecases import appointments, checkins, enrolment, escalations, records, reports
from bot.usecases.triage import ClinicService

log = logging.getLogger(__name__)

# How long a store call waits for an unreachable database before the error reaches the handler.
STORE_RETRY_S = 20.0


class _Store:
    """Runs a use case in a worker thread with a fresh unit of work; store errors become Refused."""

    def __init__(self, session_factory):
        self.session_factory = session_factory

    async def run(self, use_case, *args, **kwargs):
        """A database that cannot be reached (connection cut, server restarting) is retried for up to
        STORE_RETRY_S with backoff, as long as the failure came before the commit (the transaction was rolled
        back, so trying again cannot write twice); a failed commit is never retried."""
        deadline, delay = time.monotonic() + STORE_RETRY_S, 0.25
        while True:
            uow = UnitOfWork(self.session_factory)
            try:
                return await asyncio.to_thread(self._call, use_case, uow, *args, **kwargs)
            except (OperationalError, InterfaceError) as error:
                if uow.commit_attempted or time.monotonic() + delay > deadline:
                    raise
                log.warning("database unreachable (%s); trying again in %.2f s", type(error.orig).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    @staticmethod
    def _call(use_case, uow: UnitOfWork, *args, **kwargs):
        try:
            return use_case(uow, *args, **kwargs)
        except StoreError as error:
            raise Refused(str(error)) from None


class StoreLinks(_Store):
    async def redeem(self, code: str, chat_id: int) -> str:
        patient = await self.run(enrolment.redeem_link_code, code.strip(), chat_id)
        return patient.display_name

    async def patient_for_chat(self, chat_id: int) -> Optional[LinkedPatient]:
        patient = await self.run(enrolment.patient_for_chat, chat_id)
        return None if patient is None else LinkedPatient(patient.id, patient.display_name)


class StoreCheckIns(_Store):
    async def pause(self, patient_id: int) -> None:
        await self.run(checkins.set_checkins_paused, patient_id, True)

    async def resume(self, patient_id: int) -> None:
        # With `now`, only future check-ins come back: none missed while paused is sent at once.
        await self.run(checkins.set_checkins_paused, patient_id, False, now=utcnow())


class StorePhotos(_Store):
    async def attach(self, patient_id: int, file_id: str, caption: Optional[str]) -> None:
        await self.run(reports.attach_photo, patient_id, file_id, caption=caption)


class StoreStaff(_Store):
    async def practitioner_for_chat(self, chat_id: int) -> Optional[StaffMember]:
        person = await self.run(enrolment.practitioner_for_chat, chat_id)
        return None if person is None or not person.active else StaffMember(person.id, person.name)


class StoreEscalations(_Store):
    async def _change(self, use_case, escalation_id: int, practitioner_id: int, *args) -> EscalationOutcome:
        change = await self.run(use_case, escalation_id, practitioner_id, *args)
        return EscalationOutcome(escalation_id, change.escalation.state, change.changed, change.practitioner_name)

    async def acknowledge(self, escalation_id: int, practitioner_id: int) -> EscalationOutcome:
        return await self._change(escalations.acknowledge, escalation_id, practitioner_id)

    async def resolve(self, escalation_id: int, practitioner_id: int, note: Optional[str] = None) -> EscalationOutcome:
        return await self._change(escalations.resolve, escalation_id, practitioner_id, note)

    async def open_escalations(self, practitioner_id: int) -> Sequence[EscalationLine]:
        # Every registered practitioner sees every open case: in a small clinic the on-call colleague must.
        queue = await self.run(escalations.open_queue)
        return [
            EscalationLine(
                item["id"],
                item["level"],
                item["state"],
                item["patient_id"],
                item["patient"],
                dt.datetime.fromisoformat(item["created_at"]),
            )
            for item in queue
        ]

    async def patient_summary(self, patient_id: int, practitioner_id: int) -> str:
        # viewer: the read is written to the audit trail (who, which patient, when; no health data).
        summary = await self.run(records.view_patient, patient_id, viewer=f"practitioner:{practitioner_id}")
        return format_patient_summary(summary)

    async def patient_photos(self, patient_id: int, practitioner_id: int) -> Sequence[PatientPhoto]:
        # viewer: audited like the summary (who, which patient, how many photos, when).
        photos = await self.run(records.patient_photos, patient_id, viewer=f"practitioner:{practitioner_id}")
        return [PatientPhoto(p["file_id"], p["received_at"], p["caption"]) for p in photos]


class StoreOnboarding(_Store):
    """/newpatient and /appointment: the same use cases as `aftercare patient add` / `appointment add`, with the
    clinic's check-in schedule, maintenance reminder, link-code lifetime and preparation lead from the settings."""

    def __init__(self, session_factory, settings: Settings):
        super().__init__(session_factory)
        self.settings = settings

    async def practitioners(self) -> Sequence[StaffMember]:
        people = await self.run(enrolment.list_practitioners, active_only=True)
        return [StaffMember(person.id, person.name) for person in people]

    async def register_patient(
        self, name: str, performed_at: dt.datetime, area: str, method: str, practitioner_id: int, by: int
    ) -> RegisteredPatient:
        new = await self.run(
            _answers_refused(enrolment.add_patient_with_treatment),
            name,
            performed_at,
            area,
            method,
            practitioner_id,
            actor=telegram_actor(by),
            **enrolment.clinic_registration(self.settings),
        )
        return RegisteredPatient(
            new.patient.id, new.treatment.id, new.patient.display_name, new.link_code, new.link_expires_at
        )

    async def book_appointment(
        self, patient_id: int, scheduled_at: dt.datetime, area: str, method: str, practitioner_id: int, by: int
    ) -> BookedAppointment:
        appointment = await self.run(
            _answers_refused(appointments.add_appointment),
            patient_id,
            scheduled_at,
            area,
            method,
            practitioner_id,
            preparation_lead=appointments.clinic_preparation_lead(self.settings),
            actor=telegram_actor(by),
        )
        return BookedAppointment(appointment.id, appointment.patient_id, appointment.scheduled_at)


def telegram_actor(practitioner_id: int) -> str:
    """Who did it, for the audit trail: a practitioner from their Telegram chat."""
    return f"telegram:practitioner:{practitioner_id}"


# A refusal about one answer of a dialog: the handler asks for that answer again (bot.telegram.ports.RefusedAnswer).
_ANSWER_OF = (
    (store_errors.TreatmentInFuture, "when"),
    (store_errors.AppointmentInPast, "when"),
    (store_errors.UnknownPatient, "patient"),
)


def _answers_refused(use_case):
    """The use case, with the store's refusals about one answer raised as RefusedAnswer(message, field)."""

    def call(uow: UnitOfWork, *args, **kwargs):
        try:
            return use_case(uow, *args, **kwargs)
        except StoreError as error:
            field = next((name for kind, name in _ANSWER_OF if isinstance(error, kind)), None)
            if field is None:
                raise
            raise RefusedAnswer(str(error), field) from None

    return call


def format_patient_summary(summary: dict) -> str:
    """views.patient_summary (records.view_patient) as a few plain-text lines for a phone screen."""
    lines = [f"Patient #{summary['id']} {summary['name']}"]
    treatment = summary["treatment"]
    if treatment:
        lines.append(f"Treatment: {treatment['performed_at'][:16]} UTC, {treatment['area']}, {treatment['method']}")
    for report in summary["recent_reports"]:
        lines.append(f"- {report['received_at'][:16]} {report['level']}: {report['text'][:200]}")
    if summary["unresolved_escalations"]:
        lines.append(
            "Unresolved: "
            + ", ".join(f"#{e['id']} {e['level']} ({e['state']})" for e in summary["unresolved_escalations"])
        )
    appointment = summary.get("next_appointment")
    if appointment:
        lines.append(
            f"Next appointment: {appointment['scheduled_at'][:16]} UTC, {appointment['area']}, {appointment['method']}"
        )
    screening = summary.get("latest_screening")
    if screening:
        lines.append(
            f"Screening {screening['completed_at'][:16]} UTC: "
            + (screening_review_line(screening["to_review"]) or "all answers no")
        )
    return "\n".join(lines)


def screening_review_line(to_review: dict) -> str:
    """ "review: isotretinoin (Accutane) in the last 6-12 months: yes; ..." for the answers a practitioner must see."""
    from bot.screening.items import item

    words = {"yes": "yes", "unsure": "not sure"}
    parts = [f"{item(key).staff_label}: {words.get(answer, answer)}" for key, answer in to_review.items()]
    return ("review: " + "; ".join(parts)) if parts else ""


# After a Rasa timeout, how long the safety net waits for the report that Rasa's triage action may still be committing
# (closing the connection makes Rasa cancel its handling, but an action already running finishes its transaction).
TIMEOUT_SETTLE_SECONDS = 5.0
# Reports are stamped by the process that records them (the action server or the gateway): allow this much clock
# difference between them when looking for Rasa's record of a message.
CLOCK_SLACK = dt.timedelta(seconds=5)


class SafetyNetTriage:
    """Rasa or the action server failed: run our own spaCy pipeline and the triage core, record and escalate
    exactly as the action would, and answer with the same advice texts. No clarifying questions here (outcome.to_ask
    is ignored): with the assistant degraded, each message is answered with the advice for what it says.
    The gateway adds its own "we are running in a reduced mode, call the clinic" line after these.

    One message, one escalation: when Rasa received the message (`attempt`), its triage action may have recorded
    the report, and queued the alert, before something failed. The store is asked for a report from Rasa for this
    patient since the message was sent whose text ends with the message; if there is one and it escalated (or
    ours would not), nothing is recorded again. After a timeout the safety net first waits up to `settle_seconds`
    for such a report to appear."""

    def __init__(
        self, service: ClinicService, settle_seconds: float = TIMEOUT_SETTLE_SECONDS, poll_seconds: float = 0.25
    ):
        self.service = service
        self.settle_seconds = settle_seconds
        self.poll_seconds = poll_seconds

    def _triage(self, patient_id: int, text: str, attempt: Optional[RelayAttempt] = None) -> List[str]:
        from bot.nlp.analyze import analyze_text

        entities = analyze_text(text, self.service.settings.spacy_model_path)
        # DIET is not available to say how sure it is: treat the words as uncertain, so red-flag words fail closed.
        outcome = self.service.assess(f"patient-{patient_id}", text, entities, intent_confidence=0.0)
        slots = clinic_slots(self.service.settings)
        if outcome.decision.level is Level.NONE:
            return []
        escalates = outcome.decision.level.escalates
        found = None
        if attempt is not None and self.service.session_factory is not None:
            try:
                found = self._recorded_by_rasa(patient_id, attempt, escalates)
            except Exception:  # cannot tell: fail closed (record ours; at worst a second alert, never none)
                log.exception("patient %s: could not look for Rasa's record of this message", patient_id)
        if found is not None and (found[1] is not None or not escalates):
            report, escalation = found
            log.warning(
                "patient %s: Rasa's action recorded this message as report %s (level=%s, escalation=%s) "
                "before failing; not recorded again",
                patient_id,
                report.id,
                report.level,
                escalation.id if escalation else None,
            )
        else:
            if found is not None:  # Rasa's action recorded it without escalating; we fail closed and escalate
                log.warning(
                    "patient %s: Rasa's report %s (level=%s) did not escalate; the safety net does",
                    patient_id,
                    found[0].id,
                    found[0].level,
                )
            self.service.record(outcome, source="safety_net")
        return [render(response_name(key), slots) for key in outcome.decision.advice]

    def _recorded_by_rasa(self, patient_id: int, attempt: RelayAttempt, escalates: bool):
        """(report, escalation or None) that Rasa's action recorded for this message, or None. After a timeout,
        polls until settle_seconds have passed or a report that settles the question has appeared."""
        deadline = time.monotonic() + (self.settle_seconds if attempt.timed_out else 0.0)
        said = attempt.message.strip()
        while True:
            rows = reports.reports_since(
                UnitOfWork(self.service.session_factory), patient_id, attempt.sent_at - CLOCK_SLACK, source="rasa"
            )
            found = [
                (report, escalation)
                for report, escalation in rows
                if said and (report.text == said or report.text.endswith(" / " + said))
            ]
            best = next((row for row in reversed(found) if row[1] is not None), found[-1] if found else None)
            if (best is not None and (best[1] is not None or not escalates)) or time.monotonic() >= deadline:
                return best
            time.sleep(self.poll_seconds)

    async def __call__(self, patient_id: int, text: str, attempt: Optional[RelayAttempt] = None) -> List[str]:
        return await asyncio.to_thread(self._triage, patient_id, text, attempt)

    def _answer_stands(self, patient_id: int, text: str, attempt: RelayAttempt) -> bool:
        """False when the message's own words escalate but Rasa's triage recorded nothing for it.

        Rasa does not always answer an empty list when the action server is down: on the first message of a
        conversation session action_session_start fails too, and the rules then fall back to utter_default
        ("Sorry, I didn't quite follow…"). Every report that escalates is recorded by action_triage before Rasa
        answers (the details form is never opened before an escalation), so no record means no triage. The words
        are read as if the NLU were sure of them (intent_confidence=None): only a clear red flag counts here."""
        if self.service.session_factory is None:
            return True
        from bot.nlp.analyze import analyze_text

        entities = analyze_text(text, self.service.settings.spacy_model_path)
        outcome = self.service.assess(f"patient-{patient_id}", text, entities, intent_confidence=None)
        if not outcome.decision.level.escalates:
            return True
        if self._recorded_by_rasa(patient_id, attempt, escalates=True) is not None:
            return True
        log.error(
            "patient %s: Rasa answered, but its triage recorded nothing for a message whose words escalate "
            "(level=%s): is the action server down? The safety net takes over",
            patient_id,
            outcome.decision.level.value,
        )
        return False

    async def answer_stands(self, patient_id: int, text: str, attempt: RelayAttempt) -> bool:
        try:
            return await asyncio.to_thread(self._answer_stands, patient_id, text, attempt)
        except Exception:  # a backstop: if it cannot tell, Rasa's answer goes out as it is
            log.exception("patient %s: could not check Rasa's answer against the record", patient_id)
            return True

    async def warm_up(self) -> None:
        """Load the spaCy pipeline before the first patient needs it (the first load takes a second or two)."""
        from bot.nlp.analyze import analyze_text

        try:
            await asyncio.to_thread(analyze_text, "warm up", self.service.settings.spacy_model_path)
        except Exception:
            log.exception("could not load the spaCy pipeline for the safety net")


def gateway_deps(settings: Settings, service: Optional[ClinicService] = None, run_notifier: bool = True) -> GatewayDeps:
    # The gateway is the safety net when Rasa is down: it starts even without the learned second reading.
    service = service or clinic_service(settings, second_reading_required=False)
    factory = service.session_factory
    nudge = Nudge()

    safety_net = SafetyNetTriage(service)

    async def deliver(application) -> None:
        """The alert notifier and the check-in sender, sharing the bot's rate-limited messenger (and the safety
        net's language pipeline loaded meanwhile)."""
        from bot.telegram.messenger import TelegramMessenger

        messenger = TelegramMessenger(application.bot)
        await asyncio.gather(
            Notifier.from_settings(settings, factory, messenger).run_forever(nudge=nudge),
            CheckinSender.from_settings(settings, factory, messenger).run_forever(),
            safety_net.warm_up(),
            # DATA_RETENTION_DAYS: erase inactive patients once a day (returns at once when 0).
            retention_purger(settings, factory).run_forever(),
        )

    return GatewayDeps(
        links=StoreLinks(factory),
        checkins=StoreCheckIns(factory),
        photos=StorePhotos(factory),
        staff=StoreStaff(factory),
        escalations=StoreEscalations(factory),
        fallback=safety_net,
        background=deliver if run_notifier else None,
        answered=nudge if run_notifier else None,
        answer_check=safety_net.answer_stands,
        onboarding=StoreOnboarding(factory, settings),
    )
