"""A stand-in for Rasa's SQL tracker store: its `events` table (rasa/core/tracker_store.py SQLEvent), on SQLite or
PostgreSQL, with user and bot events written the way Rasa writes them."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import create_engine, text

EVENTS_DDL = {
    "sqlite": "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
    "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), "
    "action_name VARCHAR(255), data TEXT)",
    "postgresql": "CREATE TABLE IF NOT EXISTS events (id SERIAL PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
    "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), "
    "action_name VARCHAR(255), data TEXT)",
}


def _engine(url: Any):
    return create_engine(url, future=True)


def create_events_table(url: Any) -> None:
    engine = _engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(EVENTS_DDL[engine.dialect.name]))
            connection.execute(text("DELETE FROM events"))
    finally:
        engine.dispose()


def drop_events_table(url: Any) -> None:
    engine = _engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS events"))
    finally:
        engine.dispose()


def add_event(url: Any, sender: str, type_name: str, said: str, timestamp: float) -> None:
    """One Rasa event: 'user' (what the patient wrote), 'bot' (the answer) or 'slot' (a slot holding words)."""
    data: dict = {"event": type_name, "timestamp": timestamp}
    if type_name in ("user", "bot"):
        data["text"] = said
    if type_name == "user":
        data["parse_data"] = {"text": said, "intent": {"name": "report_symptom"}}
    if type_name == "slot":
        data.update(name="last_report", value=said)
    engine = _engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO events (sender_id, type_name, timestamp, data) VALUES (:s, :t, :ts, :d)"),
                {"s": sender, "t": type_name, "ts": timestamp, "d": json.dumps(data)},
            )
    finally:
        engine.dispose()


def senders(url: Any) -> list:
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            return [row[0] for row in connection.execute(text("SELECT sender_id FROM events ORDER BY id"))]
    finally:
        engine.dispose()
