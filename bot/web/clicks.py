"""Clicks are answered at once and written in batches, so the redirect never waits on the
database. A graceful shutdown flushes every buffered click."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from bot.services.tracking import ClickRecord

log = logging.getLogger(__name__)


class ClickBuffer:
    """Collects clicks in memory and writes them every ``interval`` or every ``size`` clicks."""

    def __init__(self, save: Callable[[list[ClickRecord]], None], *, interval: float = 0.25,
                 size: int = 500, on_depth: Callable[[int], None] | None = None) -> None:
        self._save = save
        self.interval = interval
        self.size = size
        self._pending: list[ClickRecord] = []
        self._task: asyncio.Task[None] | None = None
        self._full = asyncio.Event()
        self._lock = asyncio.Lock()
        self._on_depth = on_depth or (lambda _n: None)

    def add(self, click: ClickRecord) -> None:
        """Queue one click (never blocks)."""
        self._pending.append(click)
        self._on_depth(len(self._pending))
        if len(self._pending) >= self.size:
            self._full.set()

    def __len__(self) -> int:
        return len(self._pending)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="kocbot-clicks")

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), timeout=self.interval)
            self._full.clear()
            await self.flush()

    async def flush(self) -> None:
        """Write everything buffered; on a database error keep the clicks for the next try."""
        async with self._lock:
            if not self._pending:
                return
            batch, self._pending = self._pending, []
            try:
                await asyncio.to_thread(self._save, batch)
            except Exception:  # noqa: BLE001 - the database may be restarting; keep the clicks
                log.exception("click flush failed; will retry", extra={"count": len(batch)})
                self._pending = batch + self._pending
            self._on_depth(len(self._pending))

    async def stop(self) -> None:
        """Stop the timer and flush what is left (retrying a few times)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for _ in range(20):
            await self.flush()
            if not self._pending:
                return
            await asyncio.sleep(0.5)
        log.error("clicks could not be written at shutdown", extra={"count": len(self._pending)})
