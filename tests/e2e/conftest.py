"""Real processes for the end-to-end tests: the action server and the Rasa server, on free loopback ports,
sharing a temporary SQLite database with the gateway under test."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "aftercare.tar.gz"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Servers:
    def __init__(self, tmp: Path, database_url: str):
        self.tmp = tmp
        self.database_url = database_url
        self.action_port = free_port()
        self.rasa_port = free_port()
        self.processes: dict = {}
        self.env = {**os.environ, "DATABASE_URL": database_url, "CLINIC_PHONE": "+44 20 7946 0000",
                    "EMERGENCY_NUMBER": "999", "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3"}
        endpoints = tmp / "endpoints.yml"
        # In-memory tracker store: each test run starts with fresh conversations.
        endpoints.write_text(f'action_endpoint:\n  url: "http://127.0.0.1:{self.action_port}/webhook"\n')
        self.endpoints = endpoints

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def _spawn(self, name: str, args: list) -> None:
        log = open(self.tmp / f"{name}.log", "wb")
        self.processes[name] = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                                start_new_session=True)

    def start(self) -> None:
        self._spawn("actions", [str(BIN / "rasa"), "run", "actions", "--actions", "actions",
                                "--port", str(self.action_port)])
        self.start_rasa()
        self._wait(f"http://127.0.0.1:{self.action_port}/health", "actions")

    def start_rasa(self) -> None:
        self._spawn("rasa", [str(BIN / "rasa"), "run", "--enable-api", "-i", "127.0.0.1", "-p", str(self.rasa_port),
                             "-m", str(MODEL), "--endpoints", str(self.endpoints), "--credentials",
                             str(ROOT / "credentials.yml")])
        self._wait(f"{self.rasa_url}/status", "rasa")

    def _wait(self, url: str, name: str, timeout: float = 240.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.processes[name].poll() is not None:
                raise RuntimeError(f"{name} exited: " + (self.tmp / f"{name}.log").read_text()[-3000:])
            try:
                if httpx.get(url, timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"{name} not ready after {timeout}s")

    def stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)


@pytest.fixture(scope="session")
def servers(tmp_path_factory):
    """One action server and one Rasa server for all end-to-end tests (each start costs ~40 s of model loading)."""
    if not MODEL.exists():
        pytest.fail("no trained model: `make test` trains it before running the tests")
    from bot.store import db

    tmp = tmp_path_factory.mktemp("e2e")
    url = f"sqlite:///{tmp / 'clinic.db'}"
    db.upgrade(url)
    running = Servers(tmp, url)
    running.start()
    yield running
    running.stop_all()
