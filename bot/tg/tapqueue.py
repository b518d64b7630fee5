"""Buy taps gathered into bursts: the taps that arrive together share one database transaction.

A getUpdates answer carries up to 100 updates, and the application handles them concurrently;
each Buy handler parks its tap here and awaits its own outcome. A drain task records what is
parked once the handlers started in this turn of the event loop have parked theirs, so a busy
moment costs one transaction instead of one per tap, and a lone tap is still answered at once.

The transaction goes through ``Database.run``: inline on SQLite, in a worker thread on
PostgreSQL, so the event loop keeps parsing and answering updates during the round trips;
taps that arrive meanwhile form the next batch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.services.promoters import Person, PromoterService
from bot.services.tracking import IssuedLink, TrackingService

if TYPE_CHECKING:
    from bot.storage.db import Database

Parked = tuple[str, Person, "asyncio.Future[IssuedLink]"]


class TapQueue:
    """Batches ``TrackingService.tap_posts`` across concurrently handled updates."""

    def __init__(self, tracking: TrackingService, promoters: PromoterService, *,
                 db: Database, max_batch: int = 500,
                 on_batch: Callable[[], object] = lambda: None) -> None:
        self._tracking = tracking
        self._promoters = promoters
        self._db = db
        self._max_batch = max_batch
        self._on_batch = on_batch
        self._pending: list[Parked] = []
        self._drain: asyncio.Task[None] | None = None

    async def tap(self, post_code: str, person: Person) -> IssuedLink:
        """The member's link for the post; raises ``ServiceError`` when the deal is gone."""
        future: asyncio.Future[IssuedLink] = asyncio.get_running_loop().create_future()
        self._pending.append((post_code, person, future))
        if self._drain is None or self._drain.done():
            self._drain = asyncio.create_task(self._drain_pending(), name="kocbot-taps")
        return await future

    async def _drain_pending(self) -> None:
        await asyncio.sleep(0)  # let the handlers started in this turn park their taps
        while self._pending:
            batch, self._pending = self._pending[:self._max_batch], self._pending[self._max_batch:]
            self._on_batch()
            work = [(code, person) for code, person, _ in batch]
            try:
                outcomes = await self._db.run(self._tracking.tap_posts, work,
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
