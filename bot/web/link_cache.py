"""Link code → redirect target for ``/c/<code>``: an LRU with a short ttl, whose misses and
renewals are looked up together (bot/services/tracking.py ``resolve_many``)."""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections import OrderedDict
from collections.abc import Callable

from bot.services.tracking import ClickTarget

log = logging.getLogger(__name__)


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

    ``resolve_many`` answers the targets of the known codes among those it is given: misses
    of one event-loop turn, and busy links due for renewal, are each looked up together.
    """

    def __init__(self, resolve_many: Callable[[list[str]], dict[str, ClickTarget]], *,
                 ttl: float = 10.0, size: int = 50_000, inline: bool = False) -> None:
        # One lookup for many codes instead of a thread hop and a query per code, each of
        # which took the GIL from the loop answering the redirects (the clicks' p99).
        self._resolve_many = resolve_many
        # Busy links renewed together: every code that came due within ``gather`` seconds.
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
        self._wanted: list[str] = []  # missed codes for the next ``_fetch``
        self._fetcher: asyncio.Task[None] | None = None

    async def get(self, code: str) -> ClickTarget | None:
        """The target of ``code`` (None for an unknown code)."""
        hit = self.peek(code)
        if hit is not MISS:
            return hit
        loading = self._loading.get(code)
        if loading is None:
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
        try:
            while self._wanted:
                await asyncio.sleep(0)  # the rest of this turn's misses join
                codes, self._wanted = self._wanted, []
                try:
                    started, found = await self._look_up(codes)
                except Exception as exc:  # noqa: BLE001 - every waiter gets it; nothing is cached
                    for code in codes:
                        self._loading.pop(code).set_exception(exc)
                    continue
                for code in codes:
                    self._store(code, started, found.get(code))
                    self._loading.pop(code).set_result(found.get(code))
        finally:
            self._fetcher = None

    async def _look_up(self, codes: list[str]) -> tuple[float, dict[str, ClickTarget]]:
        """When the lookup started, and the targets of the known ``codes``."""
        started = time.monotonic()
        if self.inline:
            return started, self._resolve_many(codes)
        return started, await asyncio.to_thread(self._resolve_many, codes)

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
            self._due.add(code)
            if self._renewal is None:
                self._renew_soon()
        return hit[1]

    def _renew_soon(self) -> None:
        self._renewal = asyncio.create_task(self._renew())
        self._renewal.add_done_callback(_retrieve)

    async def _renew(self) -> None:
        """Look up every code that came due in the next ``gather`` seconds, in one call."""
        try:
            await asyncio.sleep(self.gather)
            codes, self._due = sorted(self._due), set()
            self._renewing.update(codes)  # ``peek`` does not queue them again meanwhile
            try:
                started, found = await self._look_up(codes)
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

    def _store(self, code: str, started: float, target: ClickTarget | None) -> None:
        self._items[code] = (started, target)
        self._items.move_to_end(code)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


def _observed(lookup: asyncio.Future[ClickTarget | None]) -> None:
    """Mark a failed lookup's error as seen: its waiters got it, or all of them left."""
    if not lookup.cancelled():
        lookup.exception()


def _retrieve(task: asyncio.Future[None]) -> None:
    """A failed background refresh keeps the entry it would have replaced; say why once."""
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.warning("link refresh failed; serving the cached target until its ttl",
                    extra={"error": type(exc).__name__})
