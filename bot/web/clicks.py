"""Clicks are answered at once and written in batches, so the redirect never waits on the
database. A graceful shutdown flushes every buffered click."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import enum
import logging
import os
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from bot.services.tracking import ClickRecord, ClickTarget

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


class Miss(enum.Enum):
    """What ``LinkCache.peek`` answers for a code it holds no fresh entry for."""

    MISS = enum.auto()


MISS = Miss.MISS


class LinkCache:
    """Link code → redirect target, an LRU with a short TTL.

    A click must not wait on the database: a link's target never changes, and a product's
    stock/end/active state may lag by at most ``ttl`` seconds, which a 410 page can afford.
    Misses resolve in a worker thread so the event loop keeps answering, and clicks on a code
    that is already being resolved wait for that one lookup: a link shared in a busy group
    is opened by many members at once, and each must not become its own query.
    """

    def __init__(self, resolve: Callable[[str], ClickTarget | None], *, ttl: float = 10.0,
                 size: int = 50_000, inline: bool = False,
                 resolve_many: Callable[[list[str]], dict[str, ClickTarget]] | None = None) -> None:
        self._resolve = resolve
        # Busy links renewed together: one lookup of every code that came due within
        # ``gather`` seconds, instead of a thread hop and a query per code (each of which
        # took the GIL from the loop answering the redirects: the clicks' p99).
        self._resolve_many = resolve_many
        self.gather = ttl / 10
        self._due: set[str] = set()  # waiting for the next renewal
        self._renewing: set[str] = set()  # in the renewal under way
        self._renewal: asyncio.Task[None] | None = None
        # Inline (SQLite): one indexed read of a local file is ~0.2 ms of CPU, while in a
        # worker thread each of its GIL releases waited up to the 5 ms switch interval for
        # the busy event loop: ~40 ms a lookup, and a cold cache filled at ~25 codes/s.
        self.inline = inline
        self.ttl = ttl
        self.size = size
        self._items: OrderedDict[str, tuple[float, ClickTarget | None]] = OrderedDict()
        self._loading: dict[str, asyncio.Future[ClickTarget | None]] = {}
        self._wanted: list[str] = []  # missed codes for the next ``_fetch`` (with resolve_many)
        self._fetcher: asyncio.Task[None] | None = None

    async def get(self, code: str) -> ClickTarget | None:
        """The target of ``code`` (None for an unknown code)."""
        hit = self.peek(code)
        if hit is not MISS:
            return hit
        loading = self._loading.get(code)
        if loading is None:
            if self._resolve_many is None:
                loading = self._loading[code] = asyncio.create_task(self._load(code))
            else:
                loading = self._loading[code] = asyncio.get_running_loop().create_future()
                loading.add_done_callback(_observed)
                self._wanted.append(code)
                if self._fetcher is None:
                    self._fetcher = asyncio.create_task(self._fetch())
        # shield: a click whose client went away must not cancel the lookup the others await
        return await asyncio.shield(loading)

    async def _fetch(self) -> None:
        """Look up together the codes missed in one turn of the event loop: a cold cache
        (a restart at peak, a post opened by a whole group) costs one query per turn, not a
        thread hop and a query per code."""
        assert self._resolve_many is not None
        try:
            while self._wanted:
                await asyncio.sleep(0)  # the rest of this turn's misses join
                codes, self._wanted = self._wanted, []
                started = time.monotonic()
                try:
                    if self.inline:
                        found = self._resolve_many(codes)
                    else:
                        found = await asyncio.to_thread(self._resolve_many, codes)
                except Exception as exc:  # noqa: BLE001 - every waiter gets it; nothing is cached
                    for code in codes:
                        self._loading.pop(code).set_exception(exc)
                    continue
                for code in codes:
                    self._store(code, started, found.get(code))
                    self._loading.pop(code).set_result(found.get(code))
        finally:
            self._fetcher = None

    def peek(self, code: str) -> ClickTarget | None | Miss:
        """The cached target of ``code`` (None: known to be unknown), or MISS; never waits."""
        hit = self._items.get(code)
        if hit is None:
            return MISS
        age = time.monotonic() - hit[0]
        if age >= self.ttl:
            return MISS
        self._items.move_to_end(code)
        if (age > self.ttl / 2 and code not in self._loading and code not in self._due
                and code not in self._renewing):
            # Refresh ahead: a link clicked often is looked up again in the background
            # before it expires, so its clicks never queue behind a miss (the p99 of
            # bench_clicks was every busy code expiring at once, 200 lookups on a
            # 6-thread pool). The entry stays served until its own ttl as before.
            if self._resolve_many is not None:
                self._due.add(code)
                if self._renewal is None:
                    self._renew_soon()
            else:
                task = self._loading[code] = asyncio.create_task(self._load(code))
                task.add_done_callback(_retrieve)
        return hit[1]

    def _renew_soon(self) -> None:
        self._renewal = asyncio.create_task(self._renew())
        self._renewal.add_done_callback(_retrieve)

    async def _renew(self) -> None:
        """Look up every code that came due in the next ``gather`` seconds, in one call."""
        assert self._resolve_many is not None
        try:
            await asyncio.sleep(self.gather)
            codes, self._due = sorted(self._due), set()
            self._renewing.update(codes)  # ``peek`` does not queue them again meanwhile
            started = time.monotonic()
            try:
                if self.inline:
                    found = self._resolve_many(codes)
                else:
                    found = await asyncio.to_thread(self._resolve_many, codes)
            finally:
                self._renewing.difference_update(codes)
            for code in codes:
                if code in self._items:  # not evicted meanwhile
                    self._items[code] = (started, found.get(code))
        except BaseException:
            # Failed or cancelled: the entries stay served until their ttl (``_retrieve``
            # logs why), and codes that come due again are queued afresh.
            self._renewal, self._due = None, set()
            raise
        self._renewal = None
        if self._due:  # came due while this renewal ran
            self._renew_soon()

    async def _load(self, code: str) -> ClickTarget | None:
        started = time.monotonic()
        try:
            target = self._resolve(code) if self.inline else await asyncio.to_thread(self._resolve, code)
        finally:
            del self._loading[code]
        self._store(code, started, target)
        return target

    def _store(self, code: str, started: float, target: ClickTarget | None) -> None:
        self._items[code] = (started, target)
        self._items.move_to_end(code)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


def _observed(lookup: asyncio.Future[ClickTarget | None]) -> None:
    """Mark a failed lookup's error as seen: its waiters got it, or all of them left."""
    if not lookup.cancelled():
        lookup.exception()


def _retrieve(task: asyncio.Future[ClickTarget | None] | asyncio.Future[None]) -> None:
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
