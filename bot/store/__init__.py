"""Persistence: SQLAlchemy models (models), engines and Alembic migrations (db, migrations/), the unit of work
(uow) and the operations the bot performs on its records (repository). Domain errors are in errors."""
