"""Clicks are answered at once and written in batches, so the redirect never waits on the
database. A graceful shutdown flushes every buffered click. The link cache is in
link_cache.py."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from bot.services.tracking import ClickRecord

log = logging.getLogger(__name__)
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ClickBuffer:
    """Collects clicks in memory and writes them every ``interval`` or every ``size`` clicks.

    The buffer is bounded by ``max_pending``: while the database is down it must not grow
    until the process dies. When full, bot hits go first (they earn nobody anything); a
    human click arriving when no bot hit is left to drop is itself dropped, so the oldest
    clicks, whose orders may already be on their way, are kept. Every drop is reported
    to ``on_drop`` (the metric). Writes go in batches of at most ``batch``, never one huge
    INSERT of everything held through an outage.
    """

    def __init__(self, save: Callable[[list[ClickRecord]], None] | None = None, *,
                 write: Callable[[list[ClickRecord]], Awaitable[None]] | None = None,
                 interval: float = 0.25,
                 size: int = 500, on_depth: Callable[[int], None] | None = None,
                 max_pending: int = 100_000, on_drop: Callable[[bool], None] | None = None,
                 batch: int = 5000) -> None:
        # ``save`` blocks and runs in a worker thread; ``write`` is awaited on the loop
        # (bot/web/click_writer.py hands the batch to a process of its own).
        if write is None:
            if save is None:
                raise ValueError("give the click buffer one of save and write")
            write = _in_thread(save)
        elif save is not None:
            raise ValueError("give the click buffer one of save and write, not both")
        self._write = write
        self.interval = interval
        self.size = size
        self.batch = batch
        self.max_pending = max_pending
        self._humans: list[ClickRecord] = []
        self._bots: deque[ClickRecord] = deque()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._full = asyncio.Event()
        self._lock = asyncio.Lock()
        self._on_depth = on_depth or (lambda _n: None)
        self._on_drop = on_drop or (lambda _is_bot: None)

    def add(self, click: ClickRecord) -> None:
        """Queue one click (never blocks; drops one when the buffer is full)."""
        depth = len(self._humans) + len(self._bots)
        if depth >= self.max_pending:
            if click.is_bot or not self._bots:
                self._on_drop(click.is_bot)
                return
            self._bots.popleft()
            self._on_drop(True)
            depth -= 1
        if click.is_bot:
            self._bots.append(click)
        else:
            self._humans.append(click)
        depth += 1
        self._on_depth(depth)
        if depth >= self.size:
            self._full.set()

    def __len__(self) -> int:
        return len(self._humans) + len(self._bots)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="kocbot-clicks")

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), timeout=self.interval)
            self._full.clear()
            await self.flush()

    def _take(self, count: int) -> list[ClickRecord]:
        """Up to ``count`` buffered clicks, people's first."""
        batch = self._humans[:count]
        del self._humans[:count]
        while len(batch) < count and self._bots:
            batch.append(self._bots.popleft())
        return batch

    def _put_back(self, batch: list[ClickRecord]) -> None:
        """Return an unwritten batch to the front, then trim to the bound (bot hits first)."""
        self._humans[:0] = [c for c in batch if not c.is_bot]
        self._bots.extendleft(reversed([c for c in batch if c.is_bot]))
        while len(self) > self.max_pending and self._bots:
            self._bots.pop()
            self._on_drop(True)
        while len(self._humans) > self.max_pending:
            self._humans.pop()
            self._on_drop(False)

    async def flush(self) -> None:
        """Write everything buffered in batches; on a database error keep the rest for the next try."""
        async with self._lock:
            while self._humans or self._bots:
                batch = self._take(self.batch)
                try:
                    await self._write(batch)
                except Exception:  # noqa: BLE001 - the database may be restarting; keep the clicks
                    log.exception("click flush failed; will retry", extra={"count": len(self) + len(batch)})
                    self._put_back(batch)
                    break
            self._on_depth(len(self))

    async def stop(self) -> None:
        """Stop the timer and flush what is left (retrying a few times).

        The timer is not cancelled but told to finish: cancelling it in the middle of a write
        would return before that batch is committed (the thread cannot be cancelled), and a
        process exiting then loses it."""
        if self._task is not None and not self._task.done():
            self._stopping = True
            self._full.set()
            await self._task
        for _ in range(20):
            await self.flush()
            if not len(self):
                return
            await asyncio.sleep(0.5)
        log.error("clicks could not be written at shutdown", extra={"count": len(self)})


def _in_thread(save: Callable[[list[ClickRecord]], None]) -> Callable[[list[ClickRecord]], Awaitable[None]]:
    async def write(batch: list[ClickRecord]) -> None:
        await asyncio.to_thread(save, batch)
    return write


class Memo(Generic[K, V]):
    """A bounded memo of a pure function (cleared when full: simple and never unbounded)."""

    def __init__(self, func: Callable[[K], V], size: int = 10_000) -> None:
        self._func = func
        self._size = size
        self._items: dict[K, V] = {}

    def __call__(self, key: K) -> V:
        try:
            return self._items[key]
        except KeyError:
            if len(self._items) >= self._size:
                self._items.clear()
            value = self._items[key] = self._func(key)
            return value


class ClickIds:
    """Random click ids (96 bits, base64url, like link codes) drawn from a pooled read of
    the OS random source: one getrandom call per ``batch`` clicks instead of one per click,
    which on a sandboxed kernel cost ~100 µs, most of a redirect's budget."""

    def __init__(self, *, size: int = 12, batch: int = 1024) -> None:
        self._size = size
        self._batch = batch
        self._pool = b""
        self._at = 0

    def __call__(self) -> str:
        if self._at + self._size > len(self._pool):
            self._pool, self._at = os.urandom(self._size * self._batch), 0
        chunk = self._pool[self._at:self._at + self._size]
        self._at += self._size
        return base64.urlsafe_b64encode(chunk).decode().rstrip("=")
