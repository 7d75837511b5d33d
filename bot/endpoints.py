"""The production profile's endpoint variables (endpoints.production.yml), derived from the settings.

Shared by the run code (bot.run.profiles gives them to each Rasa worker) and the composition root (bot.bootstrap
finds the conversation store with them), so neither has to import the other.
"""

from __future__ import annotations

from typing import Dict, Mapping
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url

from bot.settings import ConfigError, Settings

# The conversations' own database on the clinic's PostgreSQL server (production profile).
TRACKER_DB = "rasa_tracker"


def production_env(settings: Settings, env: Mapping[str, str]) -> Dict[str, str]:
    """endpoints.production.yml's variables, derived from DATABASE_URL and REDIS_URL unless set explicitly.

    The conversations go to their own database (rasa_tracker) on the clinic's PostgreSQL server; Rasa creates it
    on first start, logging in to the clinic database.
    """
    database = make_url(settings.database_url)
    if not database.drivername.startswith("postgresql"):
        raise ConfigError(
            f"AFTERCARE_PROFILE=production needs PostgreSQL: DATABASE_URL is {database.drivername}://…. Set "
            "DATABASE_URL=postgresql+psycopg2://user:password@host:5432/aftercare, or use the embedded profile."
        )
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
