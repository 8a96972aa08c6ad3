"""Storage: SQLAlchemy 2 models, the engine and Alembic migrations (SQLite by default, PostgreSQL by URL)."""
