"""Rasa's SQL tracker store, reading and writing with SQLAlchemy Core: the same `events` table, the same rows.

Why: on a report, Rasa's SQLTrackerStore was a third of a Rasa worker's CPU (`make profile`: 9.4 of 29.5 ms a
message). On every message it loads the session's events as ORM objects, one mapped instance per row (2 ms of
instance bookkeeping alone), then counts them again with the same query before it saves, and adds each new event
to an ORM session. This class keeps everything Rasa's does (engine, database creation, table, the latest
session's events in id order, what is saved and how each row is filled) and only fetches the `data` column and
inserts the new rows in one statement. Its rows are Rasa's: a clinic can go back to `type: SQL` and keep its
conversations, and the two read each other's (tests/integration/store/test_tracker_store.py).

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

    async def _retrieve(self, sender_id: Text, fetch_events_from_all_sessions: bool) -> Optional[DialogueStateTracker]:
        events_table = self.SQLEvent.__table__
        query = self._of(sender_id, fetch_events_from_all_sessions, sa.select(events_table.c.data))
        with self.session_scope() as session:
            events = [json.loads(data) for data in session.execute(query.order_by(events_table.c.id)).scalars()]
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        events_table = self.SQLEvent.__table__
        with self.session_scope() as session:
            # As Rasa: the events of the tracker's latest session that are not stored yet. The conversation's lock
            # (the lock store) keeps another worker from saving the same conversation in between.
            count = sa.select(sa.func.count()).select_from(events_table)
            stored = session.execute(self._of(tracker.sender_id, False, count)).scalar_one()
            new = itertools.islice(tracker.events, stored, None)
            rows = [self._row(tracker.sender_id, event) for event in new]
            if rows:
                session.execute(sa.insert(events_table), rows)
            session.commit()

    def _of(self, sender_id: Text, all_sessions: bool, query: Any) -> Any:
        """`query` narrowed to this sender's events, to its latest session's unless `all_sessions` (Rasa's filter:
        from the latest SessionStarted's timestamp on, or everything when there is none)."""
        events_table = self.SQLEvent.__table__
        query = query.where(events_table.c.sender_id == sender_id)
        if all_sessions:
            return query
        session_start = (
            sa.select(sa.func.max(events_table.c.timestamp))
            .where(events_table.c.sender_id == sender_id, events_table.c.type_name == SessionStarted.type_name)
            .scalar_subquery()
        )
        return query.where(sa.or_(events_table.c.timestamp >= session_start, session_start.is_(None)))

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
