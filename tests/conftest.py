"""Shared fixtures: a fresh store on SQLite and, where a server is reachable, on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from court.db.engine import close_store, open_store
from court.demo.face_material import material_folder
from tests.devices.face.helpers import require_material

POSTGRES_ADMIN_URL = os.environ.get(
    "COURT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _postgres_available() -> bool:
    try:
        engine = create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


_POSTGRES = _postgres_available()


@contextmanager
def _postgres_database() -> Iterator[str]:
    """A throw-away PostgreSQL database, dropped afterwards."""
    if not _POSTGRES:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} (CI must start it)")
        pytest.skip("no PostgreSQL server reachable")
    name = f"court_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database: a SQLite file, or a throw-away PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'court.db'}"
        return
    with _postgres_database() as url:
        yield url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with _postgres_database() as url:
        yield url


@pytest.fixture
def sessions(store_url: str) -> Iterator[sessionmaker[Session]]:
    factory = open_store(store_url)
    yield factory
    close_store(factory)


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One model cache for the whole run: each sentence is synthesized once; the face photos are the
    ones setup fetched (linked, so nothing under test downloads them)."""
    cache = tmp_path_factory.mktemp("model-cache")
    material_folder(cache).symlink_to(require_material(), target_is_directory=True)
    return cache
