"""bot.run.launcher.main (what `make run` runs), with stand-in children instead of Rasa and the action server: it
restarts a child that keeps dying, gives each child only the environment it needs, keeps its files private, and
SIGTERM stops it and every child.

The launcher runs in its own process (as under make). Its two commands are replaced by tiny Python programs that
write their environment to a file: the "action server" then sleeps, the "Rasa server" exits with code 3 at once;
the "web console" sleeps too; the readiness waits and the Telegram gateway are replaced by no-ops (the gateway: a
sleep until SIGTERM)."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

LAUNCHER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from bot.run import launcher
    import bot.run.gateway

    out = Path(sys.argv[1])
    dump = "import json, os, sys; f = open(sys.argv[1], 'w'); json.dump(dict(os.environ), f); f.close(); "
    launcher.action_server_args = lambda port: [
        sys.executable, "-c", dump + "import time; time.sleep(600)", str(out / "actions.json"), str(port)]
    launcher.rasa_server_args = lambda port, *args, **kwargs: [
        sys.executable, "-c", dump + "sys.exit(3)", str(out / "rasa.json"), str(port)]
    launcher.web_server_args = lambda: [
        sys.executable, "-c", dump + "import time; time.sleep(600)", str(out / "web.json")]
    launcher._wait_ready = lambda *args, **kwargs: None
    launcher.MODEL = Path(sys.executable)  # any file that exists
    bot.run.gateway.main = lambda settings: time.sleep(600)
    sys.exit(launcher.main())
""")


def _wait(predicate, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"{what} within {timeout:.0f}s; the launcher said:\n{log.read_text(errors='replace')[-3000:]}")


def _alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] not in ("Z", "X")


def test_make_run_supervises_filters_keeps_private_and_stops_on_sigterm(tmp_path) -> None:
    data = tmp_path / "var"
    data.mkdir(mode=0o755)
    (data / "log").mkdir(mode=0o755)
    old_log = data / "log" / "rasa.log"
    old_log.write_text("from a run before the umask\n")
    old_log.chmod(0o644)
    out = tmp_path / "out"
    out.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "AFTERCARE_DATA_DIR": str(data),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'clinic.db'}",
        "CLINIC_PHONE": "+44 20 7946 0000",
        "TELEGRAM_BOT_TOKEN": "123456:launcher-test-token",
        "LOG_LEVEL": "DEBUG",
        "SOME_PASSWORD": "hunter2",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    }
    said = tmp_path / "launcher.txt"
    with open(said, "wb") as screen:
        launcher = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, str(out)],
            cwd=ROOT,
            env=env,
            stdout=screen,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait(
            lambda: "rasa restarted (restart 2," in said.read_text(errors="replace"),
            30,
            "the dying child was not restarted twice",
            said,
        )
        _wait(lambda: (out / "web.json").exists(), 30, "the web console was not started", said)
        actions_env = json.loads((out / "actions.json").read_text())
        web_env = json.loads((out / "web.json").read_text())
        rasa_env = json.loads((out / "rasa.json").read_text())
        children = [int(pid) for pid in Path(f"/proc/{launcher.pid}/task/{launcher.pid}/children").read_text().split()]

        launcher.send_signal(signal.SIGTERM)
        code = launcher.wait(timeout=30)
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
            launcher.wait()
    shown = said.read_text(errors="replace")

    # supervision: each exit and restart said with the name and exit code, counted at the end
    assert "rasa exited (exit code 3); restart 1 in 1 s" in shown
    assert "rasa exited (exit code 3); restart 2 in 2 s" in shown
    assert ">> restarts while running: rasa " in shown and "actions" not in shown.split(">> restarts")[-1]
    # SIGTERM stops the launcher and every child it started
    assert code == 130, shown
    assert children and not [pid for pid in children if _alive(pid)]
    # each child: only what it needs, its log level pinned, the secret in the environment (not on a command line)
    for child in (actions_env, rasa_env):
        assert not {"TELEGRAM_BOT_TOKEN", "SOME_PASSWORD"} & set(child)
        assert child["LOG_LEVEL"] == "INFO" and len(child["ACTION_SERVER_TOKEN"]) >= 32
        assert child["PATH"] == env["PATH"]
    assert actions_env["ACTION_SERVER_TOKEN"] == rasa_env["ACTION_SERVER_TOKEN"]
    assert actions_env["DATABASE_URL"] == env["DATABASE_URL"] and "DATABASE_URL" not in rasa_env
    assert rasa_env["RASA_TRACKER_DB"] == str(data / "rasa_tracker.db")
    assert actions_env["ACTION_SERVER_TOKEN"] not in shown
    # the web console: supervised like the others, told where it is, with the clinic's settings (the bot token for
    # the photos) but not the action server's secret nor anything else
    assert "Clinic console: http://127.0.0.1:8765/" in shown
    assert web_env["DATABASE_URL"] == env["DATABASE_URL"] and web_env["TELEGRAM_BOT_TOKEN"] == env["TELEGRAM_BOT_TOKEN"]
    assert "ACTION_SERVER_TOKEN" not in web_env and "SOME_PASSWORD" not in web_env and web_env["LOG_LEVEL"] == "INFO"
    # private files: the data directory 0700, databases and logs 0600 (also one an earlier run left 0644)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for path in [tmp_path / "clinic.db", *sorted((data / "log").iterdir())]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
