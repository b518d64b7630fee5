"""Engine, sessions and schema upgrades. The use case owns the transaction (``Database.transaction``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import Session, sessionmaker

from bot.resources import migrations_dir

# Execution option naming a money transaction: BEGIN IMMEDIATE on SQLite (see make_engine).
IMMEDIATE = "kocbot_begin_immediate"
P = ParamSpec("P")
T = TypeVar("T")


def normalize_url(url: str) -> str:
    """Use psycopg 3 for a bare ``postgresql://`` URL."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    """An engine with the per-backend settings kocbot relies on."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: object) -> None:
            # WAL lets the web server read while the bot writes; foreign keys are off by default.
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:
            # pysqlite sends BEGIN only before the first write, so a transaction's reads run
            # outside it: two money writers could both act on a state one of them is about
            # to change. A money transaction (``immediate=True``) takes the write lock at its
            # start instead, waiting up to the busy timeout, so it runs alone among writers.
            # The others keep pysqlite's own BEGIN: some read in a second, nested transaction
            # while their first is open, and an IMMEDIATE there would wait on itself.
            if conn.get_execution_options().get(IMMEDIATE):
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # UTC sessions, so date() groups clicks by the UTC day on every backend.
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20,
                         connect_args={"options": "-c timezone=UTC"})


class Database:
    """Holds the engine and hands out sessions; one per process, passed down explicitly."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._inline = engine.dialect.name == "sqlite"
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._immediate = sessionmaker(engine.execution_options(**{IMMEDIATE: True}),
                                       expire_on_commit=False)

    @classmethod
    def from_url(cls, url: str) -> Database:
        """Build from a database URL."""
        return cls(make_engine(url))

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Call a blocking service function from async code: the one way the loop reaches the database.

        Inline on SQLite: a local file answers in well under a millisecond, and a thread hop
        costs more than the query on a busy machine. In a worker thread on PostgreSQL: each
        statement is a network round trip, and the event loop must keep serving meanwhile."""
        if self._inline:
            return fn(*args, **kwargs)
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def run_threaded(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Call a service function in a worker thread on every backend.

        For work that may take long or wait for SQLite's write lock (a feed import, a sweep,
        a money write from the web side): inline, it would stall every chat and redirect."""
        return await asyncio.to_thread(fn, *args, **kwargs)

    @contextmanager
    def transaction(self, *, immediate: bool = False) -> Iterator[Session]:
        """A session whose work commits together at the end, or rolls back on any error.

        ``immediate``: a money transaction. On SQLite it holds the write lock from its first
        statement (``BEGIN IMMEDIATE``); on PostgreSQL it locks the rows it changes with
        ``SELECT … FOR UPDATE``, which the caller asks for."""
        sessions = self._immediate if immediate else self._sessions
        with sessions() as session, session.begin():
            yield session

    def ping(self) -> bool:
        """True when the database answers."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:  # noqa: BLE001 - any failure means "not healthy"
            return False

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str) -> AlembicConfig:
    """An Alembic config pointing at our migrations and the given URL."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision``."""
    command.upgrade(alembic_config(url), revision)


class SchemaNotCurrent(RuntimeError):
    """The database answers but its schema is behind this version's migrations."""


def check_ready(url: str) -> None:
    """Connect once and compare the schema with the newest migration.

    ``kocbot run`` on PostgreSQL does not migrate by itself (``kocbot db upgrade`` does), so a
    refusing server or an old schema is found at start, in one line, rather than by the
    first handler that touches a table.
    """
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()
    if current != heads:
        raise SchemaNotCurrent("the database schema is not current: run kocbot db upgrade")
