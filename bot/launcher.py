"""`make run`: start the action server and Rasa on loopback, then the terminal chat (or, with
TELEGRAM_BOT_TOKEN set, the Telegram gateway). Ctrl-C stops every process it started.

With AFTERCARE_PROFILE=production it starts RASA_WORKERS Rasa workers (PostgreSQL tracker store, Redis lock
store), each with its own action server, and the gateway spreads patients over them (bot/profiles.py).
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from dataclasses import replace
from typing import Dict, List

import httpx

from bot import profiles
from bot.settings import PROJECT_ROOT, ConfigError, Settings

BIN = Path(sys.executable).parent
MODEL = PROJECT_ROOT / "models" / "aftercare.tar.gz"


def _start(name: str, args: List[str], log_dir: Path, env: Dict[str, str]) -> subprocess.Popen:
    log = open(log_dir / f"{name}.log", "ab")
    # Own process group: Ctrl-C in the terminal reaches us, and we stop the whole group of each child.
    return subprocess.Popen(args, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, **env})


def _wait_ready(url: str, process: subprocess.Popen, what: str, timeout: float = 240.0) -> None:
    started = time.monotonic()
    print(f">> starting {what} ", end="", flush=True)
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            print("failed")
            raise SystemExit(f"{what} exited (code {process.returncode}); see var/log/ for its log.")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                print(f"ready ({time.monotonic() - started:.0f}s)")
                return
        except httpx.HTTPError:
            pass
        print(".", end="", flush=True)
        time.sleep(1.0)
    raise SystemExit(f"{what} did not become ready within {timeout:.0f}s; see var/log/.")


def _stop(processes: List[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt  # SIGTERM (e.g. `make` being stopped) cleans up exactly like Ctrl-C


def main() -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        settings = Settings.from_env()
        if settings.telegram_enabled:
            settings.require_telegram()
        workers = profiles.plan(settings, os.environ)
    except ConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in ("alembic", "httpx", "httpcore"):  # keep the terminal chat readable
        logging.getLogger(chatty).setLevel(logging.WARNING)
    if not MODEL.exists():
        print("No trained model: run `make run` (it trains first) or `make train`.", file=sys.stderr)
        return 2
    log_dir = settings.data_dir / "log"
    log_dir.mkdir(parents=True, exist_ok=True)

    from bot.store import db

    print(">> applying database migrations")
    db.upgrade(settings.database_url)
    session_factory = db.make_session_factory(settings.database_url)

    env_note = "" if settings.telegram_enabled else " (terminal mode: no TELEGRAM_BOT_TOKEN)"
    print(f">> {settings.profile} profile, {len(workers)} Rasa worker(s); logs in {log_dir}{env_note}")
    processes: List[subprocess.Popen] = []
    try:
        for worker in workers:
            suffix = f"-{worker.index}" if len(workers) > 1 else ""
            actions = _start(f"actions{suffix}", [str(BIN / "rasa"), "run", "actions", "--actions", "actions",
                                                  "--port", str(worker.actions_port)], log_dir, {})
            # Rasa falls back to an in-memory tracker store, call by call, when its database cannot be opened:
            # that would silently forget every conversation. The plan gives it a database that exists.
            rasa = _start(f"rasa{suffix}", [str(BIN / "rasa"), "run", "--enable-api", "-i", "127.0.0.1",
                                            "-p", str(worker.rasa_port), "-m", str(MODEL),
                                            "--endpoints", worker.endpoints, "--credentials", "credentials.yml"],
                          log_dir, dict(worker.env))
            processes += [actions, rasa]
        for worker, (actions, rasa) in zip(workers, zip(processes[::2], processes[1::2])):
            _wait_ready(f"{worker.actions_url}/health", actions, f"action server {worker.index + 1}")
            _wait_ready(f"{worker.rasa_url}/status", rasa, f"Rasa worker {worker.index + 1} (loading the model)")
        settings = replace(settings, rasa_url=",".join(worker.rasa_url for worker in workers))
        if settings.telegram_enabled:
            from bot.telegram.app import main as telegram_main

            return telegram_main(settings) or 0  # wiring: bot.wiring.gateway_deps
        from bot.console import ConsoleChat, ensure_demo_clinic

        patient_id = ensure_demo_clinic(session_factory, settings)
        asyncio.run(ConsoleChat(settings, session_factory, patient_id).run())
        return 0
    except KeyboardInterrupt:
        return 130
    finally:
        print("\n>> stopping the assistant's processes")
        _stop(processes)


if __name__ == "__main__":
    sys.exit(main())
