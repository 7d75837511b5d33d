"""`make run` without a Telegram token (the terminal demo) keeps its own records and conversations (issue 12):
var/demo.db and var/demo_rasa_tracker.db, never the configured DATABASE_URL, so its practitioners (chat ids 1001,
1002) never get staff access or on-call alerts in a clinic's real database. The launcher runs for real here, with
its children, their readiness and the chat replaced by fakes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, List

import pytest

from bot.run import launcher, profiles
from bot.run.console import DEMO_ON_CALL_CHAT, DEMO_PRACTITIONER_CHAT, demo_settings, demo_workers
from bot.settings import Settings
from bot.store import db, repository
from bot.store.uow import UnitOfWork
from bot.usecases import enrolment


def test_demo_settings_replace_the_database_and_the_conversation_store(tmp_path):
    configured = Settings.from_env(
        {
            "DATABASE_URL": "postgresql+psycopg2://clinic:secret@db.example:5432/clinic",
            "AFTERCARE_DATA_DIR": str(tmp_path),
            "AFTERCARE_PROFILE": "production",
            "RASA_WORKERS": "3",
        }
    )
    demo = demo_settings(configured)
    assert demo.database_url == f"sqlite:///{tmp_path / 'demo.db'}"
    assert (demo.profile, demo.rasa_workers) == ("embedded", 1)
    workers = demo_workers(demo, profiles.plan(demo, demo.extra))
    assert len(workers) == 1
    actions_env = profiles.action_server_env(demo, workers[0], demo.extra)
    rasa_env = profiles.rasa_env(demo, workers[0], demo.extra)
    assert actions_env["DATABASE_URL"] == demo.database_url and "secret" not in str(actions_env)
    assert rasa_env["RASA_TRACKER_DB"] == str(tmp_path / "demo_rasa_tracker.db")
    assert configured.database_url.startswith("postgresql")  # the clinic's settings are left as they were


class FakeProcesses:
    spawned: Dict[str, Dict[str, str]] = {}

    def __init__(self, log_dir: Path, env: Any = None) -> None:
        FakeProcesses.spawned = {}

    def spawn(self, name: str, args: List[str], env: Dict[str, str]) -> None:
        FakeProcesses.spawned[name] = dict(env)

    def stop_all(self) -> None:
        pass


class FakeSupervisor:
    def __init__(self, children: Any, specs: Any) -> None:
        self.restarts: Dict[str, int] = {}

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


class FakeChat:
    seen: List[Any] = []

    def __init__(self, settings: Settings, session_factory: Any, patient_id: int) -> None:
        FakeChat.seen.append((settings, patient_id))

    async def run(self) -> None:
        pass


@pytest.fixture
def terminal_launcher(tmp_path, monkeypatch):
    model = tmp_path / "aftercare.tar.gz"
    model.write_bytes(b"not a model")
    monkeypatch.setattr(launcher, "MODEL", model)
    monkeypatch.setattr(launcher, "Processes", FakeProcesses)
    monkeypatch.setattr(launcher, "Supervisor", FakeSupervisor)
    monkeypatch.setattr(launcher, "_wait_ready", lambda *args: None)
    monkeypatch.setattr("bot.run.console.ConsoleChat", FakeChat)
    FakeChat.seen = []
    for name in ("TELEGRAM_BOT_TOKEN", "RASA_WORKERS", "DATA_RETENTION_DAYS"):
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("AFTERCARE_PROFILE", "embedded")
    monkeypatch.setenv("AFTERCARE_DATA_DIR", str(tmp_path / "var"))
    umask = os.umask(0o022)
    os.umask(umask)
    yield tmp_path
    os.umask(umask)  # the launcher sets 077 for its process


def test_make_run_without_a_token_never_writes_to_the_clinic_database(terminal_launcher, monkeypatch):
    tmp = terminal_launcher
    clinic_url = f"sqlite:///{tmp / 'clinic.db'}"
    db.upgrade(clinic_url)
    clinic = db.make_session_factory(clinic_url)
    enrolment.add_practitioner(UnitOfWork(clinic), "Dr Real", "treating", 555001)
    monkeypatch.setenv("DATABASE_URL", clinic_url)

    assert launcher.main() == 0

    with UnitOfWork(clinic) as uow:  # the clinic: as it was
        assert [p.telegram_chat_id for p in repository.list_practitioners(uow)] == [555001]
        assert repository.patient_for_chat(uow, 1) is None
    demo_url = f"sqlite:///{tmp / 'var' / 'demo.db'}"
    with UnitOfWork(db.make_session_factory(demo_url)) as uow:  # the demo: its own file
        chats = {p.telegram_chat_id for p in repository.list_practitioners(uow)}
        assert chats == {DEMO_PRACTITIONER_CHAT, DEMO_ON_CALL_CHAT}
        assert repository.patient_for_chat(uow, 1).display_name == "Demo Patient"
    ((settings, _),) = FakeChat.seen
    assert settings.database_url == demo_url
    # the children record and converse in the demo's files too
    assert FakeProcesses.spawned["actions"]["DATABASE_URL"] == demo_url
    assert FakeProcesses.spawned["rasa"]["RASA_TRACKER_DB"] == str(tmp / "var" / "demo_rasa_tracker.db")
    assert "DATABASE_URL" not in FakeProcesses.spawned["rasa"]


def test_make_run_without_a_token_ignores_a_postgresql_database_url(terminal_launcher, monkeypatch):
    # nothing listens on port 1: touching the configured database would fail the run
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg2://clinic:secret@127.0.0.1:1/clinic")
    monkeypatch.setenv("AFTERCARE_PROFILE", "production")
    assert launcher.main() == 0
    ((settings, _),) = FakeChat.seen
    assert settings.database_url == f"sqlite:///{terminal_launcher / 'var' / 'demo.db'}"
    assert "secret" not in str(FakeProcesses.spawned["actions"])
