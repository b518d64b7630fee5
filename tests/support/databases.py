"""Database URLs for tests: a real SQLite file, and real PostgreSQL when TEST_DATABASE_URL is set."""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import URL, create_engine, make_url, text

from bot.storage.db import normalize_url, upgrade

ENV = "TEST_DATABASE_URL"


_run_url: str | None = None


def postgres_url() -> str:
    """This test run's own PostgreSQL database, created on first use; or skip with the reason.

    TEST_DATABASE_URL names the server (its database is only where we connect to create ours),
    so two runs on one machine never wipe each other's schema.
    """
    global _run_url
    url = os.environ.get(ENV)
    if not url:
        pytest.skip(f"{ENV} is not set; PostgreSQL tests skipped")
    if _run_url is not None:
        return _run_url
    base = make_url(normalize_url(url))
    name = f"{base.database or 'test'}_run_{os.getpid()}_{secrets.token_hex(3)}"
    try:
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no PostgreSQL server reachable at {ENV}: {exc.__class__.__name__}")
    atexit.register(_drop_database, base, name)
    _run_url = base.set(database=name).render_as_string(hide_password=False)
    return _run_url


def _drop_database(base: URL, name: str) -> None:
    try:
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    except Exception:  # noqa: BLE001, S110 - best effort at exit; a leftover database is harmless
        pass


def fresh_postgres(url: str) -> str:
    """Empty the public schema and migrate it."""
    engine = create_engine(normalize_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    upgrade(url)
    return url


_sqlite_template: Path | None = None


def _migrated_sqlite_template() -> Path:
    """A SQLite file migrated once per test run; each test gets a copy (Alembic costs ~0.15 s)."""
    global _sqlite_template
    if _sqlite_template is None:
        folder = Path(tempfile.mkdtemp(prefix="kocbot-sqlite-template-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        upgrade(f"sqlite:///{folder / 'template.db'}")
        _sqlite_template = folder / "template.db"
    return _sqlite_template


def fresh_sqlite(tmp_path: Path) -> str:
    """A migrated, empty SQLite file in ``tmp_path``: a page-by-page copy of the run's template."""
    path = tmp_path / "kocbot.db"
    # The backup API copies a consistent database whatever journal mode the template is in.
    with closing(sqlite3.connect(_migrated_sqlite_template())) as source, \
            closing(sqlite3.connect(path)) as target:
        source.backup(target)
    return f"sqlite:///{path}"


def make_database_url(kind: str, tmp_path: Path) -> str:
    """A migrated, empty database of the given kind."""
    if kind == "sqlite":
        return fresh_sqlite(tmp_path)
    return fresh_postgres(postgres_url())
