"""Patients' data under control (issue 12, part 6), on SQLite and PostgreSQL: erasing a patient everywhere (the
clinic's tables and Rasa's conversation store), the tombstone, retention purges with a fake clock, exports with the
conversation, audited staff reads and exports, and re-linking that revokes the old chat and codes."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any, Dict, List

import pytest
from conversation_helpers import add_event, create_events_table, drop_events_table, senders
from sqlalchemy import select
from store_helpers import NOW, T0, decision

from bot.store import errors, repository
from bot.store.conversations import ConversationStore, ConversationStoreUnavailable
from bot.store.models import AlertDelivery, AuditEvent, Base, LinkCode
from bot.store.uow import UnitOfWork
from bot.triage.model import Level
from bot.usecases import appointments, checkins, enrolment, escalations, records, reports, retention

NAME, PHONE = "Zelda Quinlan", "+44 7700 900123"
WORDS = "green pus oozing from two needle holes zqxv"
CAPTION = "photo of the holes zqxv"
FILE_ID = "AgACAgQAAxkBAAIBZ-zelda-file-id"
CHAT, NEW_CHAT = 7001, 7002
OTHER_NAME, OTHER_WORDS = "Olive Other", "mild redness only wqrt"
ANSWERS = {
    key: "no"
    for key in (
        "infection",
        "isotretinoin",
        "autoimmune_bleeding",
        "blood_thinners",
        "keloid",
        "pregnancy",
        "cold_sores",
    )
}
UNREACHABLE_PG = ConversationStore(
    "postgresql+psycopg2://nobody:s3cret@127.0.0.1:1/rasa_tracker", "the conversation store (test, port 1)"
)


@pytest.fixture
def conversations(db_url, tmp_path):
    """Rasa's tracker store on the same backend as the clinic's records (on PostgreSQL: the `events` table in the
    test database; on SQLite: its own file, as the embedded profile has it)."""
    if db_url.startswith("sqlite"):
        store = ConversationStore.sqlite(tmp_path / "rasa_tracker.db")
    else:
        store = ConversationStore(db_url, "the test conversation store")
    create_events_table(store.url)
    yield store
    drop_events_table(store.url)


def _ts(moment: dt.datetime) -> float:
    return moment.timestamp()


def _full_patient(
    session_factory, conversations, name=NAME, words=WORDS, chat=CHAT, now=NOW, phone=PHONE, file_id=FILE_ID
) -> int:
    """A patient with a row in every table there is: treatment, check-ins, link codes (used and unused), chat link,
    an escalated report acknowledged (so a notice to the patient is queued), a photo, an appointment, a flagged
    screening with its alert, staff reads and an export in the audit trail, and a conversation."""
    uow = UnitOfWork(session_factory)  # each use case opens and commits it
    treating = enrolment.list_practitioners(uow)[0]
    new = enrolment.add_patient_with_treatment(
        uow,
        name,
        T0,
        "face",
        "microneedling",
        treating.id,
        phone=phone,
        product_batch="EX-42",
        now=now,
        checkin_hours=(24, 72, 168),
    )
    pid = new.patient.id
    enrolment.redeem_link_code(uow, new.link_code, chat, now=now)
    recorded = reports.record_report(uow, pid, new.treatment.id, words, decision(Level.URGENT, "pus"), "rasa", now=now)
    escalations.acknowledge(uow, recorded.escalation.id, treating.id, now=now)
    reports.attach_photo(uow, pid, file_id, now=now, caption=CAPTION if name == NAME else None)
    appointments.add_appointment(
        uow,
        pid,
        now + dt.timedelta(days=20),
        "scalp",
        "microinjection",
        treating.id,
        preparation_lead=dt.timedelta(days=7),
        now=now,
    )
    appointments.record_screening(uow, pid, dict(ANSWERS, keloid="yes"), now=now)
    checkins.set_checkins_paused(uow, pid, True, now=now)
    records.view_patient(uow, pid, viewer=f"practitioner:{treating.id}", now=now)
    records.export_patient(uow, pid, actor="cli:tester", now=now)
    with UnitOfWork(session_factory) as open_uow:
        for delivery in open_uow.session.execute(
            select(AlertDelivery).where(AlertDelivery.escalation_id == recorded.escalation.id)
        ).scalars():
            # what the notifier writes when a message fails (the error may quote what was sent)
            repository.audit(
                open_uow,
                "alert_delivery",
                delivery.id,
                "failed",
                "system:notifier",
                {"recipient": delivery.recipient, "error": f"could not send: {words}"},
                now,
            )
        open_uow.commit()
    enrolment.new_link_code(uow, pid, now=now)  # an unused code issued later (revokes nothing used)
    sender = f"patient-{pid}"
    add_event(conversations.url, sender, "user", words, _ts(now))
    add_event(conversations.url, sender, "slot", words, _ts(now))
    add_event(conversations.url, sender, "bot", "Please call the clinic about the pus.", _ts(now))
    return pid


def _table_rows(session_factory) -> Dict[str, List[Dict[str, Any]]]:
    rows = {}
    with UnitOfWork(session_factory) as uow:
        for table in Base.metadata.sorted_tables:
            rows[table.name] = [dict(row._mapping) for row in uow.session.execute(table.select())]
    return rows


def _assert_nothing_left(session_factory, conversations, pid: int) -> None:
    for table, rows in _table_rows(session_factory).items():
        for row in rows:
            flat = json.dumps(row, default=str)
            for secret in (NAME, PHONE, "zqxv", FILE_ID):
                assert secret not in flat, (table, row)
            assert row.get("patient_id") != pid, (table, row)
            for column in ("chat_id", "telegram_chat_id", "used_by_chat_id"):
                assert row.get(column) not in (CHAT, NEW_CHAT), (table, row)
            assert row.get("recipient") != f"patient:{pid}" and row.get("actor") != f"patient:{pid}", (table, row)
            if table == "patients":
                assert row["id"] != pid
            if table == "audit_events" and row["entity"] == "patient" and row["entity_id"] == pid:
                assert row["action"] in ("erased", "conversation_erased", "conversation_not_erased"), row  # tombstone
    assert f"patient-{pid}" not in senders(conversations.url)


def _tombstone(session_factory, pid: int) -> List[AuditEvent]:
    with UnitOfWork(session_factory) as uow:
        return list(
            uow.session.execute(
                select(AuditEvent)
                .where(AuditEvent.entity == "patient", AuditEvent.entity_id == pid)
                .order_by(AuditEvent.id)
            ).scalars()
        )


def _export(session_factory, pid: int) -> Dict[str, Any]:
    data = records.export_patient(UnitOfWork(session_factory), pid)
    data.pop("exported_at")
    return data


# --- erasure -------------------------------------------------------------------------------------------------------
def test_erase_leaves_nothing_of_the_patient_and_touches_nobody_else(session_factory, clinic, conversations):
    other = _full_patient(
        session_factory, conversations, OTHER_NAME, OTHER_WORDS, chat=8001, phone="+44 1", file_id="other-file"
    )
    pid = _full_patient(session_factory, conversations)
    other_before = _export(session_factory, other)
    other_events = conversations.messages(other)
    everyone_before = {table: len(rows) for table, rows in _table_rows(session_factory).items()}

    result = retention.erase(session_factory, conversations, pid, "cli:alice", now=NOW + dt.timedelta(hours=1))

    assert result.complete and result.conversation_events == 3 and not result.already_erased
    assert result.rows["symptom_reports"] == 1 and result.rows["photos"] == 1 and result.rows["escalations"] == 1
    assert result.rows["link_codes"] == 2 and result.rows["scheduled_checkins"] >= 3
    assert result.rows["alert_deliveries"] >= 3  # the alert, the patient's notice, the screening alert
    _assert_nothing_left(session_factory, conversations, pid)
    # the other patients are untouched: their whole record, their conversation, the practitioners
    assert _export(session_factory, other) == other_before
    assert conversations.messages(other) == other_events
    assert conversations.messages(clinic.patient_id) == []
    after = {table: len(rows) for table, rows in _table_rows(session_factory).items()}
    assert after["practitioners"] == everyone_before["practitioners"]
    # the tombstone: who and when, no name, no words, no health data
    erased, conversation = _tombstone(session_factory, pid)
    assert (erased.action, erased.actor, erased.at) == ("erased", "cli:alice", NOW + dt.timedelta(hours=1))
    assert erased.detail["reason"] == "request" and erased.detail["rows"]["patients"] == 1
    assert set(erased.detail) == {"reason", "rows"}
    assert (conversation.action, conversation.detail) == ("conversation_erased", {"events": 3})


def test_an_unreachable_conversation_store_is_said_and_a_second_run_finishes(session_factory, clinic, conversations):
    pid = _full_patient(session_factory, conversations)
    result = retention.erase(session_factory, UNREACHABLE_PG, pid, "cli:alice")
    assert not result.complete and result.conversation_events is None
    assert "unreachable" in result.conversation_error and "port 1" in result.conversation_error
    assert "s3cret" not in result.conversation_error
    with pytest.raises(errors.UnknownPatient):  # the clinic's records are erased all the same
        enrolment.get_patient(UnitOfWork(session_factory), pid)
    assert [e.action for e in _tombstone(session_factory, pid)] == ["erased", "conversation_not_erased"]
    assert f"patient-{pid}" in senders(conversations.url)

    again = retention.erase(session_factory, conversations, pid, "cli:alice")
    assert again.complete and again.already_erased and again.conversation_events == 3
    _assert_nothing_left(session_factory, conversations, pid)


def test_erasing_an_unknown_patient_is_refused(session_factory, clinic, conversations):
    with pytest.raises(errors.UnknownPatient):
        retention.erase(session_factory, conversations, 4242, "cli:alice")
    assert _tombstone(session_factory, 4242) == []


def test_preview_counts_without_erasing(session_factory, clinic, conversations):
    pid = _full_patient(session_factory, conversations)
    plan = retention.preview(session_factory, conversations, pid)
    assert plan["rows"]["patients"] == 1 and plan["rows"]["symptom_reports"] == 1
    assert plan["conversation_events"] == 3
    assert _export(session_factory, pid)["patient"]["display_name"] == NAME
    assert "unknown" in str(retention.preview(session_factory, UNREACHABLE_PG, pid)["conversation_events"])


def test_an_erased_patients_id_is_never_given_again(session_factory, clinic, conversations):
    pid = _full_patient(session_factory, conversations)  # the highest id
    retention.erase(session_factory, UNREACHABLE_PG, pid, "cli:alice")  # its conversation left behind
    newcomer = enrolment.add_patient(UnitOfWork(session_factory), "New Person")
    assert newcomer.id > pid
    assert conversations.messages(newcomer.id) == []


# --- retention ------------------------------------------------------------------------------------------------------
def _patient_treated(session_factory, name: str, treated: dt.datetime) -> int:
    uow = UnitOfWork(session_factory)
    treating = enrolment.list_practitioners(uow)[0]
    new = enrolment.add_patient_with_treatment(uow, name, treated, "face", "microneedling", treating.id, now=treated)
    return new.patient.id


def test_purge_erases_only_patients_inactive_longer_than_the_retention(session_factory, clinic, conversations):
    # the clinic fixture's patient: treated T0, registered NOW (= T0 + 2 days), nothing since
    old = _patient_treated(session_factory, "Old Treatment", T0 - dt.timedelta(days=400))
    wrote_late = _patient_treated(session_factory, "Wrote Later", T0 - dt.timedelta(days=400))
    chatted_late = _patient_treated(session_factory, "Chatted Later", T0 - dt.timedelta(days=400))
    treated_late = _patient_treated(session_factory, "Treated Later", T0 - dt.timedelta(days=400))
    uow = UnitOfWork(session_factory)
    treating = enrolment.list_practitioners(uow)[0]
    reports.record_report(
        uow, wrote_late, None, "still a bit red", decision(Level.NORMAL), "rasa", now=T0 + dt.timedelta(days=300)
    )
    enrolment.add_treatment(
        uow,
        treated_late,
        T0 + dt.timedelta(days=200),
        "scalp",
        "microinjection",
        treating.id,
        now=T0 + dt.timedelta(days=200),
    )
    add_event(conversations.url, f"patient-{old}", "user", "hello", _ts(T0 - dt.timedelta(days=390)))
    add_event(conversations.url, f"patient-{chatted_late}", "user", "a question", _ts(T0 + dt.timedelta(days=330)))

    clock = T0 + dt.timedelta(days=365)  # the fake clock: a year after T0; retention 180 days
    assert retention.purge(session_factory, conversations, 0, now=clock).erased == []  # 0 = keep everything
    dry = retention.purge(session_factory, conversations, 180, now=clock, dry_run=True)
    assert sorted(e.patient_id for e in dry.erased) == sorted([clinic.patient_id, old])
    with UnitOfWork(session_factory) as uow:
        inactive = [
            p
            for p in repository.list_patient_ids(uow)
            if repository.last_activity(uow, p) < clock - dt.timedelta(days=180)
        ]
        assert len(inactive) == 3  # chatted_late too

    result = retention.purge(session_factory, conversations, 180, now=clock)

    assert result.complete and sorted(e.patient_id for e in result.erased) == sorted([clinic.patient_id, old])
    with UnitOfWork(session_factory) as uow:
        left = {
            p
            for p in (clinic.patient_id, old, wrote_late, chatted_late, treated_late)
            if uow.session.get(repository.Patient, p) is not None
        }
    assert left == {wrote_late, chatted_late, treated_late}
    assert f"patient-{old}" not in senders(conversations.url)
    tomb = _tombstone(session_factory, old)[0]
    assert (tomb.action, tomb.actor, tomb.detail["reason"]) == ("erased", "system:retention", "retention")

    # a day later nothing else is due; 80 days later (cutoff T0 + 265 days) the one treated at T0 + 200 days is
    assert retention.purge(session_factory, conversations, 180, now=clock + dt.timedelta(days=1)).erased == []
    later = retention.purge(session_factory, conversations, 180, now=clock + dt.timedelta(days=80))
    assert [e.patient_id for e in later.erased] == [treated_late]


def test_purge_erases_nothing_when_the_conversation_store_cannot_be_asked(session_factory, clinic):
    result = retention.purge(session_factory, UNREACHABLE_PG, 1, now=NOW + dt.timedelta(days=30))
    assert result.erased == [] and not result.complete and "unreachable" in result.error
    assert enrolment.get_patient(UnitOfWork(session_factory), clinic.patient_id)


async def test_the_gateway_purger_runs_daily_with_a_fake_clock(session_factory, clinic, conversations):
    moments = iter([NOW + dt.timedelta(days=10), NOW + dt.timedelta(days=40), NOW + dt.timedelta(days=41)])
    slept: List[float] = []
    stop = asyncio.Event()

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 4:
            stop.set()

    purger = retention.RetentionPurger(
        session_factory, conversations, 30, clock=lambda: next(moments), sleep=fake_sleep
    )
    await asyncio.wait_for(purger.run_forever(stop), 30)

    assert slept == [60.0, 86400.0, 86400.0, 86400.0]
    assert [len(run.erased) for run in purger.runs] == [0, 1, 0]  # day 40: treated T0, registered NOW: due
    with UnitOfWork(session_factory) as uow:
        assert uow.session.get(repository.Patient, clinic.patient_id) is None


async def test_the_purger_does_nothing_when_retention_is_off(session_factory, clinic):
    async def no_sleep(seconds: float) -> None:
        raise AssertionError("a purger with retention 0 must not even wait")

    purger = retention.RetentionPurger(session_factory, None, 0, sleep=no_sleep)
    await purger.run_forever()
    assert purger.runs == []


# --- export and audited reads -----------------------------------------------------------------------------------------
def test_conversation_messages_for_the_export(session_factory, clinic, conversations):
    sender = f"patient-{clinic.patient_id}"
    add_event(conversations.url, sender, "user", "my face is swollen", _ts(NOW))
    add_event(conversations.url, sender, "slot", "ignored", _ts(NOW))
    add_event(conversations.url, sender, "bot", "Some swelling is expected.", _ts(NOW) + 1)
    add_event(conversations.url, "patient-999", "user", "someone else", _ts(NOW))
    messages = conversations.messages(clinic.patient_id)
    assert [(m["from"], m["text"]) for m in messages] == [
        ("patient", "my face is swollen"),
        ("assistant", "Some swelling is expected."),
    ]
    assert messages[0]["at"] == NOW.isoformat()
    with pytest.raises(ConversationStoreUnavailable, match="unreachable"):
        UNREACHABLE_PG.messages(clinic.patient_id)


def test_a_missing_embedded_store_holds_no_conversations(tmp_path):
    store = ConversationStore.sqlite(tmp_path / "never" / "rasa_tracker.db")
    assert store.messages(1) == [] and store.erase(1) == 0 and store.last_event_at(1) is None
    assert not (tmp_path / "never").exists()


def test_staff_reads_and_exports_are_audited_without_health_data(session_factory, clinic):
    from bot.bootstrap.gateway import StoreEscalations

    summary = asyncio.run(StoreEscalations(session_factory).patient_summary(clinic.patient_id, clinic.on_call_id))
    assert "Jane Patient" in summary
    records.export_patient(UnitOfWork(session_factory), clinic.patient_id, actor="cli:alice")
    reads = [e for e in _tombstone(session_factory, clinic.patient_id) if e.action in ("viewed", "exported")]
    assert [(e.action, e.actor, e.detail) for e in reads] == [
        ("viewed", f"practitioner:{clinic.on_call_id}", {}),
        ("exported", "cli:alice", {}),
    ]


# --- re-linking -----------------------------------------------------------------------------------------------------
def test_relinking_from_a_new_chat_revokes_the_old_chat_and_older_codes(session_factory, clinic):
    uow = UnitOfWork(session_factory)
    first = enrolment.new_link_code(uow, clinic.patient_id, now=NOW)
    second = enrolment.new_link_code(uow, clinic.patient_id, now=NOW + dt.timedelta(minutes=1))
    with pytest.raises(errors.LinkCodeExpired):  # issuing `second` revoked `first`
        enrolment.redeem_link_code(uow, first.code, NEW_CHAT, now=NOW + dt.timedelta(minutes=2))
    # an escalation acknowledged: the patient's notice is queued for the old chat, not sent yet
    recorded = reports.record_report(
        uow, clinic.patient_id, clinic.treatment_id, "pus", decision(Level.URGENT, "pus"), "rasa", now=NOW
    )
    escalations.acknowledge(uow, recorded.escalation.id, clinic.treating_id, now=NOW)

    enrolment.redeem_link_code(uow, second.code, NEW_CHAT, now=NOW + dt.timedelta(minutes=3))

    assert enrolment.patient_for_chat(uow, 5001) is None  # the old chat (store_helpers.PATIENT_CHAT)
    assert enrolment.patient_for_chat(uow, NEW_CHAT).id == clinic.patient_id
    with UnitOfWork(session_factory) as open_uow:
        notices = (
            open_uow.session.execute(
                select(AlertDelivery).where(AlertDelivery.recipient == f"patient:{clinic.patient_id}")
            )
            .scalars()
            .all()
        )
        assert [n.chat_id for n in notices] == [NEW_CHAT]
        actions = [
            e.action
            for e in open_uow.session.execute(select(AuditEvent).where(AuditEvent.entity == "chat_link")).scalars()
        ]
        assert "unlinked" in actions
    # the old chat cannot link itself back with an old code, nor with the used one
    for code in (clinic.link_code, first.code, second.code):
        with pytest.raises(errors.StoreError):
            enrolment.redeem_link_code(uow, code, 5001, now=NOW + dt.timedelta(minutes=4))


def test_a_new_code_revokes_every_older_unused_code_but_not_the_linked_chat(session_factory, clinic):
    uow = UnitOfWork(session_factory)
    older = [enrolment.new_link_code(uow, clinic.patient_id, now=NOW) for _ in range(3)]
    newest = enrolment.new_link_code(uow, clinic.patient_id, now=NOW + dt.timedelta(seconds=5))
    with UnitOfWork(session_factory) as open_uow:
        codes = {c.id: c for c in open_uow.session.execute(select(LinkCode)).scalars()}
    assert all(codes[c.id].expires_at <= NOW + dt.timedelta(seconds=5) for c in older)
    assert codes[newest.id].expires_at > NOW + dt.timedelta(hours=1)
    assert enrolment.patient_for_chat(uow, 5001).id == clinic.patient_id  # until the new code is used
    assert (
        enrolment.redeem_link_code(uow, newest.code, NEW_CHAT, now=NOW + dt.timedelta(minutes=1)).id
        == clinic.patient_id
    )


def test_relinking_through_the_gateway_adapter(session_factory, clinic):
    from bot.bootstrap.gateway import StoreLinks

    code = enrolment.new_link_code(UnitOfWork(session_factory), clinic.patient_id)
    links = StoreLinks(session_factory)
    assert asyncio.run(links.redeem(code.code, NEW_CHAT)) == "Jane Patient"
    assert asyncio.run(links.patient_for_chat(5001)) is None  # the old chat can no longer write as her
    assert asyncio.run(links.patient_for_chat(NEW_CHAT)).id == clinic.patient_id


def test_the_conversation_store_of_each_profile():
    from bot.bootstrap import conversation_store
    from bot.settings import Settings

    embedded = conversation_store(Settings.from_env({"AFTERCARE_DATA_DIR": "/srv/aftercare"}))
    assert embedded.url == "sqlite:////srv/aftercare/rasa_tracker.db"
    production = conversation_store(
        Settings.from_env(
            {
                "AFTERCARE_PROFILE": "production",
                "DATABASE_URL": "postgresql+psycopg2://clinic:s3cret@db.example:6543/aftercare",
            }
        )
    )
    url = production.url
    assert (url.host, url.port, url.database, url.username, url.password) == (
        "db.example",
        6543,
        "rasa_tracker",
        "clinic",
        "s3cret",
    )
    assert "s3cret" not in production.where and "rasa_tracker" in production.where
    overridden = conversation_store(
        Settings.from_env(
            {
                "AFTERCARE_PROFILE": "production",
                "RASA_TRACKER_PG_DB": "tracker2",
                "RASA_TRACKER_PG_HOST": "tr.example",
                "DATABASE_URL": "postgresql+psycopg2://clinic:s3cret@db.example:6543/aftercare",
            }
        )
    )
    assert (overridden.url.host, overridden.url.database) == ("tr.example", "tracker2")


async def test_a_purger_without_a_conversation_store_never_stops_the_gateway(session_factory, clinic):
    from bot.bootstrap import retention_purger
    from bot.settings import Settings

    broken = Settings.from_env(
        {"AFTERCARE_PROFILE": "production", "DATA_RETENTION_DAYS": "30", "DATABASE_URL": "sqlite:///nowhere.db"}
    )  # production needs PostgreSQL
    purger = retention_purger(broken, session_factory)
    result = await purger.run_once()
    assert result.error == "the conversation store is not configured" and result.erased == []
    assert enrolment.get_patient(UnitOfWork(session_factory), clinic.patient_id)


def test_unlinking_at_once_cancels_notices_queued_for_the_old_chat(session_factory, clinic):
    uow = UnitOfWork(session_factory)
    recorded = reports.record_report(
        uow, clinic.patient_id, clinic.treatment_id, "pus", decision(Level.URGENT, "pus"), "rasa", now=NOW
    )
    escalations.acknowledge(uow, recorded.escalation.id, clinic.treating_id, now=NOW)
    assert enrolment.unlink_chats(uow, clinic.patient_id, "cli:alice", now=NOW) == 1
    with UnitOfWork(session_factory) as uow:
        assert repository.patient_for_chat(uow, 5001) is None
        notices = (
            uow.session.execute(select(AlertDelivery).where(AlertDelivery.recipient == f"patient:{clinic.patient_id}"))
            .scalars()
            .all()
        )
        assert [n.status for n in notices] == ["cancelled"]
