"""Check-in tests reuse the database fixtures of tests/integration/conftest.py (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from checkins_helpers import add_practitioner


@pytest.fixture
def practitioner_id(session_factory) -> int:
    return add_practitioner(session_factory)
