"""Real processes for the end-to-end tests: the action server and the Rasa server, on free loopback ports,
sharing a temporary SQLite database with the gateway under test."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
import yaml

from bot.run.processes import RASA_READY_PATH, Processes, action_server_args, free_port, rasa_server_args
from bot.run.profiles import pinned_log_level

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "aftercare.tar.gz"


# The clinic's details the servers run with (the replies' {placeholders}); pinned, so a developer's .env cannot
# change what the tests expect.
CLINIC_ENV = {
    "CLINIC_PHONE": "+44 20 7946 0000",
    "EMERGENCY_NUMBER": "999",
    "PATIENT_CALLBACK_MINUTES": "30",
    "CLINIC_HOURS": "Mon–Fri 9:00–18:00",
}


class Servers:
    def __init__(self, tmp: Path, database_url: str):
        self.tmp = tmp
        self.database_url = database_url
        self.action_port = free_port()
        self.rasa_port = free_port()
        # The action server refuses requests without this secret; Rasa sends it (the endpoints file below).
        self.action_token = secrets.token_urlsafe(24)
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            **CLINIC_ENV,
            "ACTION_SERVER_TOKEN": self.action_token,
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "LOG_LEVEL": pinned_log_level(os.environ.get("LOG_LEVEL")),
        }  # as make run pins it
        self.processes = Processes(tmp, env)
        endpoints = tmp / "endpoints.yml"
        # The shipped action endpoint on this test's port (token, selective domain); an in-memory tracker store:
        # each test run starts with fresh conversations.
        shipped = yaml.safe_load((ROOT / "endpoints.yml").read_text(encoding="utf-8"))["action_endpoint"]
        action_endpoint = {**shipped, "url": f"http://127.0.0.1:{self.action_port}/webhook"}
        endpoints.write_text(yaml.safe_dump({"action_endpoint": action_endpoint}), encoding="utf-8")
        self.endpoints = endpoints

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def start(self) -> None:
        self.processes.spawn("actions", action_server_args(self.action_port))
        self.start_rasa()
        self.processes.wait_http("actions", f"http://127.0.0.1:{self.action_port}/health")

    def start_actions(self) -> None:
        """(Re)start the action server, e.g. after a test killed it."""
        self.processes.spawn("actions", action_server_args(self.action_port))
        self.processes.wait_http("actions", f"http://127.0.0.1:{self.action_port}/health")

    def start_rasa(self) -> None:
        self.processes.spawn("rasa", rasa_server_args(self.rasa_port, MODEL, self.endpoints, ROOT / "credentials.yml"))
        self.processes.wait_http("rasa", f"{self.rasa_url}{RASA_READY_PATH}")

    def stop(self, name: str) -> None:
        self.processes.stop(name)

    def stop_all(self) -> None:
        self.processes.stop_all()


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
    try:
        running.start()
        yield running
    finally:
        running.stop_all()
