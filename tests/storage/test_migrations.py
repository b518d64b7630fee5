"""The Alembic migrations build exactly the schema the models describe, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from bot.storage import models  # noqa: F401 - registers the tables
from bot.storage.base import Base
from bot.storage.db import normalize_url


def test_migrations_match_models(db_url: str) -> None:
    engine = create_engine(normalize_url(db_url))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []
