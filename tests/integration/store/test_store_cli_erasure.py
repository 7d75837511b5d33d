"""`aftercare patient erase`, `aftercare purge`, `aftercare export` with the conversation, and strict ids, through
bot.cli.main on both backends (the conversation store is the embedded profile's SQLite file in the data dir)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from conversation_helpers import add_event, create_events_table, senders
from sqlalchemy import select
from store_helpers import decision

from bot import cli
from bot.store import repository
from bot.store.models import AuditEvent, Patient
from bot.store.uow import UnitOfWork
from bot.triage.model import Level
from bot.usecases import enrolment, reports

WORDS = "yellow stuff oozing from the needle marks qzv"


@pytest.fixture
def data_dir(tmp_path):
    path = tmp_path / "var"
    path.mkdir()
    return path


@pytest.fixture
def tracker(data_dir):
    url = f"sqlite:///{data_dir / 'rasa_tracker.db'}"
    create_events_table(url)
    return url


@pytest.fixture
def aftercare(db_url, data_dir, monkeypatch, capsys):
    """Run `aftercare ARGS...`; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("AFTERCARE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("AFTERCARE_PROFILE", "embedded")
    monkeypatch.delenv("DATA_RETENTION_DAYS", raising=False)

    def run(*args: str):
        code = cli.main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def _patient(session_factory, name="Ann Example", when=None) -> int:
    when = when or dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=20)
    uow = UnitOfWork(session_factory)
    treating = enrolment.add_practitioner(uow, f"Dr {name}", "treating", abs(hash(name)) % 10**9)
    new = enrolment.add_patient_with_treatment(uow, name, when, "face", "microneedling", treating.id, now=when)
    enrolment.redeem_link_code(uow, new.link_code, 5000 + new.patient.id, now=when)
    reports.record_report(uow, new.patient.id, new.treatment.id, WORDS, decision(Level.URGENT, "pus"), "rasa", now=when)
    return new.patient.id


def _exists(session_factory, patient_id: int) -> bool:
    with UnitOfWork(session_factory) as uow:
        return uow.session.get(Patient, patient_id) is not None


def test_erase_without_yes_is_a_dry_run_and_with_yes_erases_everywhere(aftercare, session_factory, tracker):
    pid = _patient(session_factory)
    add_event(tracker, f"patient-{pid}", "user", WORDS, 1.0)
    add_event(tracker, f"patient-{pid}", "bot", "Please call the clinic.", 2.0)
    add_event(tracker, "patient-77", "user", "someone else", 3.0)

    code, out, err = aftercare("patient", "erase", str(pid))
    assert (code, err) == (0, "")
    assert out.startswith(f"dry run: erasing patient {pid} would remove")
    assert "1  symptom_reports" in out and "2  conversation events" in out and "--yes" in out
    assert _exists(session_factory, pid) and len(senders(tracker)) == 3

    code, out, err = aftercare("patient", "erase", str(pid), "--yes")
    assert (code, err) == (0, "")
    assert f"patient {pid} erased: " in out and "1 symptom_reports" in out
    assert f"patient {pid}: conversation erased (2 events" in out
    assert not _exists(session_factory, pid) and senders(tracker) == ["patient-77"]
    with UnitOfWork(session_factory) as uow:
        tomb = (
            uow.session.execute(select(AuditEvent).where(AuditEvent.entity == "patient", AuditEvent.entity_id == pid))
            .scalars()
            .all()
        )
    assert [t.action for t in tomb] == ["erased", "conversation_erased"]
    assert all(t.actor.startswith("cli") for t in tomb)
    assert "Ann" not in json.dumps([t.detail for t in tomb]) and "qzv" not in json.dumps([t.detail for t in tomb])


def test_erase_says_so_and_exits_1_when_the_conversation_store_is_unreachable(aftercare, session_factory, data_dir):
    pid = _patient(session_factory)
    (data_dir / "rasa_tracker.db").mkdir()  # a conversation store that cannot be opened

    code, out, err = aftercare("patient", "erase", str(pid), "--yes")

    assert code == 1
    assert f"patient {pid} erased" in out  # the clinic's records are erased all the same
    assert "conversation was NOT erased" in err and "unreachable" in err and "--yes` again" in err
    assert not _exists(session_factory, pid)

    (data_dir / "rasa_tracker.db").rmdir()
    create_events_table(f"sqlite:///{data_dir / 'rasa_tracker.db'}")
    code, out, err = aftercare("patient", "erase", str(pid), "--yes")
    assert (code, err) == (0, "") and "erased before" in out and "conversation erased (0 events" in out


def test_export_has_the_conversation_and_is_audited(aftercare, session_factory, tracker, data_dir):
    pid = _patient(session_factory)
    add_event(tracker, f"patient-{pid}", "user", WORDS, 1764000000.0)
    add_event(tracker, f"patient-{pid}", "bot", "Please call the clinic.", 1764000001.0)

    code, out, err = aftercare("export", str(pid))

    assert (code, err) == (0, "")
    data = json.loads(out)
    assert data["conversation"]["available"] is True
    assert [(m["from"], m["text"]) for m in data["conversation"]["messages"]] == [
        ("patient", WORDS),
        ("assistant", "Please call the clinic."),
    ]
    exported = [e for e in data["audit_events"] if e["action"] == "exported"]
    assert len(exported) == 1 and exported[0]["actor"].startswith("cli") and exported[0]["detail"] == {}

    (data_dir / "rasa_tracker.db").unlink()
    (data_dir / "rasa_tracker.db").mkdir()
    code, out, err = aftercare("export", str(pid))
    assert code == 0 and "no conversation" in err
    conversation = json.loads(out)["conversation"]
    assert conversation["available"] is False and "unreachable" in conversation["reason"]
    assert conversation["messages"] == []


def test_purge_for_cron(aftercare, session_factory, tracker, monkeypatch):
    old = _patient(session_factory, "Old Patient", dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=100))
    recent = _patient(session_factory, "Recent Patient")

    code, out, _ = aftercare("purge")
    assert (code, out) == (0, "DATA_RETENTION_DAYS is 0 (keep everything): nothing to purge\n")

    monkeypatch.setenv("DATA_RETENTION_DAYS", "30")
    code, out, _ = aftercare("purge", "--dry-run")
    assert code == 0 and f"would be erased: {old}" in out and _exists(session_factory, old)

    code, out, err = aftercare("purge")
    assert (code, err) == (0, "")
    assert f"patient {old} erased" in out
    assert not _exists(session_factory, old) and _exists(session_factory, recent)
    code, out, _ = aftercare("purge")
    assert code == 0 and out.startswith("no patient inactive since before")


def test_purge_exits_1_when_the_conversation_store_is_unreachable(aftercare, session_factory, data_dir, monkeypatch):
    old = _patient(session_factory, "Old Patient", dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=100))
    (data_dir / "rasa_tracker.db").mkdir()
    monkeypatch.setenv("DATA_RETENTION_DAYS", "30")
    code, out, err = aftercare("purge")
    assert code == 1 and "purge not done" in err and "unreachable" in err
    assert _exists(session_factory, old)


BAD_IDS = ["²", "1.5", "-3", "99999999999999999999", "", "٣", " 7", "0x1"]


@pytest.mark.parametrize("bad", BAD_IDS)
@pytest.mark.parametrize(
    "command",
    [("export",), ("patient", "erase"), ("patient", "link"), ("practitioner", "update"), ("appointment", "add")],
)
def test_admin_ids_are_parsed_strictly(aftercare, session_factory, command, bad):
    pid = _patient(session_factory)
    extra = (
        ["--at", "2099-01-01T10:00", "--area", "face", "--method", "microneedling", "--practitioner", "1"]
        if command == ("appointment", "add")
        else []
    )
    code, out, err = aftercare(*command, bad, *extra)
    assert code == 2 and out == ""
    assert "is not an id" in err or "is missing" in err or "ids go up to" in err, err
    assert "Traceback" not in err
    assert _exists(session_factory, pid)


def test_a_huge_practitioner_id_is_refused_before_the_database(aftercare, session_factory):
    pid = _patient(session_factory)
    code, _, err = aftercare(
        "patient",
        "add",
        "--name",
        "X",
        "--treated-at",
        "2026-11-20T10:00",
        "--area",
        "face",
        "--method",
        "microneedling",
        "--practitioner",
        "99999999999999999999",
    )
    assert code == 2 and "ids go up to 2147483647" in err
    code, _, err = aftercare("practitioner", "add", "--name", "Dr Y", "--chat-id", "²")
    assert code == 2 and "not a Telegram chat id" in err
    assert _exists(session_factory, pid)


def test_patient_link_revokes_older_codes_and_can_unlink_the_chat_at_once(aftercare, session_factory):
    pid = _patient(session_factory)
    code, out, _ = aftercare("patient", "link", str(pid))
    assert code == 0 and "older unused link codes" in out and "--unlink-now" in out
    with UnitOfWork(session_factory) as uow:
        assert repository.patient_for_chat(uow, 5000 + pid).id == pid  # still linked until the new code is used

    code, out, _ = aftercare("patient", "link", str(pid), "--unlink-now")
    assert code == 0 and "1 chat(s) unlinked now" in out
    with UnitOfWork(session_factory) as uow:
        assert repository.patient_for_chat(uow, 5000 + pid) is None
        codes = (
            uow.session.execute(select(repository.LinkCode).where(repository.LinkCode.patient_id == pid))
            .scalars()
            .all()
        )
        live = [c for c in codes if c.used_at is None and c.expires_at > dt.datetime.now(dt.timezone.utc)]
        assert len(live) == 1  # only the newest code links
