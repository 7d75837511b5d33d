"""`aftercare console-user add|password|list` through bot.cli.main, and the terminal demo's console account, on both
backends: passwords only from standard input or typed twice (never an argument), one-line errors, exit codes."""

from __future__ import annotations

import io

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from bot import cli
from bot.settings import Settings
from bot.store.models import ConsoleAccount
from bot.store.uow import UnitOfWork
from bot.usecases import console_accounts, enrolment

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch):
    monkeypatch.setattr(console_accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def aftercare(db_url, monkeypatch, capsys):
    """Run `aftercare ARGS...` with `stdin`; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("CONSOLE_PORT", "8765")

    def run(*args: str, stdin: str = ""):
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = cli.main(list(args))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def test_add_list_and_change_password(aftercare, session_factory) -> None:
    doctor = enrolment.add_practitioner(UnitOfWork(session_factory), "Dr Ada", "treating", 424242)
    code, out, err = aftercare(
        "console-user", "add", "Ada", "--role", "clinician", "--practitioner", str(doctor.id), "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert (code, err) == (0, "")
    assert out == f"console account ada added (clinician, acts as practitioner {doctor.id})\n" + (
        "sign in at http://127.0.0.1:8765/\n"
    )
    assert PASSWORD not in out
    code, out, _ = aftercare("console-user", "add", "front", "--role", "desk", "--password-stdin", stdin=PASSWORD)
    assert code == 0
    code, out, _ = aftercare("console-user", "list")
    assert code == 0
    assert out.splitlines()[1:] == [
        f"   1  clinician yes               {doctor.id}  ada",
        "   2  desk      yes               -  front",
    ]

    uow = UnitOfWork(session_factory)
    token, _ = console_accounts.open_session(uow, 1)
    code, out, _ = aftercare("console-user", "password", "ada", "--password-stdin", stdin="another long passphrase\n")
    assert (code, out) == (0, "password of ada changed; its sessions have ended\n")
    assert console_accounts.session_account(uow, token) is None
    assert console_accounts.authenticate(uow, "ada", "another long passphrase") is not None
    with UnitOfWork(session_factory) as open_uow:
        hashes = [row.password_hash for row in open_uow.session.execute(select(ConsoleAccount)).scalars()]
    assert all(h.startswith("$argon2id$") for h in hashes)


def test_disable_signs_out_and_keeps_out(aftercare, session_factory) -> None:
    aftercare("console-user", "add", "ada", "--role", "desk", "--password-stdin", stdin=PASSWORD)
    uow = UnitOfWork(session_factory)
    token, _ = console_accounts.open_session(uow, 1)
    assert aftercare("console-user", "disable", "Ada")[:2] == (
        0,
        "console account ada disabled; its sessions have ended\n",
    )
    assert console_accounts.session_account(uow, token) is None
    assert console_accounts.authenticate(uow, "ada", PASSWORD) is None
    assert "  desk      no " in aftercare("console-user", "list")[1]
    assert aftercare("console-user", "enable", "ada")[:2] == (0, "console account ada enabled\n")
    assert console_accounts.authenticate(uow, "ada", PASSWORD) is not None
    assert aftercare("console-user", "disable", "ghost")[0] == 2


def test_bad_input_is_one_line_and_exit_code_2(aftercare) -> None:
    code, out, err = aftercare("console-user", "add", "bob", "--role", "desk", "--password-stdin", stdin="too short\n")
    assert (code, out, err) == (2, "", "error: The password must be at least 12 characters long.\n")
    code, _, err = aftercare("console-user", "add", "bob", "--role", "desk", "--practitioner", "7", "--password-stdin",
                             stdin=PASSWORD)  # fmt: skip
    assert code == 2 and err.startswith("error: ") and len(err.splitlines()) == 1
    assert aftercare("console-user", "add", "bob", "--role", "root", "--password-stdin", stdin=PASSWORD)[0] == 2
    code, _, err = aftercare("console-user", "password", "ghost", "--password-stdin", stdin=PASSWORD)
    assert (code, err) == (2, "error: There is no console account named 'ghost'.\n")
    assert aftercare("console-user", "list")[1].startswith("no console accounts yet")


def test_typed_passwords_must_match(aftercare, monkeypatch) -> None:
    typed = iter([PASSWORD, PASSWORD + "!"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(typed))
    code, _, err = aftercare("console-user", "add", "bob", "--role", "admin")
    assert (code, err) == (2, "error: The two passwords differ.\n")
    typed = iter([PASSWORD, PASSWORD])
    assert aftercare("console-user", "add", "bob", "--role", "admin")[0] == 0


def test_the_terminal_demo_gets_an_admin_account_with_a_new_password_each_run(session_factory) -> None:
    from bot.run.console import ensure_demo_clinic, ensure_demo_console_account

    ensure_demo_clinic(session_factory, Settings())
    first = ensure_demo_console_account(session_factory)
    second = ensure_demo_console_account(session_factory)
    assert first != second and len(second) >= 12
    uow = UnitOfWork(session_factory)
    (demo,) = console_accounts.list_accounts(uow)
    treating = enrolment.practitioner_for_chat(uow, 1001)
    assert (demo.username, demo.role, demo.practitioner_id) == ("demo", "admin", treating.id)
    assert console_accounts.authenticate(uow, "demo", first) is None
    assert console_accounts.authenticate(uow, "demo", second) is not None
