"""Leader election for the scheduler: exactly one process plans slots at a time.

On PostgreSQL the leader holds a session-level advisory lock on a connection of its own. If
the leader dies (or its connection drops, e.g. the database restarts), the server releases
the lock and the next process that asks becomes leader. SQLite deployments are one process,
so that process always leads.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Engine, text

from bot.storage import locks

log = logging.getLogger(__name__)
LOCK_KEY = locks.SCHEDULER_LEADER


class Leader:
    """Ask ``is_leader()`` before doing leader-only work; ``release()`` on shutdown."""

    def __init__(self, engine: Engine, key: int = LOCK_KEY) -> None:
        self.engine = engine
        self.key = key
        self._conn: Connection | None = None

    def is_leader(self) -> bool:
        """True while this process holds the lock; tries to take it when free."""
        if self.engine.dialect.name != "postgresql":
            return True
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT 1"))
                return True
            except Exception:  # noqa: BLE001 - the connection died, and the lock with it
                log.warning("scheduler lock connection lost")
                self._drop()
        try:
            conn = self.engine.connect()
            held = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar()
            conn.commit()
        except Exception:  # noqa: BLE001 - no database now: not the leader now
            return False
        if held:
            self._conn = conn
            log.info("became scheduler leader")
            return True
        conn.close()
        return False

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.invalidate()
                self._conn.close()
            except Exception:  # noqa: BLE001, S110 - already broken
                pass
            self._conn = None

    def release(self) -> None:
        """Give the lock up (closing the session releases it)."""
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                self._conn.commit()
            except Exception:  # noqa: BLE001, S110 - closing releases it anyway
                pass
            self._drop()
