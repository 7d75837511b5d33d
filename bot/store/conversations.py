"""The patients' conversations as Rasa keeps them (its SQL tracker store), for export, erasure and retention.

Rasa stores every event of a conversation as one row of its `events` table (sender_id, type_name, timestamp,
data as JSON); our gateway talks to Rasa as sender `patient-<id>`. Where that table lives depends on the profile
(bot/run/profiles.py): the embedded profile's SQLite file `<AFTERCARE_DATA_DIR>/rasa_tracker.db` (endpoints.yml), or
the production profile's PostgreSQL database `rasa_tracker` (endpoints.production.yml, RASA_TRACKER_PG_*).

Every method raises ConversationStoreUnavailable when the store cannot be read or written, so a caller can say
so instead of silently leaving a conversation behind. An embedded store whose file does not exist yet (Rasa
never ran with this data directory) holds no conversations: reading it returns nothing and `exists` is False.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

SENDER_PREFIX = "patient-"
EVENTS_TABLE = "events"
CONNECT_TIMEOUT_SECONDS = 5


def sender_for(patient_id: int) -> str:
    """The Rasa sender id of a patient's conversation (bot.telegram.rasa.sender_id, bot.run.console)."""
    return f"{SENDER_PREFIX}{patient_id}"


class ConversationStoreUnavailable(Exception):
    """The conversation store could not be used; the message says which one and why (never a password)."""


@dataclass(frozen=True)
class ConversationStore:
    """Rasa's SQL tracker store at `url` (SQLAlchemy URL); `where` names it for people (no password)."""

    url: Any
    where: str
    sqlite_path: Optional[Path] = None

    @classmethod
    def sqlite(cls, path: Path) -> "ConversationStore":
        return cls(f"sqlite:///{path}", f"the conversation store {path}", Path(path))

    # --- reading -------------------------------------------------------------------------------------------
    @property
    def exists(self) -> bool:
        return self.sqlite_path is None or self.sqlite_path.exists()

    def messages(self, patient_id: int) -> List[Dict[str, Any]]:
        """What the patient and the assistant said, oldest first: {"at", "from": "patient"|"assistant", "text"}."""
        result = []
        for type_name, timestamp, data in self._rows(
            f"SELECT type_name, timestamp, data FROM {EVENTS_TABLE} WHERE sender_id = :sender "
            "AND type_name IN ('user', 'bot') ORDER BY id",
            sender=sender_for(patient_id),
        ):
            event = _json(data)
            said = event.get("text")
            buttons = [b.get("title") for b in ((event.get("data") or {}).get("buttons") or ()) if isinstance(b, dict)]
            if not said and not buttons:
                continue
            entry: Dict[str, Any] = {
                "at": _moment(timestamp),
                "from": "patient" if type_name == "user" else "assistant",
                "text": said or "",
            }
            if buttons:
                entry["buttons"] = buttons
            result.append(entry)
        return result

    def last_event_at(self, patient_id: int) -> Optional[dt.datetime]:
        rows = self._rows(
            f"SELECT MAX(timestamp) FROM {EVENTS_TABLE} WHERE sender_id = :sender", sender=sender_for(patient_id)
        )
        value = rows[0][0] if rows else None
        return None if value is None else dt.datetime.fromtimestamp(float(value), dt.timezone.utc)

    def count(self, patient_id: int) -> int:
        rows = self._rows(
            f"SELECT COUNT(*) FROM {EVENTS_TABLE} WHERE sender_id = :sender", sender=sender_for(patient_id)
        )
        return int(rows[0][0]) if rows else 0

    # --- erasing -------------------------------------------------------------------------------------------
    def erase(self, patient_id: int) -> int:
        """Delete every event of the patient's conversation; how many there were."""
        if not self.exists:
            return 0
        engine = self._engine()
        try:
            with engine.begin() as connection:
                if not _has_events_table(connection):
                    return 0
                result = connection.execute(
                    text(f"DELETE FROM {EVENTS_TABLE} WHERE sender_id = :sender"), {"sender": sender_for(patient_id)}
                )
                return int(result.rowcount or 0)
        except SQLAlchemyError as error:
            raise self._unavailable(error) from None
        finally:
            engine.dispose()

    # --- helpers -------------------------------------------------------------------------------------------
    def _rows(self, query: str, **params: Any) -> List[Any]:
        if not self.exists:
            return []
        engine = self._engine()
        try:
            with engine.connect() as connection:
                if not _has_events_table(connection):
                    return []
                return list(connection.execute(text(query), params).all())
        except SQLAlchemyError as error:
            raise self._unavailable(error) from None
        finally:
            engine.dispose()

    def _engine(self) -> Engine:
        if self.sqlite_path is not None:
            # Not bot.store.db.make_engine: Rasa's file keeps its own journal mode; we only wait for its writer.
            return create_engine(
                self.url, future=True, hide_parameters=True, connect_args={"timeout": 15, "check_same_thread": False}
            )
        return create_engine(
            self.url,
            future=True,
            hide_parameters=True,
            pool_pre_ping=True,
            connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
        )

    def _unavailable(self, error: SQLAlchemyError) -> ConversationStoreUnavailable:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0][:300]
        return ConversationStoreUnavailable(f"{self.where} is unreachable ({reason})")


def _has_events_table(connection: Any) -> bool:
    from sqlalchemy import inspect

    return inspect(connection).has_table(EVENTS_TABLE)


def _json(data: Any) -> Dict[str, Any]:
    if isinstance(data, dict):
        return data
    try:
        value = json.loads(data or "{}")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _moment(timestamp: Any) -> Optional[str]:
    try:
        return dt.datetime.fromtimestamp(float(timestamp), dt.timezone.utc).isoformat()
    except (TypeError, ValueError, OverflowError):
        return None
