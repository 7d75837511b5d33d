"""The two ways to run the assistant's processes, as data: which Rasa and action servers to start, and with
what environment. bot.launcher starts them; this module only decides (pure, so it is unit-tested).

embedded (default, `make run`): one action server and one Rasa server on loopback, conversations in SQLite.
production: RASA_WORKERS pairs of Rasa server + action server. Every Rasa worker keeps conversations in
PostgreSQL and takes the Redis lock for a conversation while it handles a message (endpoints.production.yml),
so the gateway can send a patient to any worker. Each worker calls its own action server: actions keep no
state between calls (everything is in the clinic database), so action servers scale with the workers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Mapping, Tuple
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url

from bot.settings import ConfigError, Settings

RASA_BASE_PORT = 5005
ACTIONS_BASE_PORT = 5055
TRACKER_DB = "rasa_tracker"


@dataclass(frozen=True)
class Worker:
    index: int
    rasa_port: int
    actions_port: int
    endpoints: str  # the endpoints file Rasa reads
    env: Tuple[Tuple[str, str], ...]  # extra environment for this worker's Rasa process

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://127.0.0.1:{self.actions_port}"


def plan(settings: Settings, env: Mapping[str, str]) -> List[Worker]:
    """The workers to start for settings.profile, with everything endpoints.production.yml reads."""
    if settings.profile == "embedded":
        tracker = {"RASA_TRACKER_DB": str(settings.data_dir / "rasa_tracker.db")}
        return [Worker(0, RASA_BASE_PORT, ACTIONS_BASE_PORT, "endpoints.yml", tuple(tracker.items()))]
    shared = production_env(settings, env)
    workers = []
    for index in range(settings.rasa_workers):
        actions_port = ACTIONS_BASE_PORT + index
        own = {**shared, "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{actions_port}/webhook"}
        workers.append(Worker(index, RASA_BASE_PORT + index, actions_port, "endpoints.production.yml",
                              tuple(sorted(own.items()))))
    return workers


def production_env(settings: Settings, env: Mapping[str, str]) -> Dict[str, str]:
    """endpoints.production.yml's variables, derived from DATABASE_URL and REDIS_URL unless set explicitly.

    The conversations go to their own database (rasa_tracker) on the clinic's PostgreSQL server; Rasa creates it
    on first start, logging in to the clinic database.
    """
    database = make_url(settings.database_url)
    if not database.drivername.startswith("postgresql"):
        raise ConfigError(
            f"AFTERCARE_PROFILE=production needs PostgreSQL: DATABASE_URL is {database.drivername}://…. Set "
            "DATABASE_URL=postgresql+psycopg2://user:password@host:5432/aftercare, or use the embedded profile.")
    redis = urlsplit(settings.redis_url)
    if redis.scheme != "redis" or not redis.hostname:
        raise ConfigError(f"REDIS_URL={settings.redis_url!r}: use redis://host:6379/0 (the Redis lock store).")
    derived = {
        "RASA_TRACKER_PG_HOST": database.host or "127.0.0.1",
        "RASA_TRACKER_PG_PORT": str(database.port or 5432),
        "RASA_TRACKER_PG_USER": database.username or "postgres",
        "RASA_TRACKER_PG_PASSWORD": database.password or "",
        "RASA_TRACKER_PG_DB": TRACKER_DB,
        "RASA_TRACKER_PG_LOGIN_DB": database.database or "postgres",
        "RASA_LOCK_REDIS_HOST": redis.hostname,
        "RASA_LOCK_REDIS_PORT": str(redis.port or 6379),
        "RASA_LOCK_REDIS_DB": (redis.path or "/0").strip("/") or "0",
    }
    return {name: env.get(name) or value for name, value in derived.items()}
