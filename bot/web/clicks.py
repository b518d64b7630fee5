"""Clicks are answered at once and written in batches, so the redirect never waits on the
database. A graceful shutdown flushes every buffered click."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from bot.services.tracking import ClickRecord, ClickTarget

log = logging.getLogger(__name__)
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ClickBuffer:
    """Collects clicks in memory and writes them every ``interval`` or every ``size`` clicks."""

    def __init__(self, save: Callable[[list[ClickRecord]], None], *, interval: float = 0.25,
                 size: int = 500, on_depth: Callable[[int], None] | None = None) -> None:
        self._save = save
        self.interval = interval
        self.size = size
        self._pending: list[ClickRecord] = []
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
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
        while not self._stopping:
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
            if not self._pending:
                return
            await asyncio.sleep(0.5)
        log.error("clicks could not be written at shutdown", extra={"count": len(self._pending)})


class LinkCache:
    """Link code → redirect target, an LRU with a short TTL.

    A click must not wait on the database: a link's target never changes, and a product's
    stock/end/active state may lag by at most ``ttl`` seconds, which a 410 page can afford.
    Misses resolve in a worker thread so the event loop keeps answering, and clicks on a code
    that is already being resolved wait for that one lookup: a link shared in a busy group
    is opened by many members at once, and each must not become its own query.
    """

    def __init__(self, resolve: Callable[[str], ClickTarget | None], *, ttl: float = 10.0,
                 size: int = 50_000) -> None:
        self._resolve = resolve
        self.ttl = ttl
        self.size = size
        self._items: OrderedDict[str, tuple[float, ClickTarget | None]] = OrderedDict()
        self._loading: dict[str, asyncio.Task[ClickTarget | None]] = {}

    async def get(self, code: str) -> ClickTarget | None:
        """The target of ``code`` (None for an unknown code)."""
        hit = self._items.get(code)
        if hit is not None:
            age = time.monotonic() - hit[0]
            if age < self.ttl:
                self._items.move_to_end(code)
                if age > self.ttl / 2 and code not in self._loading:
                    # Refresh ahead: a link clicked often is looked up again in the background
                    # before it expires, so its clicks never queue behind a miss (the p99 of
                    # bench_clicks was every busy code expiring at once, 200 lookups on a
                    # 6-thread pool). The entry stays served until its own ttl as before.
                    task = self._loading[code] = asyncio.create_task(self._load(code))
                    task.add_done_callback(_retrieve)
                return hit[1]
        task = self._loading.get(code)
        if task is None:
            task = self._loading[code] = asyncio.create_task(self._load(code))
        # shield: a click whose client went away must not cancel the lookup the others await
        return await asyncio.shield(task)

    async def _load(self, code: str) -> ClickTarget | None:
        started = time.monotonic()
        try:
            target = await asyncio.to_thread(self._resolve, code)
        finally:
            del self._loading[code]
        self._items[code] = (started, target)
        self._items.move_to_end(code)
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return target


def _retrieve(task: asyncio.Task[ClickTarget | None]) -> None:
    """A failed background refresh keeps the entry it would have replaced; say why once."""
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.warning("link refresh failed; serving the cached target until its ttl",
                    extra={"error": type(exc).__name__})


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
