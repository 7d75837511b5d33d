"""What a benchmark run needs before it measures: its own PostgreSQL databases, a clinic with registered patients,
the production endpoints, and the stock `rasa init` assistant (trained once, cached outside the repository).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bot.run.processes import BIN
from bot.settings import PROJECT_ROOT
from devtools.bench.telegram_path import TelegramPatient

POSTGRES_URL = os.environ.get("AFTERCARE_BENCH_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
REDIS_HOST = os.environ.get("AFTERCARE_BENCH_REDIS_HOST", "127.0.0.1")
REDIS_PORT = os.environ.get("AFTERCARE_BENCH_REDIS_PORT", "6379")
REDIS_DB = os.environ.get("AFTERCARE_BENCH_REDIS_DB", "7")
PRODUCTION_ENDPOINTS = PROJECT_ROOT / "endpoints.production.yml"
STOCK_CACHE = Path(os.environ.get("AFTERCARE_BENCH_CACHE", Path.home() / ".cache" / "aftercare-bench"))

REST_PRACTITIONER_CHAT = 900_001
TELEGRAM_CHATS = 700_001
TELEGRAM_PRACTITIONER_CHATS = 800_001


class Databases:
    """Fresh PostgreSQL databases for one run (clinic, our tracker store, stock's), dropped at the end."""

    def __init__(self, server_url: str = POSTGRES_URL) -> None:
        self.server_url = make_url(server_url)
        prefix = f"aftercare_bench_{secrets.token_hex(3)}"
        self.clinic, self.tracker, self.stock_tracker = f"{prefix}_clinic", f"{prefix}_tracker", f"{prefix}_stock"
        self._server = create_engine(str(self.server_url), future=True, isolation_level="AUTOCOMMIT")

    @property
    def clinic_url(self) -> str:
        return str(self.server_url.set(database=self.clinic))

    def create(self) -> None:
        from bot.store import db

        with self._server.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.clinic}"'))
        db.upgrade(self.clinic_url)  # the tracker databases are created by Rasa itself (login_db)

    def drop(self) -> None:
        with self._server.connect() as connection:
            for name in (self.clinic, self.tracker, self.stock_tracker):
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._server.dispose()

    def rasa_env(self, tracker_db: str, action_url: str = "") -> Dict[str, str]:
        """The variables endpoints.production.yml reads."""
        url = self.server_url
        return {
            "ACTION_ENDPOINT_URL": action_url,
            "RASA_TRACKER_PG_HOST": url.host or "127.0.0.1",
            "RASA_TRACKER_PG_PORT": str(url.port or 5432),
            "RASA_TRACKER_PG_USER": url.username or "postgres",
            "RASA_TRACKER_PG_PASSWORD": url.password or "",
            "RASA_TRACKER_PG_DB": tracker_db,
            "RASA_TRACKER_PG_LOGIN_DB": url.database or "postgres",
            "RASA_LOCK_REDIS_HOST": REDIS_HOST,
            "RASA_LOCK_REDIS_PORT": REDIS_PORT,
            "RASA_LOCK_REDIS_DB": REDIS_DB,
        }


def stock_endpoints(directory: Path) -> Path:
    """Our production stores (PostgreSQL trackers, Redis locks) without an action server, for the stock bot:
    both assistants then pay for the same stores and the comparison is about the assistants themselves."""
    config = yaml.safe_load(PRODUCTION_ENDPOINTS.read_text())
    config.pop("action_endpoint", None)
    path = directory / "endpoints.stock.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@dataclass
class Clinic:
    rest_senders: List[str]
    telegram: List[TelegramPatient]


def register_clinic(database_url: str, rest_patients: int, telegram_patients: int) -> Clinic:
    """Patients treated 30 hours ago: REST ones share a practitioner; each Telegram one has their own
    practitioner chat, so every alert can be matched to the red flag that caused it."""
    from bot.store import db
    from bot.store.uow import UnitOfWork
    from bot.usecases import enrolment

    factory = db.make_session_factory(database_url)
    uow = UnitOfWork(factory)
    treated = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=30)

    def patient(number: int, practitioner_id: int):
        return enrolment.add_patient_with_treatment(
            uow, f"Bench Patient {number}", treated, "face", "microneedling", practitioner_id
        )

    shared = enrolment.add_practitioner(uow, "Dr Rest", chat_id=REST_PRACTITIONER_CHAT).id
    rest = [f"patient-{patient(n, shared).patient.id}" for n in range(rest_patients)]
    telegram = []
    for n in range(telegram_patients):
        practitioner_chat = TELEGRAM_PRACTITIONER_CHATS + n
        practitioner_id = enrolment.add_practitioner(uow, f"Dr Tg{n}", chat_id=practitioner_chat).id
        new = patient(rest_patients + n, practitioner_id)
        telegram.append(
            TelegramPatient(f"patient-{new.patient.id}", TELEGRAM_CHATS + n, new.link_code, practitioner_chat)
        )
    factory.kw["bind"].dispose()
    return Clinic(rest, telegram)


def stock_project(rasa_version: str) -> Path:
    return STOCK_CACHE / f"stock-rasa-{rasa_version}"


def stock_model(project: Path) -> Optional[Path]:
    models = sorted((project / "models").glob("*.tar.gz"))
    return models[-1] if models else None


def init_stock(project: Path, env: Dict[str, str], log: Path) -> float:
    """`rasa init --no-prompt` (which also trains) into the cache; returns the seconds it took."""
    if project.exists():
        shutil.rmtree(project)  # an earlier attempt that did not finish
    project.mkdir(parents=True)
    started = time.perf_counter()
    with open(log, "ab") as out:
        done = subprocess.run(
            [str(BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(project)],
            cwd=project,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if done.returncode != 0 or stock_model(project) is None:
        shutil.rmtree(project, ignore_errors=True)
        raise RuntimeError(f"rasa init failed (code {done.returncode}); see {log}")
    return time.perf_counter() - started


def time_training(args: List[str], cwd: Path, env: Dict[str, str], log: Path) -> float:
    """Seconds a forced (fresh, no cache reuse) `rasa train` takes; the model goes to a throw-away folder."""
    started = time.perf_counter()
    with open(log, "ab") as out:
        done = subprocess.run(
            [str(BIN / "rasa"), "train", "--force", "--quiet", *args],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if done.returncode != 0:
        raise RuntimeError(f"training failed (code {done.returncode}); see {log}")
    return time.perf_counter() - started


def machine() -> Dict[str, object]:
    import platform
    from importlib.metadata import version

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    mem_kb = next(
        (int(line.split()[1]) for line in _read("/proc/meminfo").splitlines() if line.startswith("MemTotal:")), 0
    )
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kb / 1024**2, 1),
        "load_average_at_start": list(os.getloadavg()),
        "python": platform.python_version(),
        "rasa": version("rasa"),
        "rasa_sdk": version("rasa-sdk"),
        "python_telegram_bot": version("python-telegram-bot"),
        "git": _git(),
    }


def _git() -> Dict[str, object]:
    def run(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""

    return {
        "commit": run("rev-parse", "HEAD"),
        "branch": run("rev-parse", "--abbrev-ref", "HEAD"),
        "dirty": bool(run("status", "--porcelain", "--untracked-files=no")),
    }


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def server_env(databases: "Databases", work: Path) -> Dict[str, str]:
    """The environment every server process of a benchmark run gets (make bench and make profile alike)."""
    return {
        **os.environ,
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "DATABASE_URL": databases.clinic_url,
        "CLINIC_PHONE": "+44 20 7946 0000",
        "EMERGENCY_NUMBER": "999",
        "LOG_LEVEL": "WARNING",
        "AFTERCARE_DATA_DIR": str(work / "var"),
        # our action server's shared secret, sent by Rasa (endpoints.production.yml)
        "ACTION_SERVER_TOKEN": secrets.token_urlsafe(24),
    }
