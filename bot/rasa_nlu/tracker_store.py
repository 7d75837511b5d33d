"""Rasa's SQL tracker store, reading and writing with SQLAlchemy Core: the same `events` table, the same rows.

Why: on a report, Rasa's SQLTrackerStore was a third of a Rasa worker's CPU (`make profile`: 9.4 of 29.5 ms a
message). On every message it loads the session's events as ORM objects, one mapped instance per row (2 ms of
instance bookkeeping alone), then counts them again with the same query before it saves, and adds each new event
to an ORM session. This class keeps everything Rasa's does (engine, database creation, table, the latest
session's events in id order, what is saved and how each row is filled) and only fetches the `data` column and
inserts the new rows in one statement; the statements are built once and run on a plain connection, without an
ORM session. Its rows are Rasa's: a clinic can go back to `type: SQL` and keep its conversations, and the two
read each other's (tests/integration/store/test_tracker_store.py).

Written against Rasa 3.6's SQLTrackerStore (the version pyproject.toml pins); `endpoints*.yml` name it as
`type: bot.rasa_nlu.tracker_store.CoreSQLTrackerStore`.
"""

from __future__ import annotations

import itertools
import json
from typing import Any, Dict, Optional, Text

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY


class CoreSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore with Core queries in place of ORM objects (same table, rows and order)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        try:
            super().__init__(*args, **kwargs)
        except (AttributeError, ImportError) as error:
            # Rasa builds a custom store type inside `except (AttributeError, ImportError)` and, on either, goes on
            # with an in-memory store and a warning: each worker would then keep its own conversations and forget
            # them on a restart. `type: SQL` stops at start for the same fault; so does this.
            raise RuntimeError(f"the SQL tracker store could not be set up: {error!r}") from error
        # Rasa checks that a PostgreSQL schema it was told to use (POSTGRESQL_SCHEMA) exists in every session_scope
        # and exits when it does not; the queries below do not open one, so the check is made here, once.
        with self.session_scope():
            pass
        self._queries = _Queries(self.SQLEvent.__table__)

    async def _retrieve(self, sender_id: Text, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        query = self._queries.all_data if fetch_events_from_all_sessions else self._queries.latest_data
        with self.engine.connect() as connection:
            events = [json.loads(data) for data in connection.execute(query, {SENDER: sender_id}).scalars()]
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        with self.engine.begin() as connection:
            # As Rasa: the events of the tracker's latest session that are not stored yet. The conversation's lock
            # (the lock store) keeps another worker from saving the same conversation in between.
            stored = connection.execute(self._queries.latest_count, {SENDER: tracker.sender_id}).scalar_one()
            new = itertools.islice(tracker.events, stored, None)
            rows = [self._row(tracker.sender_id, event) for event in new]
            if rows:
                connection.execute(self._queries.insert, rows)

    @staticmethod
    def _row(sender_id: Text, event: Event) -> Dict[Text, Any]:
        """The row Rasa's SQLTrackerStore.save writes for `event`."""
        data = event.as_dict()
        return {
            "sender_id": sender_id,
            "type_name": event.type_name,
            "timestamp": data.get("timestamp"),
            "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            "action_name": data.get("name"),
            "data": json.dumps(data),
        }


SENDER = "sender_id"


class _Queries:
    """The store's statements, built once with the sender as a parameter. Building them on every message (the
    expression objects, their cache keys) and the ORM session around them took a third of the store's CPU: a load
    and a save of a 34-event session, its replay included, 3.7-4.0 -> 2.5 ms of CPU on PostgreSQL here."""

    def __init__(self, events_table: sa.Table) -> None:
        columns = events_table.c
        sender = sa.bindparam(SENDER)
        # Rasa's filter for the latest session: from the latest SessionStarted's timestamp on, or everything when
        # there is none.
        session_start = (
            sa.select(sa.func.max(columns.timestamp))
            .where(columns.sender_id == sender, columns.type_name == SessionStarted.type_name)
            .scalar_subquery()
        )
        latest_session = sa.or_(columns.timestamp >= session_start, session_start.is_(None))
        self.all_data = sa.select(columns.data).where(columns.sender_id == sender).order_by(columns.id)
        self.latest_data = self.all_data.where(latest_session)
        self.latest_count = (
            sa.select(sa.func.count()).select_from(events_table).where(columns.sender_id == sender, latest_session)
        )
        self.insert = sa.insert(events_table)
