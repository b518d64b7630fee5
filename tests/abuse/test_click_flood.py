"""The click buffer is bounded while the database is away: bot hits are dropped first, every
drop is counted in a metric, and the backlog is written in batches once the database is back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
from sqlalchemy import func, select, text

from bot.services.tracking import ClickRecord
from bot.storage.models import Click
from bot.web.clicks import ClickBuffer
from tests.abuse.test_forgery import MEMBER, setup_card
from tests.support.flow import tap_buy

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"


def record(n: int, *, bot: bool) -> ClickRecord:
    return ClickRecord(id=f"{'b' if bot else 'h'}{n}", link_id=1, at=datetime(2026, 1, 1, tzinfo=UTC),
                       is_bot=bot, ip_hash=None, user_agent=None, referrer=None)


async def test_a_full_buffer_drops_bot_hits_first_and_writes_in_batches() -> None:
    saved: list[list[str]] = []
    down = True
    drops: list[bool] = []

    def save(batch: list[ClickRecord]) -> None:
        if down:
            raise ConnectionError("database unavailable")
        saved.append([c.id for c in batch])

    buffer = ClickBuffer(save, interval=3600, max_pending=10, batch=4, on_drop=drops.append)
    for i in range(4):
        buffer.add(record(i, bot=True))
    for i in range(8):
        buffer.add(record(i, bot=False))  # the last two push out the two oldest bot hits
    buffer.add(record(99, bot=True))  # full, and it is a bot hit: dropped
    assert drops == [True, True, True]
    await buffer.flush()  # fails: everything stays, still bounded
    assert len(buffer) == 10
    for i in range(8, 12):
        buffer.add(record(i, bot=False))  # two more bot hits go, then humans are turned away
    assert drops == [True, True, True, True, True, False, False]
    down = False
    await buffer.flush()
    assert [len(b) for b in saved] == [4, 4, 2]
    written = [cid for batch in saved for cid in batch]
    assert written == [f"h{i}" for i in range(10)]
    assert len(buffer) == 0


async def test_a_database_outage_keeps_memory_bounded(emulator, kocbot_factory) -> None:
    emu = emulator
    kocbot = await kocbot_factory(config={"web": {"click_buffer_max": 40}})
    _chat, card = await setup_card(emu, kocbot)
    url = await tap_buy(emu, member=MEMBER, card=card)
    kocbot.clicks.interval = 3600  # the test flushes by itself, once the database is back
    await asyncio.sleep(0.4)
    await kocbot.clicks.flush()
    with kocbot.db.engine.begin() as conn:  # the outage: the clicks table is gone
        conn.execute(text("ALTER TABLE clicks RENAME TO clicks_away"))
    async with httpx.AsyncClient() as client:
        for _ in range(20):
            await client.head(url)
        for _ in range(45):
            assert (await client.get(url, headers={"User-Agent": PHONE})).status_code == 302
        for _ in range(10):
            await client.head(url)
        await kocbot.clicks.flush()  # fails and keeps what fits
        assert len(kocbot.clicks) == 40
    with kocbot.db.engine.begin() as conn:
        conn.execute(text("ALTER TABLE clicks_away RENAME TO clicks"))
    await kocbot.clicks.flush()
    assert len(kocbot.clicks) == 0
    with kocbot.db.transaction() as session:
        humans = session.scalar(select(func.count(Click.id)).where(Click.is_bot.is_(False)))
        bots = session.scalar(select(func.count(Click.id)).where(Click.is_bot.is_(True)))
    assert (humans, bots) == (40, 0)
    dropped = kocbot.metrics.registry.get_sample_value
    assert dropped("kocbot_clicks_dropped_total", {"kind": "bot"}) == 30
    assert dropped("kocbot_clicks_dropped_total", {"kind": "human"}) == 5
