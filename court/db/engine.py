"""Opening the store: the engine, SQLite's durability settings, and migrating to the newest schema."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
DATABASE_URL_ENV = "COURT_DATABASE_URL"


class StoreError(Exception):
    """The store cannot be opened; the message names the URL (without password) and the cause."""


def database_url(configured: str | None = None) -> str:
    """The store URL: ``COURT_DATABASE_URL`` wins over the config, so other commands can open the
    store a demo or a server used."""
    url = os.environ.get(DATABASE_URL_ENV) or configured
    if not url:
        raise StoreError(f"no database configured: set [storage] url in the config or {DATABASE_URL_ENV}")
    return url


def create_store_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"not a database URL: {url!r} ({exc})") from exc
    if parsed.drivername.startswith("postgresql") and parsed.drivername == "postgresql":
        # psycopg 3 is the driver we install; plain postgresql:// would ask for psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(parsed, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # The timeline is a legal record: committed means on disk, even after kill -9 or power loss.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def open_store(url: str, *, upgrade: bool = True) -> sessionmaker[Session]:
    """Open (and by default migrate) the store at ``url``; return a session factory."""
    engine = create_store_engine(url)
    try:
        if upgrade:
            migrate(engine)
    except Exception as exc:
        safe = make_url(url).render_as_string(hide_password=True)
        raise StoreError(f"cannot open the store at {safe}: {exc}") from exc
    return sessionmaker(engine, expire_on_commit=False)


def close_store(sessions: sessionmaker[Session]) -> None:
    """Close the store's pooled connections."""
    bind = sessions.kw.get("bind")
    if isinstance(bind, Engine):
        bind.dispose()
