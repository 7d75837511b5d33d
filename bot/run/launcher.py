"""`make run`: start the action server and Rasa on loopback and the clinic's web console (bot.run.web, unless
CONSOLE_ENABLED=false), then the terminal chat (or, with TELEGRAM_BOT_TOKEN set, the Telegram gateway). A child
that dies is restarted with exponential backoff (1 s doubling to 30 s; bot.run.processes.Supervisor), each restart
logged with its name and exit code and counted. Ctrl-C (or SIGTERM) stops every process it started.

Closed by default (bot/run/profiles.py says how): every child on 127.0.0.1, Rasa without its HTTP API, the action
server behind a shared secret, each child with only the environment it needs and its log level pinned to INFO or
higher. Files are private: the data directory is 0700 and what is created in it (SQLite databases, conversation
store, logs) 0600, by a umask of 077 that the children inherit; what an earlier run left readable is tightened.

With AFTERCARE_PROFILE=production it starts RASA_WORKERS Rasa workers (PostgreSQL tracker store, Redis lock
store), each with its own action server, and the gateway spreads patients over them (bot/run/profiles.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import stat
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import List

from bot import bootstrap
from bot.run import profiles
from bot.run.processes import RASA_READY_PATH, ChildSpec, Processes, Supervisor, action_server_args, rasa_server_args
from bot.run.web import web_server_args
from bot.settings import PROJECT_ROOT, ConfigError, Settings

MODEL = PROJECT_ROOT / "models" / "aftercare.tar.gz"


def _wait_ready(children: Processes, name: str, url: str, what: str) -> None:
    """Processes.wait_http with progress dots, and a short error that says where the log is."""
    started = time.monotonic()
    print(f">> starting {what} ", end="", flush=True)
    try:
        children.wait_http(name, url, poll=1.0, on_wait=lambda: print(".", end="", flush=True))
    except RuntimeError:
        print("failed")
        raise SystemExit(f"{what} did not start; its log is {children[name].log_path}.") from None
    print(f"ready ({time.monotonic() - started:.0f}s)")


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt  # SIGTERM (e.g. `make` being stopped) cleans up exactly like Ctrl-C


def make_private(data_dir: Path, database_url: str) -> None:
    """The data directory 0700 and everything in it readable by this user only (an earlier run, before the
    umask, created files 0644); the same for an SQLite database kept elsewhere, with its -wal/-shm/-journal."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    paths = [data_dir, *data_dir.rglob("*")]
    if database_url.startswith("sqlite:///"):
        database = Path(database_url[len("sqlite:///") :])
        paths += [database.with_name(database.name + suffix) for suffix in ("", "-wal", "-shm", "-journal")]
    for path in paths:
        try:
            mode = path.lstat().st_mode
        except OSError:
            continue
        if stat.S_ISLNK(mode) or not mode & 0o077:
            continue
        os.chmod(path, stat.S_IMODE(mode) & 0o700)


def main() -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    os.umask(0o077)  # databases, conversation store, logs: this user only (the children inherit it)
    try:
        settings = Settings.from_env()
        if settings.telegram_enabled:
            settings.require_telegram()
        else:
            from bot.run.console import demo_settings

            settings = demo_settings(settings)  # the terminal demo never touches the clinic's DATABASE_URL
        workers = profiles.plan(settings, settings.extra)  # the environment and .env
        if not settings.telegram_enabled:
            from bot.run.console import demo_workers

            workers = demo_workers(settings, workers)
    except ConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in ("alembic", "httpx", "httpcore"):  # keep the terminal chat readable
        logging.getLogger(chatty).setLevel(logging.WARNING)
    if not MODEL.exists():
        print("No trained model: run `make run` (it trains first) or `make train`.", file=sys.stderr)
        return 2
    make_private(settings.data_dir, settings.database_url)
    log_dir = settings.data_dir / "log"
    log_dir.mkdir(parents=True, exist_ok=True)

    from bot.store import db

    print(">> applying database migrations")
    db.upgrade(settings.database_url)
    session_factory = bootstrap.session_factory(settings)

    env_note = (
        ""
        if settings.telegram_enabled
        else f" (terminal mode: no TELEGRAM_BOT_TOKEN; demo records in {settings.data_dir / 'demo.db'}, "
        "not DATABASE_URL)"
    )
    print(f">> {settings.profile} profile, {len(workers)} Rasa worker(s); logs in {log_dir}{env_note}")
    # Each child in its own process group, stopped as a group, with only the environment its spec gives it.
    children = Processes(log_dir, env={})
    specs = child_specs(settings, workers)
    supervisor = Supervisor(children, specs)
    try:
        for spec in specs:
            children.spawn(spec.name, list(spec.args), env=spec.env)
        for worker in workers:
            suffix = f"-{worker.index}" if len(workers) > 1 else ""
            _wait_ready(
                children, f"actions{suffix}", f"{worker.actions_url}/health", f"action server {worker.index + 1}"
            )
            _wait_ready(
                children,
                f"rasa{suffix}",
                f"{worker.rasa_url}{RASA_READY_PATH}",
                f"Rasa worker {worker.index + 1} (loading the model)",
            )
        if settings.console_enabled:
            _wait_ready(children, "web", f"{console_url(settings, local=True)}login", "the clinic console")
        supervisor.start()  # from now on a child that dies is restarted (the gateway's safety net covers the gap)
        settings = replace(settings, rasa_url=",".join(worker.rasa_url for worker in workers))
        if settings.telegram_enabled:
            if settings.console_enabled:
                print(
                    f"Clinic console: {console_url(settings)}  "
                    "(accounts: aftercare console-user add NAME --role admin|clinician|desk)"
                )
            from bot.run.gateway import main as telegram_main

            return telegram_main(settings) or 0  # its ports: bot.bootstrap.gateway.gateway_deps
        from bot.run.console import ConsoleChat, ensure_demo_clinic

        patient_id = ensure_demo_clinic(session_factory, settings)
        if settings.console_enabled:
            from bot.run.console import ensure_demo_console_account

            password = ensure_demo_console_account(session_factory)
            # The demo's own account in the demo database, shown on this terminal only (never logged).
            print(f"Clinic console: {console_url(settings)}  sign in as demo, password {password}")
        asyncio.run(ConsoleChat(settings, session_factory, patient_id).run())
        return 0
    except KeyboardInterrupt:
        return 130
    finally:
        print("\n>> stopping the assistant's processes")
        supervisor.stop()  # first, or it would restart what stop_all() stops
        restarted = {name: count for name, count in supervisor.restarts.items() if count}
        if restarted:
            print(">> restarts while running: " + ", ".join(f"{name} {count}" for name, count in restarted.items()))
        children.stop_all()


def console_url(settings: Settings, local: bool = False) -> str:
    """The web console's address (local: the one this machine reaches it at, when it listens on every address)."""
    host = settings.console_host
    if local and host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.console_port}/"


def child_specs(settings: Settings, workers: List[profiles.Worker]) -> List[ChildSpec]:
    """The children `make run` starts and keeps running: one action server and one Rasa server per worker, and the
    web console, each with the whole environment it gets (bot.run.profiles: filtered, secret included, log level
    pinned)."""
    specs = []
    for worker in workers:
        suffix = f"-{worker.index}" if len(workers) > 1 else ""
        specs.append(
            ChildSpec(
                f"actions{suffix}",
                action_server_args(worker.actions_port),
                profiles.action_server_env(settings, worker, settings.extra),
            )
        )
        # Rasa falls back to an in-memory tracker store, call by call, when its database cannot be opened:
        # that would silently forget every conversation. The plan gives it a database that exists.
        specs.append(
            ChildSpec(
                f"rasa{suffix}",
                rasa_server_args(worker.rasa_port, MODEL, Path(worker.endpoints), Path("credentials.yml")),
                profiles.rasa_env(settings, worker, settings.extra),
            )
        )
    if settings.console_enabled:
        specs.append(ChildSpec("web", web_server_args(), profiles.web_env(settings, settings.extra)))
    return specs


if __name__ == "__main__":
    sys.exit(main())
