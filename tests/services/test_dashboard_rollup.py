"""The mini app's dashboard reads earning_days, sums kept by triggers (migration 0010). They must
equal a full recomputation from the ledger, to the cent, on SQLite and PostgreSQL: after orders
living every life (refunds, cancels, late attribution, an order's day moving), settling and a
payout; after the migration backfills a database that had a ledger before it; and while
writers and readers and the PostgreSQL fold run at once."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.domain.postback import OrderReport
from bot.services.container import Services
from bot.storage.db import alembic_config, upgrade
from bot.storage.models import Click, EarningDay, Group, LedgerEntry, Link, Order, Post, User
from tests.services.test_reports_commission_pinned import ME, _expected, _ledger
from tests.services.test_reports_rollups import random_writes
from tests.support.clock import Clock
from tests.support.databases import make_database_url
from tests.support.threads import failures, together
from tests.support.world import FEED, make_services, product_ids, tap
from tests.support.world import clicks as click_on

BUCKETS = ("pending", "confirmed", "payable", "paid", "reversed")


def recomputed(s: Services) -> dict[tuple, int]:
    """earning_days as the ledger says it should be: every entry by person, currency, bucket,
    group and its order's UTC day (entries without an order under group 0, 1970-01-01)."""
    want: dict[tuple, int] = defaultdict(int)
    with s.db.transaction() as session:
        for user, cur, bucket, amount, group, ordered in session.execute(
            select(LedgerEntry.user_id, LedgerEntry.currency, LedgerEntry.bucket, LedgerEntry.amount,
                   Order.group_id, Order.ordered_at)
            .outerjoin(Order, Order.id == LedgerEntry.order_id).where(LedgerEntry.user_id.is_not(None))
        ):
            day = ordered.date().isoformat() if ordered is not None else "1970-01-01"
            want[(user, cur, bucket, group or 0, day)] += amount
    return {k: v for k, v in want.items() if v}


def kept(s: Services) -> dict[tuple, int]:
    with s.db.transaction() as session:
        rows = session.execute(
            select(EarningDay.user_id, EarningDay.currency, EarningDay.bucket, EarningDay.group_id,
                   EarningDay.day, func.sum(EarningDay.amount))
            .group_by(EarningDay.user_id, EarningDay.currency, EarningDay.bucket, EarningDay.group_id,
                      EarningDay.day)).all()
    return {(u, c, b, g, str(d)): int(a) for u, c, b, g, d, a in rows if a}


def assert_dashboard_equals_recomputation(s: Services, clock: Clock, users: list[int]) -> None:
    assert kept(s) == recomputed(s)
    for hours in (0, 5, 13, 30):  # window edges at different times of day
        clock.advance(hours=hours)
        for user in users:
            want = s.reports.commission(user)  # entry by entry
            got = s.dashboard.summary(user, days=30)
            assert {b: got.buckets.get(b, 0) for b in BUCKETS} == {b: want.buckets.get(b, 0) for b in BUCKETS}
            assert s.dashboard.balances(user) == got.buckets
            assert (got.last_7_days, got.last_30_days, got.per_group) == (
                want.last_7_days, want.last_30_days, want.per_group)
            assert s.dashboard.activity(user) == (want.clicks, want.orders)
            assert got.series == s.dashboard.daily_commission(user, days=30)


def pay_out(s: Services, user: int) -> None:
    """A payout of the person's whole payable balance (the paid bucket gets entries)."""
    payable = s.orders.payable(user)
    assert payable >= 1000, "the random world should leave something to pay"
    s.orders.payout(user_id=user, amount_text=f"{payable / 100:.2f}", admin_id=999)


@pytest.mark.parametrize("seed", [1, 2])
def test_earning_days_equal_the_ledger(db_url: str, seed: int) -> None:
    clock = Clock()
    s = make_services(db_url, clock, commission={"min_payout": "10.00"})
    random_writes(s, clock, random.Random(seed), 40)  # ends with a settle 16 days later
    pay_out(s, 2)
    s.dashboard.compact_earnings()  # PostgreSQL: the folded rows must say the same
    assert_dashboard_equals_recomputation(s, clock, [1, 2])
    summary = s.dashboard.summary(2)
    assert summary.buckets.get("paid") and summary.per_group and any(a for _, a in summary.series)
    s.db.dispose()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_summary_matches_the_pinned_recomputation(db_url: str, seed: int) -> None:
    """The seeded ledger of the /commission pin (entries in several currencies, without an
    order, on the window edges, in the future) read through earning_days while the clock
    crosses the edges and new rows arrive."""
    rng = random.Random(seed)
    clock = Clock()
    clock.set(clock().replace(hour=0, minute=30))
    s = make_services(db_url, clock)
    s.catalog.import_feed(FEED, filename="feed.csv")
    hold = s.config.commission.settle_after_days
    now = clock()
    with s.db.transaction() as session:
        for uid in (ME, ME + 1):
            session.add(User(id=uid, first_name=f"U{uid}", registered_at=now, invite_code=f"pin{uid}",
                             created_at=now))
        session.flush()
        rows = _ledger(rng, now, hold, list(product_ids(s).values()))
        for model, key in ((Group, "groups"), (Link, "links"), (Click, "clicks"), (Order, "orders"),
                           (LedgerEntry, "entries")):
            session.execute(model.__table__.insert(), rows[key])
    for move in (dict(seconds=60), dict(minutes=15), dict(minutes=45), dict(hours=23), dict(hours=-30)):
        want = _expected(rows, clock(), hold, s.config.commission.currency)
        got = s.dashboard.summary(ME, days=30)
        assert {b: got.buckets.get(b, 0) for b in BUCKETS} == {b: want["buckets"].get(b, 0) for b in BUCKETS}
        assert (got.last_7_days, got.last_30_days, got.per_group, got.series) == (
            want["last_7_days"], want["last_30_days"], want["per_group"], want["series"])
        assert s.dashboard.activity(ME) == (want["clicks"], want["orders"])
        entry = {"order_id": rng.choice(rows["orders"])["id"], "event": "confirmed", "party": "promoter",
                 "user_id": ME, "bucket": rng.choice(BUCKETS), "amount": rng.randrange(1, 500),
                 "currency": "CNY", "created_at": clock()}
        with s.db.transaction() as session:
            session.execute(LedgerEntry.__table__.insert(), [entry])
        rows["entries"].append(entry)
        clock.advance(**move)
    s.db.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_migration_backfills_an_existing_ledger(kind: str, tmp_path: Path) -> None:
    from alembic import command

    url = make_database_url(kind, tmp_path)
    command.downgrade(alembic_config(url), "0009")  # a database from before earning_days
    clock = Clock()
    s = make_services(url, clock)
    random_writes(s, clock, random.Random(5), 15)
    upgrade(url)
    assert kept(s)
    assert_dashboard_equals_recomputation(s, clock, [1, 2])
    s.db.dispose()


def test_earning_days_stay_exact_while_writers_readers_and_folds_run_together(db_url: str) -> None:
    """Orders of one promoter, on the same days, from several threads (each booking touches
    the same person's rows) while dashboards are read and PostgreSQL folds slots: nothing
    lost, nothing counted twice, no deadlock."""
    clock = Clock()
    s = make_services(db_url, clock)
    random_writes(s, clock, random.Random(9), 4)
    with s.db.transaction() as session:
        post = session.scalars(select(Post.code).where(Post.status == "sent")).first()
    assert post is not None
    click_ids = [click_on(s, tap(s, post, 200 + member, "w"))[0] for member in range(4)]
    start = s.now()

    def writer(k: int) -> None:
        for n in range(10):
            lives = (("pending", "confirmed", "refunded"), ("pending", "cancelled"), ("confirmed",))
            for state in lives[n % 3]:
                s.orders.ingest(OrderReport(order_id=f"w{k}-{n}", click_id=click_ids[k],
                                            amount=1000 + 7 * n + k, status=state, commission=None,
                                            currency="CNY", ts=start - timedelta(days=n % 2)),
                                source="csv", promoters=s.promoters)

    def reader() -> None:
        for _ in range(15):
            s.dashboard.summary(2)
            s.dashboard.compact_earnings()

    errors = failures(together([*(lambda k=k: writer(k) for k in range(4)), reader, reader],
                               timeout=120))
    assert not errors, errors
    s.dashboard.compact_earnings()
    assert_dashboard_equals_recomputation(s, clock, [1, 2])
    s.db.dispose()
