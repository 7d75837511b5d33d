"""Engines, sessions and migrations. Nothing connects at import time: callers pass the URL when they start.

upgrade(url)                    apply every Alembic migration (the only way the schema is created)
downgrade(url, "base")          undo them
make_session_factory(url)       a `sessionmaker` for UnitOfWork
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 15_000


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; for SQLite also set the pragmas a multi-process bot needs (see _sqlite_on_connect)."""
    # hide_parameters: SQL errors end up in logs; their bound values could be a patient's words.
    kwargs.setdefault("hide_parameters", True)
    if not is_sqlite(url):
        return create_engine(url, future=True, pool_pre_ping=True, **kwargs)

    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # check_same_thread=False: the notifier runs its short DB steps in a worker thread (asyncio.to_thread).
    connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
    engine = create_engine(url, future=True, connect_args=connect_args, **kwargs)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # We issue BEGIN ourselves (below), so switch off the driver's own implicit transaction handling.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")  # SQLite ignores FOREIGN KEY clauses unless asked
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")  # wait for another writer, don't fail
    cursor.execute("PRAGMA journal_mode=WAL")  # readers don't block the writer (bot, notifier, CLI at once)
    cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    # BEGIN IMMEDIATE takes the write lock up front. With a plain (deferred) BEGIN, a transaction that reads
    # and then writes can fail with "database is locked" when another process wrote in between, and the busy
    # timeout does not help in that case. Serialising writers is cheap at a clinic's message rate.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(url: str, **engine_kwargs: Any) -> "sessionmaker[Session]":
    """A session factory bound to a new engine for `url`.

    expire_on_commit=False: objects returned by repository functions stay readable after the unit of work
    commits and closes (the callers only read them).
    """
    engine = make_engine(url, **engine_kwargs)
    return sessionmaker(bind=engine, future=True, expire_on_commit=False)


# Migrations ---------------------------------------------------------------------------------------------------
def alembic_config(url: str) -> Config:
    """An Alembic Config built in code, so no alembic.ini is needed at the project root."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # env.py reads the URL from here; passing it as an attribute avoids configparser's '%' interpolation.
    config.attributes["database_url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    log.debug("migrating database to %s", revision)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    log.debug("downgrading database to %s", revision)
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str:
    """The newest migration in bot/store/migrations/versions."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(url: str) -> str | None:
    """The revision the database is at (None when no migration was ever applied)."""
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
