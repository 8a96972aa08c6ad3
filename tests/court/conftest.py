"""Fixtures shared by the hearing's tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from court.db.engine import close_store, open_store


@pytest.fixture
def sqlite_sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """A fresh store in a SQLite file (the embedded default), for tests that run a hearing's threads."""
    factory = open_store(f"sqlite:///{tmp_path / 'court.db'}")
    yield factory
    close_store(factory)
