"""Order pollers as real processes (``kocbot networks sync jd``) against the fake gateway:
one killed in the middle of a window's pages and restarted, and two started at once. Plus
two pollers' bookings of the same rows racing in threads. Every row is booked exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.networks.jd import JdConnector
from bot.networks.sync import SUB_PREFIX, NetworkSync
from bot.storage.models import NetworkCursor, Order, OrderEvent
from tests.networks.conftest import MENTOR, PROMOTER, jd_settings
from tests.support.fake_jd import ROWS, FakeJd
from tests.support.world import PARTNER, add_group, add_post, clicks, make_services, register, tap

pytestmark = pytest.mark.slow
PENDING = {("platform", None, "pending"): 161, ("mentor", MENTOR, "pending"): 80,
           ("partner", PARTNER, "pending"): 48, ("promoter", PROMOTER, "pending"): 1317}


@pytest.fixture
async def real_time_fake() -> AsyncIterator[FakeJd]:
    """The gateway on the real clock: the pollers are other processes with the real clock."""
    fake = FakeJd()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


def world(db_url: str, fake: FakeJd, tmp_path: Path, rows: int):
    """The upline chain, a member's link to a JD product with a click, ``rows`` pending rows
    of that member modified in the last hours, and a config file for the subprocesses."""
    from tests.support.clock import Clock

    clock = Clock(datetime.now(UTC))
    services = make_services(db_url, clock, networks={"jd": jd_settings(fake)})
    from tests.support.world import FEED

    services.catalog.import_feed(FEED, filename="feed.csv")
    register(services, PARTNER, "Pat")
    register(services, MENTOR, "Mo", inviter=PARTNER)
    register(services, PROMOTER, "Pro", inviter=MENTOR)
    from bot.storage.models import Product, User

    with services.db.transaction() as session:
        session.get_one(User, PARTNER).tier = "partner"
        session.get_one(User, MENTOR).tier = "mentor"
        product = session.scalars(select(Product.id).where(Product.sku == "SKU3")).one()
    code = tap(services, add_post(services, add_group(services, -1, "Club", PROMOTER), product), 4)
    clicks(services, code)
    now = datetime.now(UTC)
    for n in range(rows):
        # Three quarters of the rows in one window (two pages there), the rest spread out.
        modified = now - timedelta(minutes=70) + timedelta(seconds=n) if n < rows * 3 // 4 \
            else now - timedelta(hours=n % 20 + 2)
        fake.set_row(80_000 + n, 100001, valid_code=16, modified=modified, sub_union_id=SUB_PREFIX + code)
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{db_url}"\n[networks.jd]\napp_key = "{fake.app_key}"\n'
                      f'app_secret = "{fake.app_secret}"\nunion_id = "1000001"\napi_url = "{fake.url}"\n'
                      "enabled = true\n", encoding="utf-8")
    return services, config


def poller(config: Path):
    return asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "networks", "sync", "jd", "-c", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})


def booked_once(services, rows: int) -> None:
    """Every row is one order with one event, and the ledger is ``rows`` times one order's."""
    from collections import defaultdict

    from bot.storage.models import LedgerEntry

    with services.db.transaction() as session:
        assert session.scalar(select(func.count(Order.id))) == rows
        assert session.scalar(select(func.count(OrderEvent.id))) == rows
        totals: dict = defaultdict(int)
        for entry in session.scalars(select(LedgerEntry)):
            totals[(entry.party, entry.user_id, entry.bucket)] += entry.amount
    assert dict(totals) == {key: rows * amount for key, amount in PENDING.items()}


async def test_poller_killed_mid_page_then_restarted(db_url, real_time_fake, tmp_path) -> None:
    fake = real_time_fake
    services, config = world(db_url, fake, tmp_path, rows=280)  # 210 in one window: 2 pages
    fake.stall = (ROWS, 2)
    first = await poller(config)
    await asyncio.wait_for(fake.stalled.wait(), timeout=60)
    with services.db.transaction() as session:
        assert session.scalar(select(func.count(Order.id))) >= 200  # page 1 is booked
        cursor_before = session.get_one(NetworkCursor, "jd").cursor_at
    first.send_signal(signal.SIGKILL)
    await first.wait()
    fake.release.set()
    second = await poller(config)
    out, err = await asyncio.wait_for(second.communicate(), timeout=120)
    assert second.returncode == 0, err.decode()
    assert "stopped" not in out.decode(), out.decode()
    booked_once(services, 280)
    with services.db.transaction() as session:
        cursor = session.get_one(NetworkCursor, "jd")
        assert cursor.cursor_at > cursor_before and cursor.lease_owner is None
    services.db.dispose()


async def test_two_poller_processes_at_once(db_url, real_time_fake, tmp_path) -> None:
    fake = real_time_fake
    services, config = world(db_url, fake, tmp_path, rows=60)
    fake.stall = (ROWS, 1)  # hold the first poller inside its first window
    first = await poller(config)
    await asyncio.wait_for(fake.stalled.wait(), timeout=60)
    second = await poller(config)
    out2, _ = await asyncio.wait_for(second.communicate(), timeout=60)
    assert "another poller holds the lease" in out2.decode()
    fake.release.set()
    out1, err1 = await asyncio.wait_for(first.communicate(), timeout=120)
    assert first.returncode == 0, err1.decode()
    booked_once(services, 60)
    # Both again, with nothing held: whichever runs second finds nothing left to book.
    runs = await asyncio.gather(*(poller(config) for _ in range(2)))
    await asyncio.gather(*(run.communicate() for run in runs))
    booked_once(services, 60)
    services.db.dispose()


async def test_two_pollers_booking_the_same_rows_race(db_url, real_time_fake, tmp_path) -> None:
    """Even if two pollers did walk one window (a lease that expired under a slow poller), the
    same rows booked at the same moment from two engines end up booked once."""
    fake = real_time_fake
    services, _ = world(db_url, fake, tmp_path, rows=40)
    rows = []
    connector = JdConnector(services.config.networks.jd, timeout=5)
    end = datetime.now(UTC)
    for hours in range(24):
        page = await connector.order_rows(end - timedelta(hours=hours + 1), end - timedelta(hours=hours), 1)
        rows += page.rows
    await connector.aclose()
    rows = list({row.row_key: row for row in rows}.values())
    assert len(rows) == 40
    other = make_services(db_url, services.now, networks={"jd": jd_settings(fake)})
    syncs = [NetworkSync(connector=JdConnector(s.config.networks.jd), services=s) for s in (services, other)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def book_all(sync: NetworkSync) -> None:
        try:
            barrier.wait()
            for row in rows:
                sync.book(row)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=book_all, args=(sync,)) for sync in syncs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    booked_once(services, 40)
    for sync in syncs:
        await sync.connector.aclose()
    other.db.dispose()
    services.db.dispose()
