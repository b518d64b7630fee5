"""Choosing deals through PostingService.candidates on a real database: the picks, exclusion
and learning-stats queries plus the ranking, for one group and for 10,000 groups in one slot.

The database holds 100,000 products (imported by the import service), 10,000 claimed groups
with owners, two weeks of sent posts per group (14 each, so the 7-day exclusion bites), taps
on links from those posts, some orders, and promoter picks. Baseline in the same run: the
pure in-memory choice (rank_deals on the same index, with empty stats and no exclusions).
Run: python bench/bench_choose.py [--pg postgresql+psycopg://…/db] [groups]. Prints; asserts
nothing. A PostgreSQL database's public schema is dropped and re-created: give a scratch one.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import exists, func, insert, select, text, update  # noqa: E402

from bench.bench_feed import CATEGORIES, generate_feed  # noqa: E402
from bench.bench_import import _fresh  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.domain.ranking import rank_deals  # noqa: E402
from bot.services.container import Services  # noqa: E402
from bot.services.selection import choose_for_groups  # noqa: E402
from bot.storage.db import Database  # noqa: E402
from bot.storage.models import Group, Link, Order, Pick, Post, Product, Tap, User  # noqa: E402

NOW = datetime(2026, 1, 20, 12, tzinfo=UTC)
POSTS_PER_GROUP = 14


def _chunks(rows: list[dict], size: int = 5000):
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def populate(services: Services, groups: int, rng: random.Random) -> None:
    """Users, groups, posts, links, taps, orders and picks, in bulk."""
    with services.db.transaction() as session:
        pids = list(session.scalars(select(Product.id)))
        # The generated feed features a fifth of its rows, and featured deals go first: with
        # any featured deal that fits, a choice never reaches the learned ranking. Measure that.
        session.execute(update(Product).values(featured=False))
        users = [{"id": 10_000 + g, "first_name": f"u{g}", "tier": "promoter", "registered_at": NOW,
                  "created_at": NOW} for g in range(groups)]
        members = [{"id": 1_000_000 + m, "first_name": f"m{m}", "tier": "promoter",
                    "created_at": NOW} for m in range(5000)]
        for chunk in _chunks(users + members):
            session.execute(insert(User), chunk)
        rows = []
        for g in range(groups):
            cats = " ".join(rng.sample(CATEGORIES, 3)) if g % 3 == 0 else ""
            rows.append({"chat_id": -100_000_000 - g, "title": f"g{g}", "owner_id": 10_000 + g,
                         "claimed": True, "active": True, "paused": False,
                         "timezone": "Asia/Shanghai", "times": "09:00 20:00", "categories": cats,
                         "next_slot_at": NOW, "created_at": NOW})
        for chunk in _chunks(rows):
            session.execute(insert(Group), chunk)
        gids = list(session.scalars(select(Group.id).order_by(Group.id)))
        posts = [{"code": f"p{gid}-{k}", "group_id": gid, "product_id": rng.choice(pids),
                  "slot": f"s{k}", "due_at": NOW - timedelta(hours=12 * (k + 1)), "status": "sent",
                  "attempts": 1, "price": 100, "created_at": NOW - timedelta(hours=12 * (k + 1))}
                 for gid in gids for k in range(POSTS_PER_GROUP)]
        for chunk in _chunks(posts):
            session.execute(insert(Post), chunk)
        post_rows = session.execute(select(Post.id, Post.group_id, Post.product_id)).all()
        links = []
        for n, (post_id, gid, pid) in enumerate(rng.sample(post_rows, len(post_rows) // 3)):
            links.append({"code": f"l{n}", "user_id": 1_000_000 + n % 5000, "product_id": pid,
                          "post_id": post_id, "group_id": gid, "promoter_id": None,
                          "created_at": NOW})
        for chunk in _chunks(links):
            session.execute(insert(Link), chunk)
        link_rows = session.execute(select(Link.id, Link.group_id, Link.product_id)).all()
        taps = [{"link_id": lid, "created_at": NOW} for lid, _, _ in link_rows
                for _ in range(rng.randint(1, 3))]
        for chunk in _chunks(taps):
            session.execute(insert(Tap), chunk)
        orders = [{"order_id": f"o{n}", "link_id": lid, "group_id": gid, "product_id": pid,
                   "amount": 1000, "pool": 100, "currency": "CNY", "status": "confirmed",
                   "ordered_at": NOW, "created_at": NOW, "updated_at": NOW}
                  for n, (lid, gid, pid) in enumerate(rng.sample(link_rows, len(link_rows) // 10))]
        for chunk in _chunks(orders):
            session.execute(insert(Order), chunk)
        picks = [{"user_id": 10_000 + g, "product_id": rng.choice(pids), "created_at": NOW}
                 for g in range(0, groups, 5)]
        session.execute(insert(Pick), picks)
    print(f"history: {len(posts):,} posts, {len(links):,} links, {len(taps):,} taps, "
          f"{len(orders):,} orders, {len(picks):,} picks")


def measure(services: Services, rng: random.Random) -> None:
    """p50 for one group, then every group in one slot, with a breakdown of the parts."""
    posting = services.posting
    index = services.catalog.index()
    with services.db.transaction() as session:
        groups = list(session.scalars(select(Group)))
        sample = rng.sample(groups, 300)
        one = []
        for group in sample:
            start = time.perf_counter()
            ids = posting.candidates(session, group, limit=1)
            one.append(time.perf_counter() - start)
            assert ids
        parts = {"exclusion (_excluded)": [], "stats (_stats)": [], "rank only": []}
        for group in sample[:100]:
            t0 = time.perf_counter()
            excluded = posting._excluded(session, group.id)
            t1 = time.perf_counter()
            stats = posting._stats(session, group.id)
            t2 = time.perf_counter()
            rank_deals(index, now=NOW, categories=set(group.categories.split()) or None,
                       exclude=excluded, stats=stats, rng=rng, limit=1)
            t3 = time.perf_counter()
            parts["exclusion (_excluded)"].append(t1 - t0)
            parts["stats (_stats)"].append(t2 - t1)
            parts["rank only"].append(t3 - t2)
        pure = []
        for group in sample:
            start = time.perf_counter()
            rank_deals(index, now=NOW, categories=set(group.categories.split()) or None,
                       exclude=(), stats={}, rng=rng, limit=1)
            pure.append(time.perf_counter() - start)

        def ms(values: list[float], q: int = 50) -> str:
            return f"{statistics.quantiles(values, n=100)[q - 1] * 1000:8.3f} ms"

        print(f"one group, pure rank_deals (baseline): p50 {ms(pure)}  p95 {ms(pure, 95)}")
        print(f"one group, PostingService.candidates:  p50 {ms(one)}  p95 {ms(one, 95)}")
        for name, values in parts.items():
            print(f"    {name:30} p50 {ms(values)}")
        _compare_tap_queries(session, sample[:200])
        start = time.perf_counter()
        for group in groups:
            posting.candidates(session, group, limit=1)
        total = time.perf_counter() - start
        print(f"{len(groups):,} groups in one slot via candidates: {total:.2f} s "
              f"({total / len(groups) * 1000:.2f} ms per group)")
        start = time.perf_counter()
        for first in range(0, len(groups), 1000):  # as a planner would: 1000 due groups a batch
            choose_for_groups(session, groups[first:first + 1000], index=index, now=NOW,
                              repeat_window_days=services.config.schedule.repeat_window_days,
                              rng=rng)
        total = time.perf_counter() - start
        print(f"{len(groups):,} groups in one slot via choose_for_groups (batched queries): "
              f"{total:.2f} s ({total / len(groups) * 1000:.2f} ms per group)")


def _compare_tap_queries(session, groups) -> None:
    """The tap count of PostingService._stats (a join through taps) against the EXISTS form."""
    def joined(gid: int):
        return session.execute(
            select(Product.category, func.count(func.distinct(Link.id))).select_from(Tap)
            .join(Link, Link.id == Tap.link_id).join(Product, Product.id == Link.product_id)
            .where(Link.group_id == gid).group_by(Product.category)).all()

    def with_exists(gid: int):
        return session.execute(
            select(Product.category, func.count(Link.id)).join(Product, Product.id == Link.product_id)
            .where(Link.group_id == gid, exists().where(Tap.link_id == Link.id))
            .group_by(Product.category)).all()

    results = {}
    for query in (joined, with_exists):
        start = time.perf_counter()
        results[query.__name__] = [sorted(query(group.id)) for group in groups]
        per = (time.perf_counter() - start) / len(groups) * 1000
        print(f"    tap-count query, {query.__name__:12} {per:7.3f} ms per group")
    print(f"    same counts: {results['joined'] == results['with_exists']}")


def main() -> None:
    """Build the database, then measure."""
    args = sys.argv[1:]
    url = None
    if "--pg" in args:
        url = args[args.index("--pg") + 1]
        del args[args.index("--pg"):args.index("--pg") + 2]
    keep = None
    if "--keep" in args:  # reuse (or build once) a SQLite file, to profile without rebuilding
        keep = Path(args[args.index("--keep") + 1])
        del args[args.index("--keep"):args.index("--keep") + 2]
    groups = int(next((a for a in args if a.isdigit()), 10_000))
    with tempfile.TemporaryDirectory() as tmp:
        url = url or f"sqlite:///{keep or Path(tmp) / 'choose.db'}"
        services = Services(config=parse_config({"database": {"url": url}}, env={}),
                            db=Database.from_url(url), now=lambda: NOW, rng=random.Random(3))
        reuse = "--reuse" in args  # a PostgreSQL database that an earlier run populated
        if (keep is not None and keep.exists()) or reuse:
            measure(services, random.Random(11))
            return
        _fresh(url)
        feed = Path(tmp) / "feed.csv"
        generate_feed(feed, 100_000)
        start = time.perf_counter()
        with feed.open("rb") as stream:
            result = services.catalog.import_feed(stream, filename=feed.name)
        print(f"{url.split(':')[0]}: imported {result.created:,} products in "
              f"{time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        populate(services, groups, random.Random(5))
        print(f"populated {groups:,} groups in {time.perf_counter() - start:.1f} s")
        if not url.startswith("sqlite"):
            # Fresh bulk loads leave PostgreSQL without row estimates until autovacuum runs.
            with services.db.engine.connect() as conn:
                conn.execute(text("ANALYZE"))
        start = time.perf_counter()
        services.catalog.index()
        print(f"index of the active catalog built in {time.perf_counter() - start:.2f} s")
        measure(services, random.Random(11))


if __name__ == "__main__":
    main()
