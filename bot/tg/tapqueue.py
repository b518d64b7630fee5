"""Buy taps gathered into bursts: the taps that arrive in one turn of the event loop share
one database transaction.

A getUpdates answer carries up to 100 updates, and the application handles them concurrently;
each Buy handler parks its tap here and awaits its own outcome. The flush runs once the
handlers started in this turn have parked theirs, so a busy moment costs one transaction
instead of one per tap, and a quiet moment still answers a lone tap at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bot.services.promoters import Person, PromoterService
from bot.services.tracking import IssuedLink, TrackingService


class TapQueue:
    """Batches ``TrackingService.tap_posts`` across concurrently handled updates."""

    def __init__(self, tracking: TrackingService, promoters: PromoterService, *,
                 max_batch: int = 500, on_batch: Callable[[], object] = lambda: None) -> None:
        self._tracking = tracking
        self._promoters = promoters
        self._max_batch = max_batch
        self._on_batch = on_batch
        self._pending: list[tuple[str, Person, asyncio.Future[IssuedLink]]] = []

    async def tap(self, post_code: str, person: Person) -> IssuedLink:
        """The member's link for the post; raises ``ServiceError`` when the deal is gone."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[IssuedLink] = loop.create_future()
        self._pending.append((post_code, person, future))
        if len(self._pending) == 1:
            loop.call_soon(self._flush)
        elif len(self._pending) >= self._max_batch:
            self._flush()
        return await future

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        self._on_batch()
        try:
            outcomes = self._tracking.tap_posts([(code, person) for code, person, _ in batch],
                                                promoters=self._promoters)
        except Exception as exc:  # noqa: BLE001 - each waiting handler reports it for its update
            outcomes = [exc] * len(batch)
        for (_, _, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():  # the handler was cancelled (shutdown)
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

