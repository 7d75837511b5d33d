"""Alembic creates the schema (upgrade empty -> head), removes it (downgrade -> base), and matches the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from bot.store import db
from bot.store.models import Base

EXPECTED_TABLES = {t.name for t in Base.metadata.sorted_tables}


def _tables(url: str) -> set:
    engine = db.make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_downgrade_to_base_and_upgrade_to_head(db_url):
    try:
        db.downgrade(db_url, "base")
        assert _tables(db_url) == set()
        assert db.current_revision(db_url) is None

        db.upgrade(db_url)
        assert _tables(db_url) == EXPECTED_TABLES
        assert db.current_revision(db_url) == db.head_revision()
    finally:
        db.upgrade(db_url)  # leave the shared test database usable whatever happened


def test_upgrade_is_idempotent(db_url):
    db.upgrade(db_url)
    db.upgrade(db_url)
    assert db.current_revision(db_url) == db.head_revision()


def test_migrations_match_the_models(db_url):
    engine = db.make_engine(db_url)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert differences == [], "models and migrations disagree: write a migration (alembic revision --autogenerate)"


def test_each_migration_step_goes_down_and_up(db_url):
    try:
        db.downgrade(db_url, "0001")
        assert db.current_revision(db_url) == "0001"
        db.upgrade(db_url, "0002")
        assert db.current_revision(db_url) == "0002"
    finally:
        db.upgrade(db_url)


def test_fresh_sqlite_file_is_created_with_its_directory(tmp_path):
    url = f"sqlite:///{tmp_path / 'nested' / 'dir' / 'aftercare.db'}"
    db.upgrade(url)
    assert _tables(url) == EXPECTED_TABLES
    db.downgrade(url, "base")
    assert _tables(url) == set()


def test_sqlite_pragmas_are_set(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == db.SQLITE_BUSY_TIMEOUT_MS
    finally:
        engine.dispose()
