"""The two ways to run the assistant's processes, as data: which Rasa and action servers to start, and with
what environment. bot.run.launcher starts them; this module only decides (pure, so it is unit-tested).

embedded (default, `make run`): one action server and one Rasa server on loopback, conversations in SQLite.
production: RASA_WORKERS pairs of Rasa server + action server. Every Rasa worker keeps conversations in
PostgreSQL and takes the Redis lock for a conversation while it handles a message (endpoints.production.yml),
so the gateway can send a patient to any worker. Each worker calls its own action server: actions keep no
state between calls (everything is in the clinic database), so action servers scale with the workers.

Both profiles are closed by default: everything listens on 127.0.0.1, Rasa runs without its HTTP API, and the
action server refuses requests without the shared secret ACTION_SERVER_TOKEN (Rasa sends it: `token:` in both
endpoints files), taken from the environment or generated for the run. Each child gets only the environment it
needs (`rasa_env`, `action_server_env`): no Telegram token, and Rasa not the clinic database's URL; its log level is
pinned to INFO or higher whatever LOG_LEVEL says, because at DEBUG Rasa and rasa_sdk log what patients wrote.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, FrozenSet, List, Mapping, Optional, Tuple

from bot.endpoints import production_env
from bot.settings import PROJECT_ROOT, ConfigError, Settings

RASA_BASE_PORT = 5005
ACTIONS_BASE_PORT = 5055
# The action server's shared secret (bot/run/action_server.py), read by Rasa from both endpoints files.
ACTION_TOKEN_VAR = "ACTION_SERVER_TOKEN"

# What every child may inherit from the launcher's environment: the system's basics and the Python / TensorFlow /
# Rasa plumbing the Makefile sets. Nothing else passes unless a child needs it (below).
SYSTEM_VARS = frozenset(
    {
        "PATH",
        "HOME",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TMPDIR",
        "USER",
        "LOGNAME",
        "VIRTUAL_ENV",
        "PYTHONUNBUFFERED",
        "PYTHONWARNINGS",
        "TF_CPP_MIN_LOG_LEVEL",
        "SQLALCHEMY_SILENCE_UBER_WARNING",
        "RASA_TELEMETRY_ENABLED",
        "OMP_NUM_THREADS",
        "TF_NUM_INTRAOP_THREADS",
        "TF_NUM_INTEROP_THREADS",
    }
)
SYSTEM_PREFIXES = ("LC_",)
# The project's settings that only the gateway (this process) uses: never given to Rasa or the action server.
GATEWAY_ONLY_PREFIXES = ("TELEGRAM_",)
# The settings every clinic has, in case .env.example (which documents them all) is not there to read.
CORE_SETTINGS = frozenset(
    {
        "DATABASE_URL",
        "AFTERCARE_DATA_DIR",
        "CLINIC_NAME",
        "CLINIC_PHONE",
        "CLINIC_HOURS",
        "EMERGENCY_NUMBER",
        "PATIENT_CALLBACK_MINUTES",
        "CRITERIA_PATH",
        "SPACY_MODEL_PATH",
    }
)


@dataclass(frozen=True)
class Worker:
    index: int
    rasa_port: int
    actions_port: int
    endpoints: str  # the endpoints file Rasa reads
    env: Tuple[Tuple[str, str], ...]  # what this worker's endpoints file reads (its Rasa process's environment)

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://127.0.0.1:{self.actions_port}"


def plan(settings: Settings, env: Mapping[str, str]) -> List[Worker]:
    """The workers to start for settings.profile, with everything the endpoints file reads (the action server's
    secret included: ACTION_SERVER_TOKEN from `env`, or a new random one for this run)."""
    token = action_token(env)
    if settings.profile == "embedded":
        own = {"RASA_TRACKER_DB": str(settings.data_dir / "rasa_tracker.db"), ACTION_TOKEN_VAR: token}
        return [Worker(0, RASA_BASE_PORT, ACTIONS_BASE_PORT, "endpoints.yml", tuple(sorted(own.items())))]
    shared = {**production_env(settings, env), ACTION_TOKEN_VAR: token}
    workers = []
    for index in range(settings.rasa_workers):
        actions_port = ACTIONS_BASE_PORT + index
        own = {**shared, "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{actions_port}/webhook"}
        workers.append(
            Worker(index, RASA_BASE_PORT + index, actions_port, "endpoints.production.yml", tuple(sorted(own.items())))
        )
    return workers


def action_token(env: Mapping[str, str]) -> str:
    """ACTION_SERVER_TOKEN as set (at least 16 characters), or a new random one."""
    token = (env.get(ACTION_TOKEN_VAR) or "").strip()
    if not token:
        return secrets.token_urlsafe(32)
    if len(token) < 16:
        raise ConfigError(
            f"{ACTION_TOKEN_VAR} is too short: use at least 16 random characters, or leave it unset "
            "and make run makes one up for each run."
        )
    return token


def pinned_log_level(requested: Optional[str]) -> str:
    """The children's LOG_LEVEL: INFO, or higher if LOG_LEVEL asks for it; never DEBUG, at which Rasa and
    rasa_sdk log what patients wrote."""
    level = logging.getLevelName((requested or "INFO").strip().upper())
    if not isinstance(level, int):
        return "INFO"
    return logging.getLevelName(max(level, logging.INFO))


def project_settings(example: Path = PROJECT_ROOT / ".env.example") -> FrozenSet[str]:
    """The names of the project's settings, as documented in .env.example (`NAME=` lines, also commented out)."""
    names = set(CORE_SETTINGS)
    try:
        lines = example.read_text(encoding="utf-8").splitlines()
    except OSError:
        return frozenset(names)
    for line in lines:
        name, equals, _ = line.lstrip("# ").partition("=")
        if equals and name.isidentifier() and name.isupper():
            names.add(name)
    return frozenset(names)


def base_env(source: Mapping[str, str]) -> Dict[str, str]:
    """The part of `source` every child gets: SYSTEM_VARS and LC_* only."""
    return {name: value for name, value in source.items() if name in SYSTEM_VARS or name.startswith(SYSTEM_PREFIXES)}


def action_server_env(settings: Settings, worker: Worker, source: Mapping[str, str]) -> Dict[str, str]:
    """The action server's whole environment: the basics, the clinic's settings (it records reports and queues
    alerts: database, clinic details, escalation policy, ...) but none of the gateway's (the Telegram token), its
    shared secret and the pinned log level."""
    wanted = {name for name in project_settings() if not name.startswith(GATEWAY_ONLY_PREFIXES)}
    env = base_env(source)
    env.update({name: value for name, value in source.items() if name in wanted})
    env[ACTION_TOKEN_VAR] = dict(worker.env)[ACTION_TOKEN_VAR]
    env["LOG_LEVEL"] = pinned_log_level(settings.log_level)
    return env


def web_env(settings: Settings, source: Mapping[str, str]) -> Dict[str, str]:
    """The web console's whole environment: the basics and the clinic's settings, the Telegram ones included (it
    fetches photos through the Bot API and shows the bot's deep links), but not the action server's secret, and the
    pinned log level."""
    wanted = project_settings() - {ACTION_TOKEN_VAR}
    env = base_env(source)
    env.update({name: value for name, value in source.items() if name in wanted})
    env["LOG_LEVEL"] = pinned_log_level(settings.log_level)
    return env


def rasa_env(settings: Settings, worker: Worker, source: Mapping[str, str]) -> Dict[str, str]:
    """A Rasa worker's whole environment: the basics, what its endpoints file reads (tracker and lock stores, the
    action server's URL and secret), where our spaCy pipeline is if moved, and the pinned log level. Not the
    clinic database's URL, not the Telegram token."""
    env = base_env(source)
    if source.get("SPACY_MODEL_PATH"):
        env["SPACY_MODEL_PATH"] = source["SPACY_MODEL_PATH"]
    env.update(dict(worker.env))
    env["LOG_LEVEL"] = pinned_log_level(settings.log_level)
    return env
