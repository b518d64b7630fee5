"""The click buffer: a stop that comes while a batch is being written returns only once that
batch is committed, and every click is written exactly once."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

from bot.services.tracking import ClickRecord
from bot.web.clicks import ClickBuffer


def click(n: int) -> ClickRecord:
    return ClickRecord(id=f"c{n}", link_id=1, at=datetime(2026, 11, 24, tzinfo=UTC), is_bot=False,
                       ip_hash=None, user_agent=None, referrer=None)


class SlowSave:
    """A save whose first call blocks in its thread until released."""

    def __init__(self) -> None:
        self.saved: list[str] = []
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, batch: list[ClickRecord]) -> None:
        if not self.started.is_set():
            self.started.set()
            self.release.wait(timeout=5)
        self.saved.extend(c.id for c in batch)


async def test_stop_during_a_write_waits_for_it_and_loses_nothing() -> None:
    save = SlowSave()
    buffer = ClickBuffer(save, interval=30, size=3)
    buffer.start()
    for n in range(3):
        buffer.add(click(n))  # a full batch: the timer writes it now
    assert await asyncio.to_thread(save.started.wait, 5)
    buffer.add(click(3))  # arrives while the first batch is being written

    stopping = asyncio.create_task(buffer.stop())
    await asyncio.sleep(0.2)
    assert not stopping.done()  # the first batch is not committed yet
    save.release.set()
    await asyncio.wait_for(stopping, timeout=5)

    assert sorted(save.saved) == ["c0", "c1", "c2", "c3"]
    assert len(buffer) == 0
