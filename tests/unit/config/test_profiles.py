"""Which processes `make run` starts in each profile, and the errors a misconfigured production profile gets."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.run import profiles
from bot.settings import ConfigError, Settings


def _settings(**env: str) -> Settings:
    return Settings.from_env(env={"AFTERCARE_DATA_DIR": "/srv/aftercare", **env})


def test_embedded_profile_is_one_worker_on_sqlite_by_default() -> None:
    (worker,) = profiles.plan(_settings(), {})
    assert (worker.rasa_url, worker.actions_url, worker.endpoints) == (
        "http://127.0.0.1:5005",
        "http://127.0.0.1:5055",
        "endpoints.yml",
    )
    env = dict(worker.env)
    assert len(env.pop("ACTION_SERVER_TOKEN")) >= 32  # made up for the run
    assert env == {"RASA_TRACKER_DB": str(Path("/srv/aftercare") / "rasa_tracker.db")}


def test_production_workers_share_postgres_and_redis_and_each_calls_its_own_action_server() -> None:
    settings = _settings(
        AFTERCARE_PROFILE="production",
        RASA_WORKERS="2",
        DATABASE_URL="postgresql+psycopg2://clinic:s3cret@db.internal:6543/aftercare",
        REDIS_URL="redis://cache.internal:6380/2",
    )
    workers = profiles.plan(settings, {})
    assert [(w.rasa_port, w.actions_port, w.endpoints) for w in workers] == [
        (5005, 5055, "endpoints.production.yml"),
        (5006, 5056, "endpoints.production.yml"),
    ]
    first, second = (dict(w.env) for w in workers)
    assert first.pop("ACTION_ENDPOINT_URL") == "http://127.0.0.1:5055/webhook"
    assert second.pop("ACTION_ENDPOINT_URL") == "http://127.0.0.1:5056/webhook"
    assert first.pop("ACTION_SERVER_TOKEN") == second.pop("ACTION_SERVER_TOKEN")  # one secret for the run
    assert (
        first
        == second
        == {
            "RASA_TRACKER_PG_HOST": "db.internal",
            "RASA_TRACKER_PG_PORT": "6543",
            "RASA_TRACKER_PG_USER": "clinic",
            "RASA_TRACKER_PG_PASSWORD": "s3cret",
            "RASA_TRACKER_PG_DB": "rasa_tracker",
            "RASA_TRACKER_PG_LOGIN_DB": "aftercare",
            "RASA_LOCK_REDIS_HOST": "cache.internal",
            "RASA_LOCK_REDIS_PORT": "6380",
            "RASA_LOCK_REDIS_DB": "2",
        }
    )


def test_every_variable_the_production_endpoints_file_reads_is_planned() -> None:
    text = (Path(__file__).resolve().parents[3] / "endpoints.production.yml").read_text()
    wanted = {
        line.split("${", 1)[1].split("}", 1)[0]
        for line in text.splitlines()
        if "${" in line and not line.lstrip().startswith("#")
    }
    settings = _settings(AFTERCARE_PROFILE="production", DATABASE_URL="postgresql://127.0.0.1/test")
    (worker,) = profiles.plan(settings, {})
    assert wanted == set(dict(worker.env))


def test_explicit_tracker_settings_win_over_the_derived_ones() -> None:
    settings = _settings(AFTERCARE_PROFILE="production", DATABASE_URL="postgresql://127.0.0.1/test")
    env = profiles.production_env(settings, {"RASA_TRACKER_PG_DB": "conversations"})
    assert env["RASA_TRACKER_PG_DB"] == "conversations" and env["RASA_TRACKER_PG_LOGIN_DB"] == "test"


@pytest.mark.parametrize(
    "env, fix",
    [
        ({"AFTERCARE_PROFILE": "production"}, "DATABASE_URL=postgresql"),  # the SQLite default
        ({"AFTERCARE_PROFILE": "production", "DATABASE_URL": "postgresql://h/db", "REDIS_URL": "http://h"}, "redis://"),
        ({"AFTERCARE_PROFILE": "cluster"}, "'embedded' (default) or 'production'"),
        ({"RASA_WORKERS": "0"}, "RASA_WORKERS=0 must be at least 1"),
        ({"RASA_URL": " , "}, "RASA_URL is empty"),
    ],
)
def test_a_misconfigured_profile_says_what_to_fix(env, fix) -> None:
    with pytest.raises(ConfigError, match=fix.replace("(", r"\(").replace(")", r"\)")):
        profiles.plan(_settings(**env), {})


# --- closed by default: the secret, the children's environments, the log level ---------------------------------
SECRET = "s" * 24
LAUNCHER_ENV = {
    "PATH": "/usr/bin",
    "HOME": "/home/clinic",
    "LANG": "en_GB.UTF-8",
    "LC_ALL": "en_GB.UTF-8",
    "PYTHONUNBUFFERED": "1",
    "RASA_TELEMETRY_ENABLED": "false",
    "DATABASE_URL": "sqlite:////srv/aftercare/aftercare.db",
    "CLINIC_PHONE": "+44 20 7946 0000",
    "ESCALATION_REALERT_MINUTES": "5",
    "PATIENT_CALLBACK_MINUTES": "20",
    "TELEGRAM_BOT_TOKEN": "123456:real-token",
    "TELEGRAM_WEBHOOK_SECRET": "w" * 20,
    "AWS_SECRET_ACCESS_KEY": "not ours",
    "SSH_AUTH_SOCK": "/tmp/agent",
    "LOG_LEVEL": "DEBUG",
    "ACTION_SERVER_TOKEN": SECRET,
}


def test_the_action_servers_secret_comes_from_the_environment_or_is_made_up_per_run() -> None:
    (given,) = profiles.plan(_settings(), {"ACTION_SERVER_TOKEN": SECRET})
    assert dict(given.env)["ACTION_SERVER_TOKEN"] == SECRET
    runs = {dict(profiles.plan(_settings(), {})[0].env)["ACTION_SERVER_TOKEN"] for _ in range(3)}
    assert len(runs) == 3
    with pytest.raises(ConfigError, match="at least 16"):
        profiles.plan(_settings(), {"ACTION_SERVER_TOKEN": "short"})


@pytest.mark.parametrize(
    "asked, pinned",
    [
        ("DEBUG", "INFO"),
        ("debug", "INFO"),
        ("INFO", "INFO"),
        ("WARNING", "WARNING"),
        ("ERROR", "ERROR"),
        ("", "INFO"),
        ("CHATTY", "INFO"),
        (None, "INFO"),
    ],
)
def test_the_childrens_log_level_is_never_below_info(asked, pinned) -> None:
    assert profiles.pinned_log_level(asked) == pinned


def test_the_action_server_gets_the_clinic_settings_and_its_secret_but_no_telegram_token() -> None:
    settings = Settings.from_env(env=LAUNCHER_ENV)
    (worker,) = profiles.plan(settings, LAUNCHER_ENV)
    env = profiles.action_server_env(settings, worker, LAUNCHER_ENV)
    assert env == {
        "PATH": "/usr/bin",
        "HOME": "/home/clinic",
        "LANG": "en_GB.UTF-8",
        "LC_ALL": "en_GB.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "RASA_TELEMETRY_ENABLED": "false",
        "DATABASE_URL": "sqlite:////srv/aftercare/aftercare.db",
        "CLINIC_PHONE": "+44 20 7946 0000",
        "ESCALATION_REALERT_MINUTES": "5",
        "PATIENT_CALLBACK_MINUTES": "20",
        "ACTION_SERVER_TOKEN": SECRET,
        "LOG_LEVEL": "INFO",
    }


def test_rasa_gets_its_stores_and_the_secret_but_not_the_clinic_database_nor_telegram() -> None:
    settings = Settings.from_env(env=LAUNCHER_ENV)
    (worker,) = profiles.plan(settings, LAUNCHER_ENV)
    env = profiles.rasa_env(settings, worker, LAUNCHER_ENV)
    assert env == {
        "PATH": "/usr/bin",
        "HOME": "/home/clinic",
        "LANG": "en_GB.UTF-8",
        "LC_ALL": "en_GB.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "RASA_TELEMETRY_ENABLED": "false",
        "RASA_TRACKER_DB": str(settings.data_dir / "rasa_tracker.db"),
        "ACTION_SERVER_TOKEN": SECRET,
        "LOG_LEVEL": "INFO",
    }


def test_production_rasa_gets_the_tracker_password_it_needs() -> None:
    source = {
        **LAUNCHER_ENV,
        "AFTERCARE_PROFILE": "production",
        "DATABASE_URL": "postgresql+psycopg2://clinic:s3cret@db:5432/aftercare",
    }
    settings = Settings.from_env(env=source)
    worker = profiles.plan(settings, source)[0]
    rasa = profiles.rasa_env(settings, worker, source)
    actions = profiles.action_server_env(settings, worker, source)
    assert rasa["RASA_TRACKER_PG_PASSWORD"] == "s3cret" and "DATABASE_URL" not in rasa
    assert actions["DATABASE_URL"] == source["DATABASE_URL"] and "RASA_TRACKER_PG_PASSWORD" not in actions
    assert not [name for name in {**rasa, **actions} if name.startswith("TELEGRAM_") or name.startswith("AWS")]


def test_every_setting_the_clinic_can_set_reaches_the_action_server() -> None:
    """.env.example documents every setting; the action server gets all of them but the gateway's own."""
    names = profiles.project_settings()
    assert {
        "DATABASE_URL",
        "CLINIC_HOURS",
        "PATIENT_CALLBACK_MINUTES",
        "ESCALATION_BACKUP_AFTER_MINUTES",
        "CHECKIN_SCHEDULE_HOURS",
        "MAINTENANCE_REMINDER_DAYS_SCALP",
        "PREPARATION_LEAD_DAYS",
        "CRITERIA_PATH",
        "LOG_LEVEL",
    } <= names
    assert "TELEGRAM_BOT_TOKEN" in names  # documented, and kept from the children by GATEWAY_ONLY_PREFIXES
