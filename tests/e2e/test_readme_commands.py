"""Every command the README shows, run as a user runs it: a subprocess of the real console script or make target,
against the trained model and a temporary database. A command that crashes (an ImportError in a lazy import, a
renamed function, a traceback instead of a message) fails here, not in front of a clinic.

* `aftercare ...` admin commands: taken from the README's own "Setting up a clinic" block (so a new README
  command without a check fails `test_every_readme_aftercare_command_is_checked`), with the dates moved next to
  today, then asserted on their output and on the rows in the SQLite file.
* `echo '{...}' | aftercare triage`: the README's line, plus a bad line and a missing model.
* `make eval`: into a temporary EVAL_OUT; structure only (others tune the rules, so the figures move).
* `make run` without a Telegram token: the terminal chat in a pseudo-terminal, started once for the module, in a
  network namespace of its own when the machine allows it (the launcher's ports 5005/5055 are fixed, so this keeps
  it from clashing with anything else on the machine). Disclaimer, a mild report, a red flag and its alert box,
  /ack and the patient's notice, then Ctrl-C, after which no process it started may be left running.

Neither make target may retrain here: `make test` trains before pytest runs, training takes minutes on 2 cores,
and other tests read the model. So make is told the model is up to date (`-o models/.trained`); the rest of
each target's recipe runs exactly as a user's would.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
import shlex
import signal
import sqlite3
import struct
import subprocess
import termios
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import pytest

from bot.run.processes import BIN
from devtools.processes import _descendants
from tests.e2e.conftest import MODEL, ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.rasa]

AFTERCARE = BIN / "aftercare"
PHONE = "+44 20 7946 0000"
EMERGENCY = "999"
BOT_USERNAME = "GlowAftercareBot"
KEEP_MODEL = ["-o", f"{MODEL.parent.name}/.trained"]  # make: take the trained model as it is (see above)

CLI_TIMEOUT = 60  # one admin command: migrations + one transaction
TRIAGE_TIMEOUT = 240  # loads the Rasa model (~15 s on an idle machine; others may be training)
EVAL_TIMEOUT = 600  # loads the model and parses a few hundred messages (~20 s idle)
START_TIMEOUT = 240  # make run: action server + Rasa loading the model (the launcher's own limit is 240 s)
REPLY_TIMEOUT = 60  # one message through Rasa, the action server and the database
STOP_TIMEOUT = 60  # Ctrl-C until every process is gone


def user_env(tmp: Path, **extra: str) -> Dict[str, str]:
    """The environment of a clinic that set only what the README asks for, with its records in `tmp`.

    Explicit values win over a developer's .env (Settings reads it, real variables first); MAKEFLAGS from an
    outer `make test` must not reach the make we run."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{tmp / 'clinic.db'}",
            "AFTERCARE_DATA_DIR": str(tmp / "var"),
            "AFTERCARE_PROFILE": "embedded",
            "TELEGRAM_BOT_TOKEN": "",
            "TELEGRAM_BOT_USERNAME": BOT_USERNAME,
            "CLINIC_PHONE": PHONE,
            "EMERGENCY_NUMBER": EMERGENCY,
            "RASA_TELEMETRY_ENABLED": "false",
        }
    )
    env.update(extra)
    return env


def run(
    args: List[str], env: Dict[str, str], timeout: float, stdin: Optional[str] = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(a) for a in args], input=stdin, capture_output=True, text=True, env=env, cwd=ROOT, timeout=timeout
    )


def explain(result: subprocess.CompletedProcess) -> str:
    return (
        f"`{shlex.join(map(str, result.args))}` exited {result.returncode}\n--- stdout\n{result.stdout[-3000:]}"
        f"\n--- stderr\n{result.stderr[-3000:]}"
    )


def no_traceback(result: subprocess.CompletedProcess) -> bool:
    return "Traceback (most recent call last)" not in result.stdout + result.stderr


# --- the README's commands ---------------------------------------------------------------------------------------


def readme_commands() -> List[Tuple[List[str], Optional[str]]]:
    """(arguments after `.venv/bin/aftercare`, text piped to it or None), in README order."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", readme, flags=re.S):
        for line in re.sub(r"\\\n\s*", " ", block).splitlines():
            words = shlex.split(line, comments=True)
            if ".venv/bin/aftercare" not in words:
                continue
            at = words.index(".venv/bin/aftercare")
            piped = None
            if at >= 2 and words[at - 1] == "|" and words[0] == "echo":
                piped = " ".join(words[1 : at - 1]) + "\n"
            commands.append((words[at + 1 :], piped))
    return commands


def subcommand(args: List[str]) -> str:
    """'practitioner add', 'patient add', 'escalations', ...: the words before the first argument (at most two:
    `console-user add lee`'s third word is the username)."""
    words = []
    for word in args:
        if word.startswith("-") or word.isdigit() or len(words) == 2:
            break
        words.append(word)
    return " ".join(words)


CHECKED = {
    "practitioner add",
    "patient add",
    "appointment add",
    "escalations",
    "export",
    "doctor",
    "triage",
    "console-user add",
    "console-user password",
    "console-user list",
}


def test_every_readme_aftercare_command_is_checked():
    shown = {subcommand(args) for args, _ in readme_commands()}
    assert shown, "no `.venv/bin/aftercare` command found in the README's sh blocks"
    unchecked = shown - CHECKED
    assert not unchecked, (
        f"the README shows `aftercare {sorted(unchecked)}` but test_readme_commands.py does not run it: add a test"
    )


def _local_minute(moment: dt.datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%dT%H:%M")  # the README's format: local time, no offset


def with_dates_near_today(args: List[str], now: dt.datetime) -> List[str]:
    """The README's example dates are fixed; a treatment must be in the past and an appointment in the future."""
    moved = list(args)
    for option, moment in (("--treated-at", now - dt.timedelta(days=3)), ("--at", now + dt.timedelta(days=6))):
        if option in moved:
            moved[moved.index(option) + 1] = _local_minute(moment)
    return moved


# --- admin commands ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clinic(tmp_path_factory):
    """The README's "Setting up a clinic" commands, run in order on a fresh SQLite file (no migrations applied
    beforehand: the commands apply them, as for a new clinic). Returns (tmp dir, env, {subcommand: [results]})."""
    tmp = tmp_path_factory.mktemp("clinic")
    env = user_env(tmp)
    now = dt.datetime.now(dt.timezone.utc)
    results: Dict[str, List[subprocess.CompletedProcess]] = {}
    for args, piped in readme_commands():
        if piped is not None or args[:1] == ["console-user"]:
            continue  # `aftercare triage` has its own tests (it loads the model); console-user asks for a password
        results.setdefault(subcommand(args), []).append(
            run([AFTERCARE, *with_dates_near_today(args, now)], env, CLI_TIMEOUT)
        )
    return tmp, env, results


def rows(tmp: Path, sql: str) -> List[tuple]:
    with sqlite3.connect(tmp / "clinic.db") as connection:
        return connection.execute(sql).fetchall()


def ok(results: Dict[str, List[subprocess.CompletedProcess]], name: str) -> List[subprocess.CompletedProcess]:
    assert name in results, f"the README no longer shows `aftercare {name}`"
    for result in results[name]:
        assert result.returncode == 0 and no_traceback(result), explain(result)
    return results[name]


def test_practitioner_add(clinic):
    tmp, _, results = clinic
    first, second = ok(results, "practitioner add")
    assert first.stdout == "practitioner 1 added (treating)\n"
    assert second.stdout == "practitioner 2 added (on_call)\n"
    assert rows(tmp, "SELECT id, name, telegram_chat_id, role FROM practitioners ORDER BY id") == [
        (1, "Dr Lee", 123456789, "treating"),
        (2, "Dr Shah", 987654321, "on_call"),
    ]


def test_patient_add_prints_a_link_code_and_a_deep_link(clinic):
    tmp, _, results = clinic
    (result,) = ok(results, "patient add")
    out = result.stdout
    assert re.search(r"^patient id: 1$", out, flags=re.M), out
    code = re.search(r"^link code: (\S+) \(one use, expires \d{4}-\d\d-\d\d \d\d:\d\d UTC\)$", out, flags=re.M)
    assert code, out
    assert f"\ntelegram link: https://t.me/{BOT_USERNAME}?start={code.group(1)}\n" in out
    assert rows(tmp, "SELECT display_name FROM patients") == [("Ann Example",)]
    assert rows(tmp, "SELECT area, method, practitioner_id FROM treatments") == [("face", "microneedling", 1)]


def test_appointment_add(clinic):
    tmp, _, results = clinic
    (result,) = ok(results, "appointment add")
    assert re.match(r"appointment id: 1 \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\)\n", result.stdout), result.stdout
    assert "preparation guidance and screening questions go out" in result.stdout
    assert rows(tmp, "SELECT patient_id, area, method, practitioner_id FROM appointments") == [
        (1, "face", "microneedling", 1)
    ]


def test_escalations_on_a_new_clinic(clinic):
    _, env, results = clinic
    (result,) = ok(results, "escalations")
    assert result.stdout == "no open escalations\n"
    as_json = run([AFTERCARE, "escalations", "--json"], env, CLI_TIMEOUT)
    assert as_json.returncode == 0 and json.loads(as_json.stdout) == [], explain(as_json)
    # With a real escalation: test_terminal_chat_escalation_in_the_admin_commands.


def test_export_is_json_with_the_patient(clinic):
    _, _, results = clinic
    (result,) = ok(results, "export")
    data = json.loads(result.stdout)
    assert data["patient"]["id"] == 1 and data["patient"]["display_name"] == "Ann Example"
    assert [(t["area"], t["method"]) for t in data["treatments"]] == [("face", "microneedling")]
    assert len(data["appointments"]) == 1
    assert data["link_codes"] and all("code" not in c for c in data["link_codes"])  # a code still links a chat
    assert data["audit_events"], "patient add and appointment add leave an audit trail"


def test_console_user_commands(tmp_path):
    """The README's "Web console" commands as a clinic types them: the password asked twice (read from standard
    input here: without a terminal, getpass falls back to it), then the account in the list."""
    env = user_env(tmp_path)
    commands = [args for args, _ in readme_commands() if args[:1] == ["console-user"]]
    assert [subcommand(args) for args in commands] == [
        "console-user add",
        "console-user add",
        "console-user password",
        "console-user list",
    ]
    practitioner = run([AFTERCARE, "practitioner", "add", "--name", "Dr Lee"], env, CLI_TIMEOUT)
    assert practitioner.returncode == 0, explain(practitioner)
    password = "a long enough passphrase"
    results = []
    for args in commands:
        result = subprocess.run(
            [str(AFTERCARE), *args],
            input=f"{password}\n{password}\n",
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=CLI_TIMEOUT,
            start_new_session=True,  # no controlling terminal: getpass reads standard input
        )
        assert result.returncode == 0 and no_traceback(result), explain(result)
        assert password not in result.stdout + result.stderr
        results.append(result)
    assert results[0].stdout.startswith("console account lee added (clinician, acts as practitioner 1)\n")
    assert results[2].stdout == "password of lee changed; its sessions have ended\n"
    assert "  lee\n" in results[3].stdout and "  front\n" in results[3].stdout
    hashes = rows(tmp_path, "SELECT password_hash FROM console_accounts")
    assert len(hashes) == 2 and all(h.startswith("$argon2id$") for (h,) in hashes)
    refused = run([AFTERCARE, "console-user", "add", "x2", "--role", "desk"], env, CLI_TIMEOUT, stdin="")
    assert refused.returncode == 2 and "No password given" in refused.stderr, explain(refused)


@pytest.mark.parametrize(
    "database_url, says",
    [
        ("nonsense", "DATABASE_URL"),
        ("postgres://aftercare@127.0.0.1:5432/aftercare", "DATABASE_URL"),  # the scheme some hosts hand out
        ("postgresql+psycopg2://aftercare@127.0.0.1:1/aftercare", "DATABASE_URL"),  # nothing listens on port 1
    ],
)
def test_a_bad_database_url_is_a_clear_error(tmp_path, database_url, says):
    result = run([AFTERCARE, "escalations"], user_env(tmp_path, DATABASE_URL=database_url), CLI_TIMEOUT)
    assert result.returncode != 0, explain(result)
    assert says in result.stderr and no_traceback(result), explain(result)


@pytest.mark.parametrize(
    "args, says",
    [
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
                "microneedling",
                "--practitioner",
                "1",
            ],
            "not an ISO date-time",
        ),
        (
            ["patient", "add", "--name", "J", "--treated-at", "2026-01-05T10:00"],
            "also give --area, --method, --practitioner",
        ),
        (
            [
                "appointment",
                "add",
                "1",
                "--at",
                "2020-01-01T10:00",
                "--area",
                "face",
                "--method",
                "microneedling",
                "--practitioner",
                "1",
            ],
            "not in the future",
        ),
        (["export", "99"], "No patient with id 99"),
        (["export"], "the following arguments are required: patient_id"),
    ],
)
def test_bad_arguments_are_a_clear_error(clinic, args, says):
    _, env, _ = clinic
    result = run([AFTERCARE, *args], env, CLI_TIMEOUT)
    assert result.returncode == 2, explain(result)
    assert says in result.stderr and no_traceback(result), explain(result)


def test_doctor_passes_on_the_readme_clinic(clinic):
    _, _, results = clinic
    (result,) = ok(results, "doctor")
    lines = result.stdout.splitlines()
    assert not [line for line in lines if line.startswith("FAIL")], explain(result)
    for check in ("settings", "database", "migrations", "rasa model", "spacy pipeline", "practitioners"):
        assert any(line.startswith(f"OK    {check}:") for line in lines), explain(result)
    assert "#1 treating, #2 on_call" in result.stdout and "Dr Lee" not in result.stdout  # ids and roles, no names
    assert lines[-1].endswith("checks passed.")


def test_doctor_on_an_unset_clinic_says_what_to_fix(tmp_path):
    result = run([AFTERCARE, "doctor", "--model", tmp_path / "aftercare.tar.gz"], user_env(tmp_path), CLI_TIMEOUT)
    assert result.returncode == 1 and no_traceback(result), explain(result)
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert [line.split(":")[0] for line in failed] == ["FAIL  database", "FAIL  rasa model"], explain(result)
    assert "aftercare db upgrade" in failed[0] and "make train" in failed[1]
    assert not (tmp_path / "clinic.db").exists()  # the doctor looks, it does not create or migrate anything


# --- aftercare triage ---------------------------------------------------------------------------------------------


def readme_triage_input() -> str:
    (piped,) = [piped for args, piped in readme_commands() if subcommand(args) == "triage"]
    return piped


def test_triage_answers_each_json_line_with_one_json_line(tmp_path):
    lines = readme_triage_input() + "this is not json\n" + '{"days_since": 2}\n'
    result = run([AFTERCARE, "triage"], user_env(tmp_path), TRIAGE_TIMEOUT, stdin=lines)
    assert result.returncode == 0 and no_traceback(result), explain(result)
    answers = [json.loads(line) for line in result.stdout.splitlines()]  # every line of stdout is JSON
    assert len(answers) == 3, result.stdout
    assert answers[0]["level"] == "urgent", answers[0]
    assert answers[0]["criteria"] and answers[0]["findings"]
    assert answers[1]["line"] == 2 and "expected" in answers[1]["error"]
    assert answers[2]["line"] == 3 and "expected" in answers[2]["error"]


def test_triage_without_a_model_says_make_train(tmp_path):
    result = run(
        [AFTERCARE, "triage", "--model", tmp_path / "aftercare.tar.gz"],
        user_env(tmp_path),
        CLI_TIMEOUT,
        stdin=readme_triage_input(),
    )
    assert result.returncode == 2, explain(result)
    assert "make train" in result.stderr and no_traceback(result), explain(result)
    assert result.stdout == ""


# --- make eval ----------------------------------------------------------------------------------------------------


def test_make_eval_prints_a_table_per_set_and_writes_its_results(tmp_path):
    sets = sorted(path.stem for path in (ROOT / "data" / "triage_eval").glob("*.jsonl"))
    assert len(sets) >= 2, "with one set, devtools.evaluate writes OUT/results.json without a sub-directory"
    out = tmp_path / "eval"
    result = run(["make", "-s", *KEEP_MODEL, "eval", f"EVAL_OUT={out}"], user_env(tmp_path), EVAL_TIMEOUT)
    assert no_traceback(result), explain(result)
    headers = re.findall(r"^=== (\S+) \(", result.stdout, flags=re.M)
    assert headers == sets, explain(result)
    sections = re.split(r"^=== ", result.stdout, flags=re.M)[1:]
    for name, section in zip(sets, sections):
        assert re.search(r"^level\s+precision\s+recall\s+support$", section, flags=re.M), section
        for level in ("none", "normal", "monitor", "urgent", "emergency"):
            assert re.search(rf"^{level}\s+\S+\s+\S+\s+\d+$", section, flags=re.M), (level, section)
        assert re.search(r"^escalation recall\s+\S+%", section, flags=re.M), section
        saved = json.loads((out / name / "results.json").read_text(encoding="utf-8"))
        assert saved["metrics"]["count"] == len(saved["rows"]) > 0
        assert (out / name / "confusion_matrix.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Exit code 1 from the evaluation exactly when a safety gate fails (make reports it as "Error 1", exit 2).
    gate_failed = "GATE FAILED" in result.stdout
    if gate_failed:
        assert result.returncode == 2 and re.search(r"\beval\] Error 1$", result.stderr, flags=re.M), explain(result)
    else:
        assert result.returncode == 0, explain(result)


# --- make run: the terminal chat --------------------------------------------------------------------------------

# Run inside `unshare --net --map-root-user`: bring the namespace's loopback up, then exec the command.
LOOPBACK_UP_THEN_EXEC = """\
import fcntl, os, socket, struct, sys
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
with socket.socket() as s:
    flags = struct.unpack("16sH", fcntl.ioctl(s, SIOCGIFFLAGS, struct.pack("16sH", b"lo", 0)))[1]
    fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | IFF_UP))
os.execvp(sys.argv[1], sys.argv[1:])
"""


def network_of_its_own() -> List[str]:
    """A command prefix that runs the launcher in a fresh network namespace, so its fixed ports are free; [] when
    the machine does not allow it, and then the host's ports must be free."""
    prefix = ["unshare", "--net", "--map-root-user", "--", str(BIN / "python"), "-c", LOOPBACK_UP_THEN_EXEC]
    try:
        probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return prefix if probe.returncode == 0 else []


def _take_the_terminal() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # in the new session: the pty becomes its controlling terminal


class Terminal:
    """A program in a pseudo-terminal, as a person at a terminal runs it: typed lines, Ctrl-C, what it shows."""

    def __init__(self, args: List[str], env: Dict[str, str]) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
        self.process = subprocess.Popen(
            args,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=ROOT,
            env=env,
            start_new_session=True,
            preexec_fn=_take_the_terminal,
        )
        os.close(slave)
        self.master = master
        self.screen = ""  # everything shown so far, "\r" removed
        self.mark = 0  # expect() searches from here
        self.closed = False
        self._changed = threading.Condition()
        threading.Thread(target=self._read, name="pty-reader", daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:  # EIO: every process holding the terminal has exited
                data = b""
            with self._changed:
                if not data:
                    self.closed = True
                    self._changed.notify_all()
                    return
                self.screen += data.decode("utf-8", errors="replace").replace("\r", "")
                self._changed.notify_all()

    def expect(self, pattern: str, timeout: float, what: str) -> "re.Match[str]":
        """Wait (at most `timeout` s) until `pattern` appears after the mark; move the mark past it."""
        regex = re.compile(pattern, flags=re.M)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = regex.search(self.screen, self.mark)
                if found:
                    self.mark = found.end()
                    return found
                left = deadline - time.monotonic()
                if self.closed or left <= 0:
                    why = "the program ended" if self.closed else f"nothing after {timeout:.0f}s"
                    raise AssertionError(
                        f"{what}: {why}; the terminal shows (from the mark on):\n{self.screen[self.mark :][-4000:]}"
                    )
                self._changed.wait(min(left, 1.0))

    def since_mark(self) -> str:
        with self._changed:
            return self.screen[self.mark :]

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")  # Enter

    def ctrl_c(self) -> None:
        os.write(self.master, b"\x03")  # the terminal turns it into SIGINT for the foreground process group

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=10)
        try:
            os.close(self.master)
        except OSError:
            pass


def box(text: str, title: str) -> Optional[str]:
    """The words in the last alert box titled `title` (ConsoleMessenger's frame), or None."""
    boxes = re.findall(rf"┌─ {re.escape(title)} ─*┐\n(.*?)\n└─*┘", text, flags=re.S)
    if not boxes:
        return None
    lines = [line.strip().strip("│").strip() for line in boxes[-1].splitlines()]
    return " ".join(" ".join(lines).split())


def _started_at(pid: int) -> Optional[str]:
    """Start time of a live (not zombie) process, to tell it from a later one with the same pid; None if gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return None if fields[0] in ("Z", "X") else fields[19]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@pytest.fixture(scope="module")
def chat(tmp_path_factory):
    """`make run` without a Telegram token, in a pseudo-terminal, up to its first prompt. Shared by the tests
    below, which run in order: each continues the conversation of the one before."""
    if not MODEL.exists():
        pytest.fail("no trained model: `make test` trains it before running the tests")
    tmp = tmp_path_factory.mktemp("terminal")
    env = user_env(tmp)
    prefix = network_of_its_own()
    if not prefix:
        import socket

        for port in (5005, 5055, 8765):  # bot/run/profiles.py: the embedded profile's fixed ports; the console
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    pytest.fail(
                        f"cannot isolate the launcher (unshare --net --map-root-user failed) and port {port} "
                        "is taken on this machine"
                    )
    terminal = Terminal([*prefix, "make", "-s", *KEEP_MODEL, "run"], env)
    terminal.tmp, terminal.env = tmp, env
    try:
        terminal.expect(r"^you> ", START_TIMEOUT, "make run: the first prompt")
        yield terminal
    finally:
        for pid in _descendants(terminal.process.pid)[1:] if terminal.process.poll() is None else []:
            try:
                os.kill(pid, signal.SIGKILL)  # a test failed before Ctrl-C: leave nothing behind
            except ProcessLookupError:
                pass
        terminal.close()
        (tmp / "terminal.txt").write_text(terminal.screen, encoding="utf-8")  # what it showed, for a failure


def test_terminal_chat_starts_with_the_disclaimer(chat):
    shown = chat.screen[: chat.mark]
    assert "terminal mode: no TELEGRAM_BOT_TOKEN" in shown, shown[-3000:]
    disclaimer = re.search(r"^bot> (.*)$", shown, flags=re.M)
    assert disclaimer, shown[-3000:]
    assert "automated" in disclaimer.group(1) and "not a clinician" in disclaimer.group(1)
    assert PHONE in disclaimer.group(1) and EMERGENCY in disclaimer.group(1)


def test_terminal_chat_answers_a_mild_report_without_an_alert(chat):
    chat.type("a bit red today")
    chat.expect(r"^bot> \S", REPLY_TIMEOUT, "a reply to a mild report")
    chat.expect(r"^you> ", REPLY_TIMEOUT, "the next prompt")
    assert "┌─ message to chat" not in chat.screen, "an alert for a reaction the guide calls normal"


def test_terminal_chat_red_flag_prints_the_practitioners_alert(chat):
    start = chat.mark
    chat.type("there is yellow pus coming out and it is spreading")
    chat.expect(r"^bot> \S", REPLY_TIMEOUT, "a reply to a red flag")
    chat.expect(
        r"^┌─ message to chat 1001 ─*┐$(?:\n│.*│$)+\n└─*┘$",
        REPLY_TIMEOUT,
        "the alert box for the treating practitioner (chat 1001)",
    )
    alert = box(chat.screen[start:], "message to chat 1001")
    assert "Acknowledge: ack:" in alert and "Resolve: resolve:" in alert, alert
    chat.expect(r"^you> ", REPLY_TIMEOUT, "the next prompt")


def test_terminal_chat_ack_tells_the_patient(chat):
    start = chat.mark
    chat.type("/ack")
    chat.expect(r"^\[practitioner\] Escalation #\d+: acknowledged as Dr Demo", REPLY_TIMEOUT, "the acknowledgement")
    chat.expect(r"^┌─ message to chat 1 ─*┐$(?:\n│.*│$)+\n└─*┘$", REPLY_TIMEOUT, "the notice to the patient (chat 1)")
    notice = box(chat.screen[start:], "message to chat 1")
    assert "has seen your message" in notice and EMERGENCY in notice, notice


def test_terminal_chat_escalation_in_the_admin_commands(chat):
    """The red flag above, as the clinic sees it with the README's admin commands (a real row, acknowledged), in the
    demo's own database (var/demo.db): the terminal demo never writes to the configured DATABASE_URL."""
    assert not (chat.tmp / "clinic.db").exists()
    demo = {**chat.env, "DATABASE_URL": f"sqlite:///{chat.tmp / 'var' / 'demo.db'}"}
    listed = run([AFTERCARE, "escalations"], demo, CLI_TIMEOUT)
    assert listed.returncode == 0, explain(listed)
    line = re.search(
        r"^#(\d+)\s+(urgent|emergency)\s+acknowledged .* patient (\d+) \(Demo Patient\)", listed.stdout, flags=re.M
    )
    assert line, explain(listed)
    exported = run([AFTERCARE, "export", line.group(3)], demo, CLI_TIMEOUT)
    assert exported.returncode == 0, explain(exported)
    data = json.loads(exported.stdout)
    assert data["patient"]["display_name"] == "Demo Patient"
    assert [(e["id"], e["state"]) for e in data["escalations"]] == [(int(line.group(1)), "acknowledged")]
    assert line.group(2) in [report["level"] for report in data["symptom_reports"]]


def _environ(pid: int) -> Dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    return dict(item.decode(errors="replace").partition("=")[::2] for item in raw.split(b"\0") if item)


def _listening(pids: List[int]) -> List[Tuple[str, int]]:
    """(local address in /proc/net hex, port) of every listening TCP socket these processes hold."""
    inodes = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    found = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pids[0]}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            address, port = fields[1].split(":")
            if fields[3] == "0A" and fields[9] in inodes:
                found.append((address, int(port, 16)))
    return found


LOOPBACK = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1 and ::1 as /proc/net writes them


def test_terminal_chat_is_closed_to_the_network_and_keeps_its_files_private(chat):
    """What `ss -ltnp` would show while make run is up: nothing beyond loopback. Each child has only the environment
    it needs (no Telegram token, Rasa no database URL), the action server's secret in the environment and never on
    a command line; the data directory is 0700 and the databases and logs in it 0600."""
    pids = _descendants(chat.process.pid)
    listening = _listening(pids)
    assert {port for _, port in listening} >= {5005, 5055, 8765}, listening  # 8765: the web console
    assert {address for address, _ in listening} <= LOOPBACK, listening
    commands = {pid: _cmdline(pid) for pid in pids}
    rasa = [pid for pid, command in commands.items() if " run -i 127.0.0.1 " in command]
    actions = [pid for pid, command in commands.items() if "-m bot.run.action_server" in command]
    assert rasa and actions, commands
    rasa_env, actions_env = _environ(rasa[0]), _environ(actions[0])
    token = actions_env.get("ACTION_SERVER_TOKEN", "")
    assert len(token) >= 32 and rasa_env.get("ACTION_SERVER_TOKEN") == token
    assert not [command for command in commands.values() if token in command]
    for env in (rasa_env, actions_env):
        assert "TELEGRAM_BOT_TOKEN" not in env and env["LOG_LEVEL"] == "INFO"
    data = chat.tmp / "var"
    # the terminal demo keeps its own records and conversations, never in the configured DATABASE_URL (issue 12)
    assert "DATABASE_URL" not in rasa_env and actions_env["DATABASE_URL"] == f"sqlite:///{data / 'demo.db'}"
    assert rasa_env["RASA_TRACKER_DB"] == str(data / "demo_rasa_tracker.db")
    assert not (chat.tmp / "clinic.db").exists()
    # the web console reads the demo's records too, and never gets the action server's secret
    (web,) = [pid for pid, command in commands.items() if "-m bot.run.web" in command]
    web_env = _environ(web)
    assert web_env["DATABASE_URL"] == actions_env["DATABASE_URL"] and "ACTION_SERVER_TOKEN" not in web_env
    assert web_env["LOG_LEVEL"] == "INFO"
    assert (os.stat(data).st_mode & 0o777) == 0o700
    files = [data / "demo.db", data / "demo_rasa_tracker.db", *sorted((data / "log").glob("*.log"))]
    assert len(files) >= 4
    modes = {path.name: oct(os.stat(path).st_mode & 0o777) for path in files}
    assert set(modes.values()) == {"0o600"}, modes


def test_terminal_chat_ctrl_c_stops_every_process(chat):
    started = {pid: _started_at(pid) for pid in _descendants(chat.process.pid)}
    commands = " | ".join(_cmdline(pid) for pid in started)
    # the action server (bot/run/action_server.py) and Rasa, without its HTTP API
    assert "-m bot.run.action_server" in commands and " run -i 127.0.0.1 " in commands, commands
    assert "--enable-api" not in commands, commands
    # the web console, its address and the demo's account on the terminal
    assert "-m bot.run.web" in commands, commands
    assert re.search(
        r"^Clinic console: http://127\.0\.0\.1:8765/  sign in as demo, password \S{12,}$", chat.screen, re.M
    )
    chat.ctrl_c()
    chat.expect(r"^>> stopping the assistant's processes", STOP_TIMEOUT, "Ctrl-C: the launcher stopping")
    try:
        chat.process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {STOP_TIMEOUT}s after Ctrl-C:\n{chat.since_mark()[-3000:]}")
    deadline = time.monotonic() + STOP_TIMEOUT
    left = started
    while time.monotonic() < deadline:
        left = {pid: at for pid, at in started.items() if at is not None and _started_at(pid) == at}
        if not left:
            break
        time.sleep(0.5)
    assert not left, "left running after Ctrl-C: " + "; ".join(f"{pid} {_cmdline(pid)}" for pid in left)
    assert "Traceback (most recent call last)" not in chat.screen, chat.screen[-4000:]
