"""Database fixtures: every test that takes `db_url` / `session_factory` runs on SQLite AND PostgreSQL.

* SQLite: one migrated file per test session under pytest's tmp dir.
* PostgreSQL: a fresh database `aftercare_test_<random>` created on the server named by
  AFTERCARE_TEST_POSTGRES_URL (default: postgres@127.0.0.1:5432/test), migrated once, dropped at the end.
  When the server cannot be reached the PostgreSQL cases are skipped with the reason, unless
  AFTERCARE_REQUIRE_POSTGRES=1, which turns the skip into a failure (CI sets it).
Tables are emptied before each test, so tests do not see each other's rows.
"""

from __future__ import annotations

import os
import secrets
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bot.store import db
from bot.store.models import Base

POSTGRES_SERVER_URL = os.environ.get(
    "AFTERCARE_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def _postgres_unavailable(reason: str) -> None:
    if os.environ.get("AFTERCARE_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"AFTERCARE_REQUIRE_POSTGRES=1 but PostgreSQL is unavailable: {reason}")
    pytest.skip(f"PostgreSQL not reachable ({reason}); set AFTERCARE_TEST_POSTGRES_URL or start it")


@pytest.fixture(scope="session")
def sqlite_session_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'aftercare.db'}"
    db.upgrade(url)
    return url


@pytest.fixture(scope="session")
def postgresql_session_url() -> Iterator[str]:
    server = create_engine(
        POSTGRES_SERVER_URL, future=True, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )
    name = f"aftercare_test_{secrets.token_hex(4)}"
    try:
        with server.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as error:
        server.dispose()
        _postgres_unavailable(str(error.orig).strip().splitlines()[0])
    url = str(make_url(POSTGRES_SERVER_URL).set(database=name))
    try:
        db.upgrade(url)
        yield url
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest) -> str:
    """A migrated, empty database on each backend."""
    url = request.getfixturevalue(f"{request.param}_session_url")
    _empty_all_tables(url)
    return url


@pytest.fixture
def session_factory(db_url: str):
    factory = db.make_session_factory(db_url)
    yield factory
    factory.kw["bind"].dispose()


def _empty_all_tables(url: str) -> None:
    engine = db.make_engine(url)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    try:
        with engine.begin() as connection:
            # DELETE (children first) is much faster than TRUNCATE on tables this small.
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))
            if engine.dialect.name == "postgresql":
                # Restart ids at 1, as a fresh database would (SQLite does so by itself once a table is empty).
                for table in tables:
                    connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 1, false)"))
    finally:
        engine.dispose()
