"""The use cases on both backends (each opens and commits its own unit of work): people, linking, reports,
escalations, check-ins, export; and the read models they return."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select
from store_helpers import NOW, ON_CALL_CHAT, PATIENT_CHAT, T0, TREATING_CHAT, decision

from bot import views
from bot.store import errors, repository
from bot.store.models import AlertDelivery, AuditEvent, Escalation, Patient, SymptomReport
from bot.store.uow import UnitOfWork
from bot.triage.model import Decision, Finding, Level
from bot.usecases import checkins, enrolment, escalations, records, reports


def _count(session_factory, model, *where) -> int:
    with UnitOfWork(session_factory) as uow:
        return uow.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def _deliveries(session_factory, escalation_id):
    with UnitOfWork(session_factory) as uow:
        query = select(AlertDelivery).where(AlertDelivery.escalation_id == escalation_id).order_by(AlertDelivery.id)
        return list(uow.session.execute(query).scalars())


def _audit_actions(session_factory, entity, entity_id):
    with UnitOfWork(session_factory) as uow:
        query = select(AuditEvent.action).where(AuditEvent.entity == entity, AuditEvent.entity_id == entity_id)
        return [row for row in uow.session.execute(query.order_by(AuditEvent.id)).scalars()]


# Practitioners --------------------------------------------------------------------------------------------------------
def test_add_and_list_practitioners(session_factory):
    uow = UnitOfWork(session_factory)
    enrolment.add_practitioner(uow, "Dr A", "treating", 11)
    enrolment.add_practitioner(uow, "Dr B", "backup")
    people = enrolment.list_practitioners(uow)
    assert [(p.name, p.role, p.telegram_chat_id) for p in people] == [
        ("Dr A", "treating", 11),
        ("Dr B", "backup", None),
    ]
    assert enrolment.practitioner_for_chat(uow, 11).name == "Dr A"
    assert enrolment.practitioner_for_chat(uow, 99) is None


def test_practitioner_errors(session_factory):
    uow = UnitOfWork(session_factory)
    enrolment.add_practitioner(uow, "Dr A", "treating", 11)
    with pytest.raises(errors.DuplicateChatId, match="11"):
        enrolment.add_practitioner(uow, "Dr B", "treating", 11)
    with pytest.raises(errors.InvalidValue, match="role"):
        enrolment.add_practitioner(uow, "Dr C", "surgeon")
    with pytest.raises(errors.InvalidValue, match="name"):
        enrolment.add_practitioner(uow, "  ", "treating")
    with pytest.raises(errors.UnknownPractitioner, match="42"):
        enrolment.get_practitioner(uow, 42)


# Patients and treatments ----------------------------------------------------------------------------------------------
def test_add_patient_with_treatment_returns_link_code(session_factory, clinic):
    with UnitOfWork(session_factory) as uow:
        treatment = repository.latest_treatment(uow, clinic.patient_id)
        assert (treatment.area, treatment.method, treatment.product_batch) == ("face", "microneedling", "EX-42")
        assert treatment.performed_at == T0 and treatment.performed_at.tzinfo is not None
    assert len(clinic.link_code) >= 16 and all(c.isalnum() or c in "-_" for c in clinic.link_code)


@pytest.mark.parametrize(
    "change, error",
    [
        ({"performed_at": NOW + dt.timedelta(hours=1)}, errors.TreatmentInFuture),
        ({"area": "arm"}, errors.InvalidValue),
        ({"method": "laser"}, errors.InvalidValue),
        ({"practitioner_id": 999}, errors.UnknownPractitioner),
        ({"performed_at": dt.datetime(2026, 11, 1)}, errors.InvalidValue),  # naive: no timezone
    ],
)
def test_add_patient_rejects_bad_input_and_stores_nothing(session_factory, clinic, change, error):
    arguments = dict(
        display_name="Bob",
        performed_at=T0,
        area="scalp",
        method="combined",
        practitioner_id=clinic.treating_id,
        now=NOW,
    )
    arguments.update(change)
    with pytest.raises(error):
        enrolment.add_patient_with_treatment(UnitOfWork(session_factory), **arguments)
    assert _count(session_factory, Patient) == 1  # only the clinic fixture's patient


def test_latest_treatment_picks_most_recent(session_factory, clinic):
    later = enrolment.add_treatment(
        UnitOfWork(session_factory),
        clinic.patient_id,
        T0 + dt.timedelta(days=1),
        "scalp",
        "microinjection",
        clinic.treating_id,
        now=NOW,
    )
    with UnitOfWork(session_factory) as uow:
        assert repository.latest_treatment(uow, clinic.patient_id).id == later.id
        assert repository.latest_treatment(uow, 12345) is None


# Linking chats --------------------------------------------------------------------------------------------------------
def test_link_code_links_chat_once(session_factory, clinic):
    uow = UnitOfWork(session_factory)
    assert enrolment.patient_for_chat(uow, PATIENT_CHAT).id == clinic.patient_id
    # same code from the same chat again: harmless
    assert enrolment.redeem_link_code(uow, clinic.link_code, PATIENT_CHAT, now=NOW).id == clinic.patient_id
    with pytest.raises(errors.LinkCodeUsed):
        enrolment.redeem_link_code(uow, clinic.link_code, 7777, now=NOW)
    with pytest.raises(errors.UnknownLinkCode):
        enrolment.redeem_link_code(uow, "no-such-code", 7777, now=NOW)


def test_link_code_expires(session_factory, clinic):
    uow = UnitOfWork(session_factory)
    code = enrolment.new_link_code(uow, clinic.patient_id, dt.timedelta(hours=1), now=NOW)
    with pytest.raises(errors.LinkCodeExpired):
        enrolment.redeem_link_code(uow, code.code, 7777, now=NOW + dt.timedelta(hours=2))


def test_chat_linked_to_one_patient_only(session_factory, clinic):
    uow = UnitOfWork(session_factory)
    other = enrolment.add_patient_with_treatment(uow, "Bob", T0, "scalp", "combined", clinic.treating_id, now=NOW)
    with pytest.raises(errors.DuplicateChatId):
        enrolment.redeem_link_code(uow, other.link_code, PATIENT_CHAT, now=NOW)


# Reports --------------------------------------------------------------------------------------------------------------
def test_non_escalating_report_has_no_escalation(session_factory, clinic):
    recorded = reports.record_report(
        UnitOfWork(session_factory),
        clinic.patient_id,
        clinic.treatment_id,
        "a bit red",
        decision(Level.NORMAL, "redness"),
        "rasa",
        now=NOW,
    )
    assert recorded.escalation is None and recorded.deliveries == ()
    assert _count(session_factory, Escalation) == 0
    with UnitOfWork(session_factory) as uow:
        report = uow.session.get(SymptomReport, recorded.report.id)
        assert report.findings == [
            {
                "symptom": "redness",
                "negated": False,
                "severity": ["severe"],
                "trend": [],
                "area": None,
                "text": "redness words",
                "context": None,
            }
        ]
        assert report.level == "normal" and report.criteria == ["normal_rule"]


def test_urgent_report_alerts_treating_practitioner_only(session_factory, clinic):
    recorded = reports.record_report(
        UnitOfWork(session_factory),
        clinic.patient_id,
        clinic.treatment_id,
        "pus and fever",
        decision(Level.URGENT, "discharge", "fever"),
        "rasa",
        now=NOW,
    )
    assert recorded.escalation.state == "open"
    rows = _deliveries(session_factory, recorded.escalation.id)
    assert [(d.recipient, d.chat_id, d.kind, d.round, d.status) for d in rows] == [
        (f"practitioner:{clinic.treating_id}", TREATING_CHAT, "initial", 0, "pending")
    ]


def test_emergency_alerts_treating_and_on_call_at_once(session_factory, clinic):
    recorded = reports.record_report(
        UnitOfWork(session_factory),
        clinic.patient_id,
        clinic.treatment_id,
        "can't breathe",
        decision(Level.EMERGENCY, "breathing_difficulty"),
        "safety_net",
        now=NOW,
    )
    rows = _deliveries(session_factory, recorded.escalation.id)
    assert sorted(d.chat_id for d in rows) == [TREATING_CHAT, ON_CALL_CHAT]
    assert {d.kind for d in rows} == {"initial"}


def test_report_and_outbox_are_one_transaction(session_factory, clinic):
    """Without commit (or on an error after the report is stored) neither the report nor its alerts remain.
    The record_report use case runs this same step (reports._record_report) in its unit of work and commits only
    when it returns; here the step runs in a unit of work that fails before its commit."""
    with pytest.raises(RuntimeError):
        with UnitOfWork(session_factory) as uow:
            recorded = reports._record_report(
                uow, clinic.patient_id, clinic.treatment_id, "pus", decision(Level.URGENT, "discharge"), "rasa", now=NOW
            )
            uow.flush()  # written inside the transaction...
            queued = uow.session.execute(
                select(func.count())
                .select_from(AlertDelivery)
                .where(AlertDelivery.escalation_id == recorded.escalation.id)
            ).scalar_one()
            assert queued == len(recorded.deliveries) > 0
            raise RuntimeError("crash before commit")
    # ...and gone with it.
    assert _count(session_factory, SymptomReport) == 0
    assert _count(session_factory, Escalation) == 0
    assert _count(session_factory, AlertDelivery) == 0
    assert _count(session_factory, AuditEvent, AuditEvent.entity == "escalation") == 0


@pytest.mark.parametrize(
    "patient, treatment, error",
    [
        ("unknown", None, errors.UnknownPatient),
        ("unknown", "theirs", errors.UnknownPatient),  # another patient's treatment proves nothing about this one
        ("known", "unknown", errors.UnknownTreatment),
    ],
)
def test_a_report_for_someone_or_something_not_on_record_is_refused_and_nothing_stored(
    session_factory, clinic, patient, treatment, error
):
    patient_id = clinic.patient_id if patient == "known" else clinic.patient_id + 1000
    treatment_id = {None: None, "theirs": clinic.treatment_id, "unknown": clinic.treatment_id + 1000}[treatment]
    with pytest.raises(error):
        reports.record_report(
            UnitOfWork(session_factory), patient_id, treatment_id, "pus", decision(Level.URGENT, "discharge"), "rasa"
        )
    assert _count(session_factory, SymptomReport) == 0
    assert _count(session_factory, AlertDelivery) == 0


def test_earlier_reports_and_patient_context(session_factory, clinic):
    first = Decision(
        level=Level.MONITOR, criteria=("x",), findings=(Finding("swelling"), Finding("discharge", negated=True))
    )
    reports.record_report(
        UnitOfWork(session_factory),
        clinic.patient_id,
        clinic.treatment_id,
        "swollen, no pus",
        first,
        "rasa",
        now=T0 + dt.timedelta(hours=30),
    )
    with UnitOfWork(session_factory) as uow:
        treatment, summaries = repository.latest_treatment_with_reports(uow, clinic.patient_id)
        assert treatment.id == clinic.treatment_id
        earlier = views.earlier_reports(treatment, summaries)
    assert [(e.symptom, e.hours_since_treatment, e.level) for e in earlier] == [("swelling", 30.0, Level.MONITOR)]
    _, context = records.patient_context(
        UnitOfWork(session_factory), clinic.patient_id, now=T0 + dt.timedelta(hours=48)
    )
    assert (context.hours_since_treatment, context.area, context.method) == (48.0, "face", "microneedling")
    assert context.earlier == earlier


def test_the_context_reads_the_latest_treatment_and_only_its_reports_oldest_first(session_factory, clinic):
    def report(symptom: str, hours: float, treatment_id: int) -> None:
        reports.record_report(
            UnitOfWork(session_factory),
            clinic.patient_id,
            treatment_id,
            symptom,
            Decision(level=Level.MONITOR, criteria=("x",), findings=(Finding(symptom),)),
            "rasa",
            now=T0 + dt.timedelta(hours=hours),
        )

    report("redness", 5, clinic.treatment_id)  # about the first treatment only
    later = enrolment.add_treatment(
        UnitOfWork(session_factory),
        clinic.patient_id,
        T0 + dt.timedelta(hours=100),
        "face",
        "microneedling",
        clinic.treating_id,
    )
    _, context = records.patient_context(
        UnitOfWork(session_factory), clinic.patient_id, now=T0 + dt.timedelta(hours=101)
    )
    assert (context.hours_since_treatment, context.earlier) == (1.0, ())  # a treatment with no report yet
    report("bruising", 100.5, later.id)
    report("swelling", 100.25, later.id)  # received earlier, recorded later
    treatment_id, context = records.patient_context(
        UnitOfWork(session_factory), clinic.patient_id, now=T0 + dt.timedelta(hours=101)
    )
    assert treatment_id == later.id
    assert [(e.symptom, e.hours_since_treatment) for e in context.earlier] == [("swelling", 0.25), ("bruising", 0.5)]


# Acknowledge / resolve ------------------------------------------------------------------------------------------------
def _urgent(session_factory, clinic, now=NOW):
    recorded = reports.record_report(
        UnitOfWork(session_factory),
        clinic.patient_id,
        clinic.treatment_id,
        "pus",
        decision(Level.URGENT, "discharge"),
        "rasa",
        now=now,
    )
    return recorded.escalation.id


def test_acknowledge_is_idempotent_audited_and_tells_the_patient(session_factory, clinic):
    escalation_id = _urgent(session_factory, clinic)
    later = NOW + dt.timedelta(minutes=3)
    first = escalations.acknowledge(UnitOfWork(session_factory), escalation_id, clinic.treating_id, now=later)
    second = escalations.acknowledge(
        UnitOfWork(session_factory), escalation_id, clinic.on_call_id, now=later + dt.timedelta(minutes=1)
    )
    assert (first.changed, second.changed) == (True, False)
    assert second.escalation.acknowledged_by == clinic.treating_id and second.escalation.acknowledged_at == later
    notices = [d for d in _deliveries(session_factory, escalation_id) if d.kind == "patient_ack_notice"]
    assert [(n.recipient, n.chat_id) for n in notices] == [(f"patient:{clinic.patient_id}", PATIENT_CHAT)]
    assert _audit_actions(session_factory, "escalation", escalation_id).count("acknowledged") == 1


def test_resolve_is_idempotent_and_audited(session_factory, clinic):
    escalation_id = _urgent(session_factory, clinic)
    uow = UnitOfWork(session_factory)
    first = escalations.resolve(uow, escalation_id, clinic.treating_id, "called, antibiotics", now=NOW)
    again = escalations.resolve(uow, escalation_id, clinic.treating_id, "again", now=NOW)
    also_ack = escalations.acknowledge(uow, escalation_id, clinic.treating_id, now=NOW)
    assert (first.changed, again.changed, also_ack.changed) == (True, False, False)
    assert again.escalation.state == "resolved" and again.escalation.note == "called, antibiotics"
    # resolving an unacknowledged escalation acknowledges it too (and tells the patient, once)
    assert again.escalation.acknowledged_by == clinic.treating_id
    actions = _audit_actions(session_factory, "escalation", escalation_id)
    assert actions.count("resolved") == 1 and actions.count("acknowledged") == 1
    assert [d.kind for d in _deliveries(session_factory, escalation_id)].count("patient_ack_notice") == 1


def test_acknowledge_errors(session_factory, clinic):
    escalation_id = _urgent(session_factory, clinic)
    uow = UnitOfWork(session_factory)
    with pytest.raises(errors.UnknownPractitioner):
        escalations.acknowledge(uow, escalation_id, 999)
    with pytest.raises(errors.UnknownEscalation):
        escalations.acknowledge(uow, 999, clinic.treating_id)


def test_open_escalations(session_factory, clinic):
    first, second, third = (_urgent(session_factory, clinic, NOW + dt.timedelta(minutes=i)) for i in range(3))
    uow = UnitOfWork(session_factory)
    escalations.acknowledge(uow, second, clinic.treating_id, now=NOW)
    escalations.resolve(uow, third, clinic.treating_id, now=NOW)
    assert [e.id for e in escalations.open_escalations(uow)] == [first, second]
    assert [e.id for e in escalations.open_escalations(uow, include_acknowledged=False)] == [first]
    summary = escalations.open_queue(uow)[0]  # the summaries of open_escalations, oldest first
    assert summary["patient_id"] == clinic.patient_id and summary["level"] == "urgent"


# Photos, check-ins, export --------------------------------------------------------------------------------------------
def test_photos_checkins_and_export(session_factory, clinic):
    escalation_id = _urgent(session_factory, clinic)
    uow = UnitOfWork(session_factory)
    reports.attach_photo(uow, clinic.patient_id, "AgACAgQAAxkBAAI", escalation_id=escalation_id, now=NOW)
    checkin = checkins.schedule_checkin(uow, clinic.patient_id, clinic.treatment_id, T0 + dt.timedelta(hours=24), "24h")
    with UnitOfWork(session_factory) as open_uow:
        assert [c.id for c in repository.due_checkins(open_uow, NOW)] == [checkin.id]
        repository.mark_checkin_sent(open_uow, checkin.id, NOW)
        open_uow.commit()
    with UnitOfWork(session_factory) as open_uow:
        assert repository.due_checkins(open_uow, NOW) == []
    exported = records.export_patient(uow, clinic.patient_id)
    text = json.dumps(exported)  # must be JSON-serialisable as is
    assert exported["patient"]["display_name"] == "Jane Patient"
    assert len(exported["treatments"]) == 1 and len(exported["symptom_reports"]) == 1
    assert exported["escalations"][0]["id"] == escalation_id
    assert exported["photos"][0]["file_id"] == "AgACAgQAAxkBAAI"
    assert exported["checkins"][0]["sent_at"] is not None
    assert {"created", "recorded", "opened", "linked"} <= {a["action"] for a in exported["audit_events"]}
    assert clinic.link_code not in text  # an unused code would let someone link a chat; never export it
    with pytest.raises(errors.UnknownPatient):
        records.export_patient(uow, 999)


def test_photo_joins_the_open_escalation_and_keeps_its_caption(session_factory, clinic):
    escalation_id = _urgent(session_factory, clinic)
    photo = reports.attach_photo(
        UnitOfWork(session_factory), clinic.patient_id, "file-1", caption="left cheek", now=NOW
    )
    assert (photo.escalation_id, photo.caption) == (escalation_id, "left cheek")


def _due_checkins(session_factory, now):
    with UnitOfWork(session_factory) as uow:
        return repository.due_checkins(uow, now)


def test_pause_and_resume_checkins(session_factory, clinic):
    uow = UnitOfWork(session_factory)
    for hours in (24, 72):
        checkins.schedule_checkin(
            uow, clinic.patient_id, clinic.treatment_id, T0 + dt.timedelta(hours=hours), f"{hours}h"
        )
    assert checkins.set_checkins_paused(uow, clinic.patient_id, True) == 2
    assert checkins.set_checkins_paused(uow, clinic.patient_id, True) == 0
    assert _due_checkins(session_factory, NOW + dt.timedelta(days=9)) == []
    assert checkins.set_checkins_paused(uow, clinic.patient_id, False) == 2
    assert len(_due_checkins(session_factory, NOW + dt.timedelta(days=9))) == 2


def test_patient_summary(session_factory, clinic):
    escalation_id = _urgent(session_factory, clinic)
    summary = records.view_patient(UnitOfWork(session_factory), clinic.patient_id)
    assert summary["name"] == "Jane Patient" and summary["treatment"]["area"] == "face"
    assert summary["recent_reports"][0]["level"] == "urgent"
    assert summary["unresolved_escalations"] == [{"id": escalation_id, "level": "urgent", "state": "open"}]
    json.dumps(summary)
