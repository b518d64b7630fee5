"""/stats from the daily rollups equals the full scan, to the cent, on SQLite and PostgreSQL:
after random clicks, taps, posts, orders with old and new days, refunds, cancels, late
attribution, a post's status changing and an order's day moving; and after the migration
backfills a database that had rows before the rollups existed."""

from __future__ import annotations

import random
import threading
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from bot.domain.links import new_code
from bot.domain.postback import OrderReport
from bot.services.tracking import ClickRecord
from bot.storage.db import alembic_config, upgrade
from bot.storage.models import Order, Post, StatsDay
from tests.support.clock import Clock
from tests.support.databases import make_database_url
from tests.support.world import FEED, add_group, add_post, make_services, product_ids, register, tap

WINDOWS = (timedelta(days=1), timedelta(days=7), timedelta(days=30), None)


def random_writes(s, clock: Clock, rng: random.Random, rounds: int) -> None:  # type: ignore[no-untyped-def]
    """Clicks spread over 40 days, orders living every life, some reported before their click."""
    s.catalog.import_feed(FEED, filename="feed.csv")
    register(s, 1, "Pat")
    register(s, 2, "Mo", inviter=1)
    group = add_group(s, -10, "G", 2)
    skus = list(product_ids(s).values())
    posts = [add_post(s, group, sku) for sku in skus]
    start = s.now()
    buffered: list[ClickRecord] = []
    for n in range(rounds):
        code = tap(s, rng.choice(posts), 100 + rng.randrange(8), "m")
        link_id = s.tracking.resolve(code).link_id
        records = [ClickRecord(id=new_code(), link_id=link_id,
                               at=start - timedelta(days=rng.uniform(0, 40)),
                               is_bot=rng.random() < 0.25, ip_hash=None, user_agent=None,
                               referrer=None) for _ in range(1 + rng.randrange(3))]
        late = rng.random() < 0.3
        if late:  # the order arrives before its click is written: attributed when it is
            buffered.extend(records)
        else:
            s.tracking.save_clicks(records, orders=s.orders, promoters=s.promoters)
        life = rng.choice([("pending",), ("confirmed",), ("pending", "cancelled"),
                           ("confirmed", "refunded"), ("pending", "confirmed", "refunded")])
        when = start - timedelta(days=rng.uniform(0, 40), seconds=rng.randrange(86400))
        amount = rng.randrange(1, 300_000)
        commission = rng.choice([None, rng.randrange(0, amount // 4 + 1)])
        for state in life:
            s.orders.ingest(OrderReport(order_id=f"o{n}", click_id=records[0].id, amount=amount,
                                        status=state, commission=commission, currency="CNY",
                                        ts=when), source="csv", promoters=s.promoters)
        if late and rng.random() < 0.7:
            s.tracking.save_clicks(buffered, orders=s.orders, promoters=s.promoters)
            buffered.clear()
    if buffered:
        s.tracking.save_clicks(buffered, orders=s.orders, promoters=s.promoters)
    with s.db.transaction() as session:
        # Writes from any path keep the rollups: a post leaving "sent", an order's day moving.
        session.execute(update(Post).where(Post.code == posts[0]).values(status="failed"))
        # Old live orders (with earnings) move into the last 30 days: their money must follow.
        old = session.scalars(select(Order.id).where(
            Order.status.in_(("pending", "confirmed")),
            Order.ordered_at < start - timedelta(days=20)).order_by(Order.id).limit(3)).all()
        assert old
        session.execute(update(Order).where(Order.id.in_(old)).values(ordered_at=start))
    clock.advance(days=16)
    s.orders.settle()


def assert_rollups_equal_scan(s, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    for hours in (0, 5, 13, 30):  # window edges at different times of day
        clock.advance(hours=hours)
        for window in WINDOWS:
            fast, scan = s.reports.stats(window), s.reports.stats_scan(window)
            assert asdict(fast) == asdict(scan), window


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rollups_equal_the_full_scan(db_url: str, seed: int) -> None:
    clock = Clock()
    s = make_services(db_url, clock)
    random_writes(s, clock, random.Random(seed), 40)
    everything = s.reports.stats_scan(None)
    assert everything.orders and everything.clicks and everything.commission_by_party
    with s.db.transaction() as session:  # the figures really come from rollups spread over days
        assert session.scalar(select(func.count(func.distinct(StatsDay.day)))) > 20
    assert_rollups_equal_scan(s, clock)
    s.db.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_migration_backfills_existing_rows(kind: str, tmp_path: Path) -> None:
    from alembic import command

    url = make_database_url(kind, tmp_path)
    command.downgrade(alembic_config(url), "0007")  # a database from before the rollups
    clock = Clock()
    s = make_services(url, clock)
    random_writes(s, clock, random.Random(5), 15)
    upgrade(url)
    assert_rollups_equal_scan(s, clock)
    s.db.dispose()


def test_rollups_stay_exact_while_writers_and_stats_run_together(db_url: str) -> None:
    """Click batches and orders from several threads while /stats compacts (PostgreSQL folds
    per-transaction rows then): nothing lost, nothing counted twice, no deadlock."""
    clock = Clock()
    s = make_services(db_url, clock)
    random_writes(s, clock, random.Random(9), 4)
    link_ids = []
    with s.db.transaction() as session:
        post = session.scalars(select(Post.code).where(Post.status == "sent")).first()
    for member in range(4):
        link_ids.append(s.tracking.resolve(tap(s, post, 200 + member, "w")).link_id)
    start = s.now()
    errors: list[BaseException] = []
    barrier = threading.Barrier(5)

    def writer(k: int) -> None:
        rng = random.Random(k)
        try:
            barrier.wait()
            for n in range(12):
                records = [ClickRecord(id=new_code(), link_id=link_ids[k],
                                       at=start - timedelta(days=rng.uniform(0, 3)),
                                       is_bot=rng.random() < 0.3, ip_hash=None, user_agent=None,
                                       referrer=None) for _ in range(5)]
                s.tracking.save_clicks(records, orders=s.orders, promoters=s.promoters)
                for state in ("pending", "confirmed") if n % 2 else ("pending", "cancelled"):
                    s.orders.ingest(OrderReport(order_id=f"w{k}-{n}", click_id=records[0].id,
                                                amount=1000 + n, status=state, commission=None,
                                                currency="CNY", ts=start - timedelta(days=n % 3)),
                                    source="csv", promoters=s.promoters)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    def reader() -> None:
        try:
            barrier.wait()
            for _ in range(15):
                s.reports.stats(timedelta(days=2))
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    threads.append(threading.Thread(target=reader))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert_rollups_equal_scan(s, clock)
    s.db.dispose()
