"""The composition root: the one place that builds the clinic's objects from the settings.

    session_factory(settings)                 a session factory over the clinic database (DATABASE_URL), as it is:
                                              the admin commands (bot.cli.admin) and the terminal demo
    clinic_service(settings)                  the ClinicService over the clinic database (migrated first): the action
                                              server's (actions/service.py) and the gateway's
    bot.bootstrap.gateway.gateway_deps(...)   the Telegram gateway's ports over the store, the Rasa-down safety net
                                              and the notifier (bot.run.gateway runs the gateway with them)

Nothing else builds a ClinicService, a database engine or a session factory for the assistant. The gateway part
is its own module so that what the actions import here never brings in the Telegram side (import-linter: actions
never import bot.telegram).
"""

from __future__ import annotations

import logging
from typing import Optional

from bot.settings import Settings
from bot.triage.criteria import load_criteria
from bot.usecases.triage import ClinicService


def session_factory(settings: Settings):
    """A `sessionmaker` for UnitOfWork over settings.database_url (no migration: the caller upgrades first)."""
    from bot.store import db

    return db.make_session_factory(settings.database_url)


def clinic_service(
    settings: Optional[Settings] = None, with_store: bool = True, second_reading_required: bool = True
) -> ClinicService:
    """The ClinicService for `settings` (the environment when None): the database migrated to the newest schema
    (Alembic is the only way the schema is created) and a session factory over it; `with_store=False` for none.
    `second_reading_required=False` (the gateway, whose safety net must answer even so) starts without the learned
    second reading when it is not built, with a warning, instead of not starting."""
    settings = settings or Settings.from_env()
    factory = None
    if with_store:
        from bot.store import db

        db.upgrade(settings.database_url)
        factory = session_factory(settings)
    reader = second_reader(settings, required=second_reading_required)
    return ClinicService(load_criteria(settings.criteria_path), factory, settings, reader)


def second_reader(settings: Settings, required: bool = True):
    """The learned second reading (built by `make train`). A missing model stops start-up with what to run, since
    triage without it would be quietly less safe; or, when not `required`, is logged loudly and left out."""
    from bot.nlp import second_reading

    try:
        return second_reading.load(str(settings.second_reading_path))
    except FileNotFoundError as error:
        if required:
            raise
        logging.getLogger(__name__).error("%s Triaging on the rules alone until it is built.", error)
        return None


def conversation_store(settings: Settings):
    """Rasa's conversation store as `make run` sets it up for settings.profile (bot.run.profiles.plan): the
    SQLite file in the data directory, or the production profile's PostgreSQL tracker database."""
    from pathlib import Path

    from sqlalchemy.engine import URL

    from bot.endpoints import production_env
    from bot.store.conversations import ConversationStore

    if settings.profile != "production":
        return ConversationStore.sqlite(Path(settings.data_dir) / "rasa_tracker.db")
    env = production_env(settings, settings.extra)
    url = URL.create(
        "postgresql+psycopg2",
        username=env["RASA_TRACKER_PG_USER"],
        password=env["RASA_TRACKER_PG_PASSWORD"] or None,
        host=env["RASA_TRACKER_PG_HOST"],
        port=int(env["RASA_TRACKER_PG_PORT"]),
        database=env["RASA_TRACKER_PG_DB"],
    )
    return ConversationStore(
        url,
        f"the conversation store (PostgreSQL database {env['RASA_TRACKER_PG_DB']} on "
        f"{env['RASA_TRACKER_PG_HOST']}:{env['RASA_TRACKER_PG_PORT']})",
    )


def retention_purger(settings: Settings, factory):
    """The daily purge of DATA_RETENTION_DAYS. Never raises: it is built beside the notifier, which must start
    whatever happens here. A conversation store that cannot even be described (a production profile without
    PostgreSQL) is logged at every run, and nobody is purged."""
    import logging

    from bot.usecases.retention import RetentionPurger

    conversations = None
    if settings.data_retention_days > 0:
        try:
            conversations = conversation_store(settings)
        except Exception as error:
            logging.getLogger(__name__).error(
                "retention purge: no conversation store (%s); patients will not be purged", error
            )
    return RetentionPurger(factory, conversations, settings.data_retention_days)
