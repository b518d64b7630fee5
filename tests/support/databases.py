"""Database URLs for tests: a real SQLite file, and real PostgreSQL when TEST_DATABASE_URL is set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.storage.db import normalize_url, upgrade

ENV = "TEST_DATABASE_URL"


def postgres_url() -> str:
    """The PostgreSQL URL, or skip with the reason."""
    url = os.environ.get(ENV)
    if not url:
        pytest.skip(f"{ENV} is not set; PostgreSQL tests skipped")
    try:
        engine = create_engine(normalize_url(url))
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no PostgreSQL server reachable at {ENV}: {exc.__class__.__name__}")
    return url


def fresh_postgres(url: str) -> str:
    """Empty the public schema and migrate it."""
    engine = create_engine(normalize_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    upgrade(url)
    return url


def fresh_sqlite(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'kocbot.db'}"
    upgrade(url)
    return url


def make_database_url(kind: str, tmp_path: Path) -> str:
    """A migrated, empty database of the given kind."""
    if kind == "sqlite":
        return fresh_sqlite(tmp_path)
    return fresh_postgres(postgres_url())
