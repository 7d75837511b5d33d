"""Which processes `make run` starts in each profile, and the errors a misconfigured production profile gets."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot import profiles
from bot.settings import ConfigError, Settings


def _settings(**env: str) -> Settings:
    return Settings.from_env(env={"AFTERCARE_DATA_DIR": "/srv/aftercare", **env})


def test_embedded_profile_is_one_worker_on_sqlite_by_default() -> None:
    (worker,) = profiles.plan(_settings(), {})
    assert (worker.rasa_url, worker.actions_url, worker.endpoints) == (
        "http://127.0.0.1:5005", "http://127.0.0.1:5055", "endpoints.yml")
    assert dict(worker.env) == {"RASA_TRACKER_DB": str(Path("/srv/aftercare") / "rasa_tracker.db")}


def test_production_workers_share_postgres_and_redis_and_each_calls_its_own_action_server() -> None:
    settings = _settings(AFTERCARE_PROFILE="production", RASA_WORKERS="2",
                         DATABASE_URL="postgresql+psycopg2://clinic:s3cret@db.internal:6543/aftercare",
                         REDIS_URL="redis://cache.internal:6380/2")
    workers = profiles.plan(settings, {})
    assert [(w.rasa_port, w.actions_port, w.endpoints) for w in workers] == [
        (5005, 5055, "endpoints.production.yml"), (5006, 5056, "endpoints.production.yml")]
    first, second = (dict(w.env) for w in workers)
    assert first.pop("ACTION_ENDPOINT_URL") == "http://127.0.0.1:5055/webhook"
    assert second.pop("ACTION_ENDPOINT_URL") == "http://127.0.0.1:5056/webhook"
    assert first == second == {
        "RASA_TRACKER_PG_HOST": "db.internal", "RASA_TRACKER_PG_PORT": "6543", "RASA_TRACKER_PG_USER": "clinic",
        "RASA_TRACKER_PG_PASSWORD": "s3cret", "RASA_TRACKER_PG_DB": "rasa_tracker",
        "RASA_TRACKER_PG_LOGIN_DB": "aftercare",
        "RASA_LOCK_REDIS_HOST": "cache.internal", "RASA_LOCK_REDIS_PORT": "6380", "RASA_LOCK_REDIS_DB": "2",
    }


def test_every_variable_the_production_endpoints_file_reads_is_planned() -> None:
    text = (Path(__file__).resolve().parents[3] / "endpoints.production.yml").read_text()
    wanted = {line.split("${", 1)[1].split("}", 1)[0] for line in text.splitlines()
              if "${" in line and not line.lstrip().startswith("#")}
    settings = _settings(AFTERCARE_PROFILE="production", DATABASE_URL="postgresql://127.0.0.1/test")
    (worker,) = profiles.plan(settings, {})
    assert wanted == set(dict(worker.env))


def test_explicit_tracker_settings_win_over_the_derived_ones() -> None:
    settings = _settings(AFTERCARE_PROFILE="production", DATABASE_URL="postgresql://127.0.0.1/test")
    env = profiles.production_env(settings, {"RASA_TRACKER_PG_DB": "conversations"})
    assert env["RASA_TRACKER_PG_DB"] == "conversations" and env["RASA_TRACKER_PG_LOGIN_DB"] == "test"


@pytest.mark.parametrize("env, fix", [
    ({"AFTERCARE_PROFILE": "production"}, "DATABASE_URL=postgresql"),  # the SQLite default
    ({"AFTERCARE_PROFILE": "production", "DATABASE_URL": "postgresql://h/db", "REDIS_URL": "http://h"}, "redis://"),
    ({"AFTERCARE_PROFILE": "cluster"}, "'embedded' (default) or 'production'"),
    ({"RASA_WORKERS": "0"}, "RASA_WORKERS=0 must be at least 1"),
    ({"RASA_URL": " , "}, "RASA_URL is empty"),
])
def test_a_misconfigured_profile_says_what_to_fix(env, fix) -> None:
    with pytest.raises(ConfigError, match=fix.replace("(", r"\(").replace(")", r"\)")):
        profiles.plan(_settings(**env), {})
