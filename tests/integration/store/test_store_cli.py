"""The admin CLI (`aftercare ...`) run through bot.cli.main on both backends: output and exit codes."""

from __future__ import annotations

import json

import pytest
from store_helpers import decision

from bot import cli
from bot.store import db, repository
from bot.store.uow import UnitOfWork
from bot.triage.model import Level
from bot.usecases import reports


@pytest.fixture
def aftercare(db_url, monkeypatch, capsys):
    """Run `aftercare ARGS...`; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "GlowAftercareBot")

    def run(*args: str):
        code = cli.main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def _value(output: str, label: str) -> str:
    line = next(line for line in output.splitlines() if line.startswith(label))
    return line.split(":", 1)[1].strip()


def test_db_upgrade(aftercare):
    assert aftercare("db", "upgrade") == (0, f"database is at revision {db.head_revision()}\n", "")


def test_practitioner_add_and_list(aftercare):
    code, out, _ = aftercare("practitioner", "add", "--name", "Dr Ada", "--chat-id", "424242", "--role", "treating")
    assert (code, out) == (0, "practitioner 1 added (treating)\n")
    code, out, _ = aftercare("practitioner", "add", "--name", "Dr Bo", "--role", "backup")
    assert code == 0 and "cannot receive alerts" in out
    code, out, _ = aftercare("practitioner", "list")
    assert code == 0
    assert "   1  treating  yes            424242  Dr Ada" in out and "Dr Bo" in out


def test_patient_add_prints_id_code_and_deep_link(aftercare):
    aftercare("practitioner", "add", "--name", "Dr Ada", "--chat-id", "424242")
    code, out, err = aftercare(
        "patient",
        "add",
        "--name",
        "Jane",
        "--treated-at",
        "2026-11-20T10:00:00+00:00",
        "--area",
        "scalp",
        "--method",
        "microinjection",
        "--practitioner",
        "1",
        "--batch",
        "EX-9",
    )
    assert (code, err) == (0, "")
    link_code = _value(out, "link code").split()[0]
    assert _value(out, "patient id") == "1"
    assert _value(out, "telegram link") == f"https://t.me/GlowAftercareBot?start={link_code}"


@pytest.mark.parametrize(
    "args, message",
    [
        (["practitioner", "add", "--name", "Dr Dup", "--chat-id", "424242"], "already belongs"),
        (
            [
                "patient",
                "add",
                "--name",
                "J",
                "--treated-at",
                "2999-01-01T10:00",
                "--area",
                "face",
                "--method",
                "combined",
                "--practitioner",
                "1",
            ],
            "in the future",
        ),
        (
            [
                "patient",
                "add",
                "--name",
                "J",
                "--treated-at",
                "2026-11-20T10:00",
                "--area",
                "face",
                "--method",
                "combined",
                "--practitioner",
                "77",
            ],
            "No practitioner with id 77",
        ),
        (
            [
                "patient",
                "add",
                "--name",
                "J",
                "--treated-at",
                "2026-11-20T10:00",
                "--area",
                "arm",
                "--method",
                "combined",
                "--practitioner",
                "1",
            ],
            "invalid choice: 'arm'",
        ),
        (
            [
                "patient",
                "add",
                "--name",
                "J",
                "--treated-at",
                "yesterday",
                "--area",
                "face",
                "--method",
                "combined",
                "--practitioner",
                "1",
            ],
            "not an ISO date-time",
        ),
        (["export", "99"], "No patient with id 99"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(aftercare, args, message):
    aftercare("practitioner", "add", "--name", "Dr Ada", "--chat-id", "424242")
    code, out, err = aftercare(*args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err + out


def test_escalations_and_export(aftercare, db_url, session_factory):
    aftercare("practitioner", "add", "--name", "Dr Ada", "--chat-id", "424242")
    assert aftercare("escalations")[1] == "no open escalations\n"
    _, out, _ = aftercare(
        "patient",
        "add",
        "--name",
        "Jane",
        "--treated-at",
        "2026-11-20T10:00Z",
        "--area",
        "face",
        "--method",
        "microneedling",
        "--practitioner",
        "1",
    )
    patient_id = int(_value(out, "patient id"))
    with UnitOfWork(session_factory) as uow:
        treatment = repository.latest_treatment(uow, patient_id)
    reports.record_report(
        UnitOfWork(session_factory), patient_id, treatment.id, "yellow pus", decision(Level.URGENT, "discharge"), "rasa"
    )

    code, out, _ = aftercare("escalations")
    assert code == 0 and out.startswith("#1    urgent    open") and "patient 1 (Jane)" in out
    code, out, _ = aftercare("escalations", "--json")
    assert json.loads(out)[0]["criteria"] == ["urgent_rule"]

    code, out, _ = aftercare("export", str(patient_id))
    exported = json.loads(out)
    assert code == 0 and exported["symptom_reports"][0]["text"] == "yellow pus"
    assert exported["alert_deliveries"][0]["chat_id"] == 424242


def test_usage_errors_and_help_do_not_raise(aftercare):
    assert aftercare()[0] == 2
    assert aftercare("practitioner")[0] == 2
    code, out, _ = aftercare("--help")
    assert code == 0 and "practitioner" in out


def test_unreachable_database_is_a_clear_error(monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:1/nowhere")
    assert cli.main(["practitioner", "list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot use the database") and "Traceback" not in err


def test_practitioner_update_and_new_link(aftercare):
    aftercare("practitioner", "add", "--name", "Dr Ada")
    aftercare("practitioner", "add", "--name", "Dr Bo", "--chat-id", "77")
    code, out, _ = aftercare("practitioner", "update", "1", "--chat-id", "55", "--role", "on_call")
    assert (code, out) == (0, "practitioner 1: role on_call, active, chat id 55\n")
    assert aftercare("practitioner", "update", "1", "--active", "no")[1].startswith(
        "practitioner 1: role on_call, inactive"
    )
    code, _, err = aftercare("practitioner", "update", "1", "--chat-id", "77")
    assert code == 2 and "already belongs to practitioner 2" in err

    aftercare(
        "patient",
        "add",
        "--name",
        "Jane",
        "--treated-at",
        "2026-11-20T10:00Z",
        "--area",
        "face",
        "--method",
        "microneedling",
        "--practitioner",
        "2",
    )
    code, out, _ = aftercare("patient", "link", "1")
    assert code == 0 and "https://t.me/GlowAftercareBot?start=" in out
    assert aftercare("patient", "link", "9")[0] == 2


# Appointments (pre-treatment preparation and screening) ----------------------------------------------------------
def _patient(aftercare) -> None:
    aftercare("practitioner", "add", "--name", "Dr Ada", "--chat-id", "424242")
    aftercare(
        "patient",
        "add",
        "--name",
        "Jane",
        "--treated-at",
        "2026-11-20T10:00:00+00:00",
        "--area",
        "face",
        "--method",
        "microneedling",
        "--practitioner",
        "1",
    )


def test_appointment_add_books_it_and_schedules_the_preparation(aftercare, monkeypatch):
    monkeypatch.setenv("PREPARATION_LEAD_DAYS", "5")
    _patient(aftercare)
    code, out, err = aftercare(
        "appointment",
        "add",
        "1",
        "--at",
        "2999-01-10T09:30:00+00:00",
        "--area",
        "scalp",
        "--method",
        "combined",
        "--practitioner",
        "1",
    )
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "appointment id: 1 (2999-01-10 09:30 UTC)"
    code, out, _ = aftercare("export", "1")
    data = json.loads(out)
    assert data["appointments"][0]["scheduled_at"].startswith("2999-01-10T09:30")
    preparation = [c for c in data["checkins"] if c["kind"] == "preparation"]
    assert [c["due_at"][:16] for c in preparation] == ["2999-01-05T09:30"]
    # The planned treatment is not a performed one: the patient still has exactly one treatment.
    assert len(data["treatments"]) == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["--at", "2020-01-01T10:00"], "not in the future"),
        (["--at", "next tuesday"], "not an ISO date-time"),
        (["--at", "2999-01-10T09:30", "--practitioner", "77"], "No practitioner with id 77"),
        (["--at", "2999-01-10T09:30", "--area", "arm"], "invalid choice: 'arm'"),
        (["--at", "2999-01-10T09:30", "--patient", "99"], "No patient with id 99"),
    ],
)
def test_appointment_add_refuses_bad_input_with_exit_2(aftercare, args, message):
    _patient(aftercare)
    values = {"--patient": "1", "--area": "face", "--method": "microneedling", "--practitioner": "1"}
    it = iter(args)
    values.update(dict(zip(it, it)))
    patient = values.pop("--patient")
    argv = ["appointment", "add", patient] + [part for pair in values.items() for part in pair]
    code, out, err = aftercare(*argv)
    assert code == 2 and out == ""
    assert message in err


def test_a_patient_not_treated_yet_is_registered_then_booked(aftercare):
    aftercare("practitioner", "add", "--name", "Dr Ada", "--chat-id", "424242")
    code, out, err = aftercare("patient", "add", "--name", "Jo New")
    assert (code, err) == (0, "")
    assert _value(out, "patient id") == "1" and "appointment add 1" in out and _value(out, "link code")
    code, _, _ = aftercare(
        "appointment",
        "add",
        "1",
        "--at",
        "2999-01-10T09:30Z",
        "--area",
        "face",
        "--method",
        "combined",
        "--practitioner",
        "1",
    )
    data = json.loads(aftercare("export", "1")[1])
    assert code == 0 and data["treatments"] == [] and len(data["appointments"]) == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["--area", "face"], "--area describe a treatment: add --treated-at too"),
        (["--treated-at", "2026-11-20T10:00Z", "--area", "face"], "also give --method, --practitioner"),
    ],
)
def test_patient_add_needs_all_treatment_details_or_none(aftercare, args, message):
    aftercare("practitioner", "add", "--name", "Dr Ada", "--chat-id", "424242")
    code, out, err = aftercare("patient", "add", "--name", "Jo", *args)
    assert (code, out) == (2, "") and message in err
