"""The access tests' fixtures: a clock the test moves, and the service on it (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from court.access.accounts import Accounts
from tests.court.access.helpers import FakeNow


@pytest.fixture
def now() -> FakeNow:
    return FakeNow()


@pytest.fixture
def accounts(sessions: sessionmaker[Session], now: FakeNow) -> Accounts:
    return Accounts(sessions, session_ttl=timedelta(hours=8), invitation_ttl=timedelta(days=7), now=now)
