"""bot.rasa_nlu.tracker_store.CoreSQLTrackerStore against Rasa's own SQLTrackerStore, on SQLite and PostgreSQL:
the same rows, read back the same way, each reading what the other wrote, and the endpoints files build it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import List

import pytest
import sqlalchemy as sa
from conversation_helpers import drop_events_table
from rasa.core.tracker_store import SQLTrackerStore, create_tracker_store
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config
from sqlalchemy.engine import make_url

from bot.rasa_nlu.tracker_store import CoreSQLTrackerStore
from bot.settings import PROJECT_ROOT

DOMAIN = Domain.load(str(PROJECT_ROOT / "domain.yml"))


@pytest.fixture
def stores(db_url: str):
    """(Rasa's store, ours) on the same database."""
    url = make_url(db_url)
    settings = dict(dialect=url.get_backend_name(), host=url.host, port=url.port, db=url.database)
    if url.username:
        settings["username"] = url.username
    drop_events_table(db_url)
    theirs, ours = SQLTrackerStore(DOMAIN, **settings), CoreSQLTrackerStore(DOMAIN, **settings)
    yield theirs, ours
    for store in (theirs, ours):
        store.engine.dispose()
    drop_events_table(db_url)


def _session(start: float) -> List[Event]:
    return [
        ActionExecuted("action_session_start", timestamp=start),
        SessionStarted(timestamp=start + 0.001),
        SlotSet("clinic_phone", "+44 20 7946 0000", timestamp=start + 0.002),
        ActionExecuted("action_listen", timestamp=start + 0.003),
    ]


def _turn(text: str, intent: str, start: float) -> List[Event]:
    return [
        UserUttered(text, {"name": intent, "confidence": 0.97}, timestamp=start),
        ActionExecuted("action_triage", timestamp=start + 0.001),
        BotUttered("noted", timestamp=start + 0.002),
        SlotSet("triage_level", "normal", timestamp=start + 0.003),
        ActionExecuted("action_listen", timestamp=start + 0.004),
    ]


def _dicts(tracker: DialogueStateTracker) -> List[dict]:
    return [event.as_dict() for event in tracker.events]


def _rows(store: SQLTrackerStore) -> List[tuple]:
    with store.engine.connect() as connection:
        return connection.execute(
            sa.text("SELECT sender_id, type_name, timestamp, intent_name, action_name, data FROM events ORDER BY id")
        ).all()


def test_writes_the_rows_rasa_writes(stores) -> None:
    theirs, ours = stores
    events = _session(1000.0) + _turn("a bit red", "report_symptom", 1001.0)
    asyncio.run(theirs.save(DialogueStateTracker.from_events("rasa-wrote", events, DOMAIN.slots)))
    asyncio.run(ours.save(DialogueStateTracker.from_events("we-wrote", events, DOMAIN.slots)))

    rows = _rows(ours)
    assert len(rows) == 2 * len(events)
    assert [row[1:] for row in rows if row[0] == "we-wrote"] == [row[1:] for row in rows if row[0] == "rasa-wrote"]
    assert ("user", 1001.0, "report_symptom", None) in [row[1:5] for row in rows]


def test_each_reads_what_the_other_wrote_latest_session_only_unless_asked(stores) -> None:
    theirs, ours = stores
    first = _session(1000.0) + _turn("a bit red", "report_symptom", 1001.0)
    tracker = DialogueStateTracker.from_events("p1", first, DOMAIN.slots)
    asyncio.run(ours.save(tracker))
    assert _dicts(asyncio.run(theirs.retrieve("p1"))) == _dicts(asyncio.run(ours.retrieve("p1")))
    assert len(asyncio.run(ours.retrieve("p1")).events) == len(first) - 1  # from the SessionStarted on, as Rasa

    # Rasa adds the next session to what we wrote; we read it back as Rasa does.
    tracker = asyncio.run(theirs.retrieve("p1"))
    for event in _session(2000.0) + _turn("it is spreading", "report_symptom", 2001.0):
        tracker.update(event)
    asyncio.run(theirs.save(tracker))
    latest = asyncio.run(ours.retrieve("p1"))
    assert _dicts(latest) == _dicts(asyncio.run(theirs.retrieve("p1")))
    assert latest.latest_message.text == "it is spreading"
    assert not any(getattr(event, "text", None) == "a bit red" for event in latest.events)
    everything = asyncio.run(ours.retrieve_full_tracker("p1"))
    assert _dicts(everything) == _dicts(asyncio.run(theirs.retrieve_full_tracker("p1")))
    assert [e.text for e in everything.events if isinstance(e, UserUttered)] == ["a bit red", "it is spreading"]


def test_saves_only_what_is_new_as_rasa_does(stores) -> None:
    theirs, ours = stores
    for store, sender in ((theirs, "rasa-saved"), (ours, "we-saved")):
        asyncio.run(store.save(DialogueStateTracker.from_events(sender, _session(1000.0), DOMAIN.slots)))
        tracker = asyncio.run(store.retrieve(sender))
        asyncio.run(store.save(tracker))  # nothing new: nothing written
        for event in _turn("about the same", "inform", 1001.0):
            tracker.update(event)
        asyncio.run(store.save(tracker))
        assert _dicts(asyncio.run(store.retrieve(sender))) == _dicts(tracker)

    rows = _rows(ours)
    assert [row[1:] for row in rows if row[0] == "we-saved"] == [row[1:] for row in rows if row[0] == "rasa-saved"]
    assert [row[1] for row in rows if row[0] == "we-saved"] == ["action", "session_started", "slot", "action"] + [
        "user",
        "action",
        "bot",
        "slot",
        "action",
    ]


def test_a_conversation_it_never_saw_is_none(stores) -> None:
    _, ours = stores
    assert asyncio.run(ours.retrieve("nobody")) is None


@pytest.mark.parametrize("endpoints", ["endpoints.yml", "endpoints.production.yml"])
def test_the_endpoints_files_build_it(endpoints: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rasa falls back to an in-memory store, with only a warning, when it cannot import a custom type: a
    restart would then forget every half-answered question. Both files name this class; the embedded profile's
    (SQLite) is built here, the production one needs its PostgreSQL settings (make bench builds it)."""
    for variable in ("ACTION_SERVER_TOKEN", "ACTION_ENDPOINT_URL", "RASA_LOCK_REDIS_HOST", "RASA_LOCK_REDIS_PORT"):
        monkeypatch.setenv(variable, "unused here")
    for variable in ("HOST", "PORT", "USER", "PASSWORD", "DB", "LOGIN_DB"):
        monkeypatch.setenv(f"RASA_TRACKER_PG_{variable}", "unused here")
    monkeypatch.setenv("RASA_LOCK_REDIS_DB", "unused here")
    monkeypatch.setenv("RASA_TRACKER_DB", str(tmp_path / "tracker.db"))
    config = read_endpoint_config(str(PROJECT_ROOT / endpoints), "tracker_store")
    assert config.type == "bot.rasa_nlu.tracker_store.CoreSQLTrackerStore"
    if endpoints == "endpoints.yml":
        store = create_tracker_store(config, DOMAIN)
        assert isinstance(store, CoreSQLTrackerStore)
        store.engine.dispose()


def test_a_store_that_cannot_be_set_up_stops_rasa_instead_of_forgetting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rasa swallows AttributeError and ImportError from a custom store's constructor (in-memory fallback);
    `type: SQL` would stop at start for the same fault (a missing database driver), and so must this class."""

    def missing_driver(*args, **kwargs):
        raise ImportError("no module named psycopg2")

    monkeypatch.setattr(SQLTrackerStore, "__init__", missing_driver)
    monkeypatch.setenv("RASA_TRACKER_DB", str(tmp_path / "tracker.db"))
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "unused here")
    config = read_endpoint_config(str(PROJECT_ROOT / "endpoints.yml"), "tracker_store")
    with pytest.raises(RuntimeError, match="could not be set up"):
        create_tracker_store(config, DOMAIN)


def test_a_missing_postgresql_schema_stops_it_at_start_as_rasa_does(
    postgresql_session_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rasa's store checks the schema named by POSTGRESQL_SCHEMA whenever it opens a session and exits when it is
    missing; ours reads and writes without one, so it checks when it is built (a worker never starts on it)."""
    url = make_url(postgresql_session_url)
    monkeypatch.setenv("POSTGRESQL_SCHEMA", "no_such_schema")
    with pytest.raises(SystemExit):
        CoreSQLTrackerStore(
            DOMAIN, dialect="postgresql", host=url.host, port=url.port, db=url.database, username=url.username
        )
