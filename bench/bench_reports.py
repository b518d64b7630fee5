"""/commission and /report at scale: 1,000,000 orders and 5,000,000 clicks (and their
ledger) bulk-generated, then the service calls behind the two commands timed, p50 and p95,
on SQLite and on PostgreSQL. Generation time is printed but is not the figure.

Run: python bench/bench_reports.py [--orders N] [--clicks N] [--pg URL] [--sqlite FILE]
                                   [--sqlite-only | --pg-only] [--generate-only]
     python bench/bench_reports.py --measure-only URL [URL ...]   (time databases generated before)
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PROMOTERS, GROUPS, POSTS_PER_GROUP, MEMBERS, PRODUCTS = 2000, 1000, 10, 50_000, 100
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def upline_of(p: int) -> int | None:
    return p // 10 if p >= 10 else None


def tier_of(p: int) -> str:
    return "partner" if p < 10 else "mentor" if p < 200 else "promoter"


class Rows:
    """Every generated row, as tuples per table, built lazily so memory stays flat."""

    def __init__(self, orders: int, clicks: int, seed: int = 1) -> None:
        self.n_orders, self.n_clicks = orders, clicks
        self.n_links = min(500_000, max(orders, 10_000))
        self.rng = random.Random(seed)

    def when(self, days: float = 60) -> datetime:
        return NOW - timedelta(seconds=self.rng.random() * days * 86400)

    def users(self) -> Iterator[tuple]:
        for p in range(1, PROMOTERS + 1):
            yield (p, f"p{p}", None, "en", NOW - timedelta(days=90), upline_of(p), tier_of(p), f"inv{p:08d}",
                   NOW - timedelta(days=90))
        for m in range(100_000, 100_000 + MEMBERS):
            yield (m, f"m{m}", None, "en", None, None, "promoter", None, NOW - timedelta(days=90))

    def merchants(self) -> Iterator[tuple]:
        yield (1, "acme", "subid", "", NOW)

    def products(self) -> Iterator[tuple]:
        for i in range(1, PRODUCTS + 1):
            yield (i, 1, f"SKU{i}", f"Product {i}", f"https://shop.example/p/{i}", 3900, 5900, "CNY",
                   Decimal("0.10"), "home", "", None, None, None, False, True, NOW)

    def groups(self) -> Iterator[tuple]:
        for g in range(1, GROUPS + 1):
            yield (g, -1000 - g, f"Group {g}", g, g, None, True, True, False, "Asia/Shanghai", "09:00",
                   "", None, None, None, NOW - timedelta(days=90))

    def posts(self) -> Iterator[tuple]:
        for i in range(1, GROUPS * POSTS_PER_GROUP + 1):
            yield (i, f"post{i:011d}", (i - 1) // POSTS_PER_GROUP + 1, i % PRODUCTS + 1, f"s{i}",
                   NOW - timedelta(days=60), "sent", 0, 3900, None, None, NOW - timedelta(days=60),
                   NOW - timedelta(days=60))

    def link(self, i: int) -> tuple[int, int, int, int]:
        """(post, member, group, product) of link i+1; (member, post) pairs are unique."""
        post = i % (GROUPS * POSTS_PER_GROUP) + 1
        member = 100_000 + (i // (GROUPS * POSTS_PER_GROUP)) * 1000 + post % 1000
        group = (post - 1) // POSTS_PER_GROUP + 1
        return post, member, group, post % PRODUCTS + 1

    def links(self) -> Iterator[tuple]:
        for i in range(self.n_links):
            post, member, group, product = self.link(i)
            yield (i + 1, f"link{i:012d}", member, product, post, None, group, group,
                   NOW - timedelta(days=60))

    def clicks(self) -> Iterator[tuple]:
        r = self.rng.random
        for i in range(self.n_clicks):
            yield (f"c{i:015x}", int(r() * self.n_links) + 1, self.when(), r() < 0.1, None, "Mozilla/5.0",
                   None)

    def orders_and_ledger(self) -> Iterator[tuple[tuple, list[tuple]]]:
        r = self.rng.random
        entry = 0
        for i in range(1, self.n_orders + 1):
            link = int(r() * self.n_links)
            _post, member, group, product = self.link(link)
            amount = 1000 + int(r() * 50_000)
            pool = amount // 10
            x = r()
            status = ("pending" if x < 0.2 else "confirmed" if x < 0.9
                      else "cancelled" if x < 0.95 else "refunded")
            at = self.when()
            confirmed = at + timedelta(hours=1) if status in ("confirmed", "refunded") else None
            settled = confirmed if confirmed and confirmed < NOW - timedelta(days=15) else None
            order = (i, f"o{i:012d}", f"c{i:015x}", link + 1, group, group, member, product, amount, pool,
                     "CNY", status, at, confirmed, settled, at, at)
            bucket = {"pending": "pending", "confirmed": "payable" if settled else "confirmed"}.get(
                status, "reversed")
            platform = pool // 10
            shares = [("platform", None, platform)]
            mentor = upline_of(group)
            rest = pool - platform
            if mentor is not None:
                shares.append(("mentor", mentor, pool * 5 // 100))
                rest -= pool * 5 // 100
            shares.append(("promoter", group, rest))
            entries = []
            for party, user, amount_ in shares:
                entry += 1
                entries.append((entry, i, None, status, party, user, bucket, amount_, "CNY", at))
            yield order, entries


COLUMNS = {
    "users": "id, first_name, username, language_code, registered_at, upline_id, tier, invite_code, "
             "created_at",
    "merchants": "id, name, subid_param, url_template, created_at",
    "products": "id, merchant_id, sku, title, url, price, original_price, currency, commission_rate, "
                "category, image_url, starts_at, ends_at, stock, featured, active, updated_at",
    "groups": "id, chat_id, title, owner_id, added_by, claim_token, claimed, active, paused, timezone, "
              "times, categories, topic_id, next_slot_at, last_post_at, created_at",
    "posts": "id, code, group_id, product_id, slot, due_at, status, attempts, price, message_id, error, "
             "created_at, sent_at",
    "links": "id, code, user_id, product_id, post_id, share_id, group_id, promoter_id, created_at",
    "clicks": "id, link_id, created_at, is_bot, ip_hash, user_agent, referrer",
    "orders": "id, order_id, click_id, link_id, group_id, promoter_id, buyer_id, product_id, amount, pool, "
              "currency, status, ordered_at, confirmed_at, settled_at, created_at, updated_at",
    "ledger_entries": "id, order_id, payout_id, event, party, user_id, bucket, amount, currency, created_at",
}


def batched(rows: Iterator[tuple], size: int = 50_000) -> Iterator[list[tuple]]:
    batch: list[tuple] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class Phases:
    """Prints how long each generation step took (not the figure)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.started = time.perf_counter()

    def done(self, what: str) -> None:
        now = time.perf_counter()
        print(f"  {self.name:<10} {what:<44} {now - self.started:6.0f} s", flush=True)
        self.started = now


def put_all(rows: Rows, put: Callable[[str, Iterator[tuple]], None],
            done: Callable[[str], None]) -> None:
    """Every table's rows through ``put``, in foreign-key order; the ledger entries are
    collected while the orders stream and go in after them."""
    for table in ("users", "merchants", "products", "groups", "posts", "links", "clicks"):
        put(table, getattr(rows, table)())
        done(table)
    ledger: list[tuple] = []

    def orders() -> Iterator[tuple]:
        for order, entries in rows.orders_and_ledger():
            ledger.extend(entries)
            yield order

    put("orders", orders())
    put("ledger_entries", iter(ledger))


def load_sqlite(url: str, rows: Rows) -> None:
    """Bulk insert with the raw sqlite3 driver; datetimes in SQLAlchemy's SQLite text format.

    While generating only: write-ahead log with synchronous=OFF, a large page cache, one
    transaction per table, and each table's secondary indexes dropped before its rows go in
    and rebuilt from their own definitions after. The bot's connections set their pragmas
    (WAL, NORMAL) again.
    """
    import sqlite3

    def text_of(value: object) -> object:
        if isinstance(value, datetime):  # all generated times are UTC
            return value.replace(tzinfo=None).isoformat(" ", "microseconds")
        if isinstance(value, Decimal):
            return str(value)
        return value

    phases = Phases("sqlite")
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-1000000")  # 1 GB
    conn.execute("PRAGMA foreign_keys=OFF")

    def put(table: str, source: Iterator[tuple]) -> None:
        indexes = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
                               " AND sql IS NOT NULL", (table,)).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        marks = ", ".join("?" * len(COLUMNS[table].split(",")))
        for batch in batched(source):
            conn.executemany(f"INSERT INTO {table} ({COLUMNS[table]}) VALUES ({marks})",  # noqa: S608
                             [tuple(map(text_of, row)) for row in batch])
        for _, sql in indexes:
            conn.execute(sql)
        conn.commit()

    put_all(rows, put, lambda table: phases.done(f"{table} generated and inserted"))
    phases.done("orders and ledger generated and inserted")
    conn.close()


def unreachable(url: str) -> str:
    """Why the PostgreSQL database at ``url`` cannot be used, in one line ("" if it can)."""
    import psycopg

    try:
        psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        return (str(exc).strip().splitlines() or ["cannot connect"])[-1].strip()
    return ""


def load_postgres(url: str, rows: Rows) -> None:
    """Bulk load with COPY."""
    import psycopg

    phases = Phases("postgres")
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as conn:
        conn.execute("SET session_replication_role = replica")  # skip FK triggers while loading
        conn.execute("SET maintenance_work_mem = '512MB'")  # index rebuilds sort in memory

        def put(table: str, source: Iterator[tuple]) -> None:
            # Secondary indexes are dropped before the rows go in and rebuilt from their own
            # definitions after (constraints' indexes stay).
            indexes = conn.execute(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s"
                " AND i.schemaname = current_schema() AND NOT EXISTS (SELECT 1 FROM pg_constraint c"
                " WHERE c.conname = i.indexname)", (table,)).fetchall()
            for name, _ in indexes:
                conn.execute(f'DROP INDEX "{name}"')
            with conn.cursor() as cur, cur.copy(f"COPY {table} ({COLUMNS[table]}) FROM STDIN") as copy:
                for row in source:
                    copy.write_row(row)
            for _, sql in indexes:
                conn.execute(sql)

        put_all(rows, put, lambda table: phases.done(f"{table} generated and copied"))
        for table in ("users", "groups", "posts", "links", "orders", "ledger_entries", "payouts"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                         f"(SELECT COALESCE(MAX(id), 1) FROM {table}))")
        conn.commit()
        phases.done("orders and ledger generated and copied")


def timed(call: Callable[[], object], runs: list[object]) -> tuple[float, float]:
    """p50 and p95 in ms of ``call`` over ``runs`` argument values (after one warm-up)."""
    call_with = call
    call_with(runs[0])  # type: ignore[call-arg]
    samples = []
    for arg in runs:
        t = time.perf_counter()
        call_with(arg)  # type: ignore[call-arg]
        samples.append((time.perf_counter() - t) * 1000)
    samples.sort()
    return statistics.median(samples), samples[math.ceil(len(samples) * 0.95) - 1]


def measure(url: str, name: str) -> None:
    from sqlalchemy import func, select

    from bot.config import parse_config
    from bot.services.container import Services
    from bot.storage.db import Database
    from bot.storage.models import StatsDay, StatsSlice
    from bot.tg.group import report_text

    config = parse_config({"telegram": {"token": "1:B"}, "database": {"url": url}}, env={})
    clock = [NOW]
    services = Services(config=config, db=Database.from_url(url), now=lambda: clock[0])
    rng = random.Random(5)
    promoters = rng.sample(range(200, GROUPS + 1), 20)
    heavy = list(range(1, 10)) + rng.sample(range(10, 200), 11)  # partners and mentors: overrides
    groups = [-1000 - g for g in rng.sample(range(1, GROUPS + 1), 20)]
    r = services.reports
    figures = {
        "/commission (promoter)": timed(r.commission, promoters),
        "/commission (mentor/partner)": timed(r.commission, heavy),
        "/report 30d (service)": timed(lambda c: r.group_report(c, timedelta(days=30)), groups),
        "/report all (service)": timed(lambda c: r.group_report(c, None), groups),
        "/report 30d + table text": timed(
            lambda c: report_text(r.group_report(c, timedelta(days=30)), "en", "CNY", "30d"), groups),
    }
    # /stats from the rollups against the full scan it replaced, in the same run, and equal to
    # it to the cent. The window starts at five past a 10-minute slice (the most rows /stats
    # scans: five minutes' worth), then at random moments of a day.
    worst = NOW - timedelta(minutes=5)
    moments = [NOW - timedelta(seconds=rng.uniform(0, 86400)) for _ in range(20)]

    def at(when: datetime, call: Callable[[], object]) -> object:
        clock[0] = when
        return call()

    for label, window in (("7d", timedelta(days=7)), ("30d", timedelta(days=30)), ("all", None)):
        figures[f"/stats {label} full scan (before)"] = timed(
            lambda t, w=window: at(t, lambda: r.stats_scan(w)), [worst, worst])
        figures[f"/stats {label} rollups, :05 start"] = timed(
            lambda t, w=window: at(t, lambda: r.stats(w)), [worst] * 20)
        figures[f"/stats {label} rollups, any start"] = timed(
            lambda t, w=window: at(t, lambda: r.stats(w)), moments)
        for when in (worst, *moments[:3]):
            assert at(when, lambda w=window: r.stats(w)) == r.stats_scan(window), \
                f"/stats {label} at {when}: rollups differ from the scan"
    clock[0] = NOW
    with services.db.transaction() as session:
        rollup_rows = [session.scalar(select(func.count()).select_from(m)) for m in (StatsDay, StatsSlice)]
    print(f"  {name:<10} /stats equals the full scan (7d, 30d, all; 4 moments each); rollup rows: "
          f"{rollup_rows[0]:,} days, {rollup_rows[1]:,} 10-minute slices")
    sample = r.group_report(groups[0], None)
    earned = r.commission(promoters[0])
    print(f"  {name:<10} sanity: one group {sample.total_clicks:,} clicks, {sample.total_orders:,} orders, "
          f"{len(sample.rows)} members; one promoter {earned.clicks:,} clicks, {earned.orders:,} orders")
    for label, (p50, p95) in figures.items():
        print(f"  {name:<10} {label:<34} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms")
    services.db.dispose()


def generate(name: str, url: str, orders: int, clicks: int) -> None:
    """Wipe ``url``, load the rows into the schema from before the rollups, then let migration
    0008 backfill them, as an existing deployment would (the bulk load bypasses triggers on
    PostgreSQL). The measurement checks the backfilled rollups against the full scan."""
    from bot.storage.db import upgrade

    if name == "postgres":
        from sqlalchemy import create_engine, text

        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    else:
        path = Path(url.removeprefix("sqlite:///"))
        for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            stale.unlink(missing_ok=True)
    upgrade(url, "0007")
    (load_sqlite if name == "sqlite" else load_postgres)(url, Rows(orders, clicks))
    phases = Phases(name)
    upgrade(url)
    phases.done("migrations 0008+ (rollup backfill, indexes)")
    # Statistics, and on PostgreSQL the visibility map that lets the covering indexes answer
    # without heap reads: what autovacuum and the planner's statistics give in steady state.
    if name == "postgres":
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
    else:
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute("ANALYZE")
    phases.done("VACUUM ANALYZE" if name == "postgres" else "ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Generate, then time, /commission, /report and /stats at scale. For figures: "
                    "--generate-only under a shared lock, then --measure-only under an exclusive one.")
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--clicks", type=int, default=5_000_000)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/kocbot_bench_rollups")
    parser.add_argument("--sqlite", metavar="FILE", help="SQLite file to (re)generate (default: a temp file)")
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--pg-only", action="store_true")
    parser.add_argument("--generate-only", action="store_true", help="generate, do not time")
    parser.add_argument("--measure-only", metavar="URL", nargs="+", help="time databases generated before")
    args = parser.parse_args()
    if args.measure_only:
        print(f"bench_reports {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, measuring only")
        for url in args.measure_only:
            measure(url, "postgres" if url.startswith("postgresql") else "sqlite")
        return

    print(f"bench_reports {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: {args.orders:,} orders, "
          f"{args.clicks:,} clicks, {GROUPS} groups, {PROMOTERS} promoters, {MEMBERS:,} members")
    targets = []
    if not args.pg_only:
        sqlite_file = args.sqlite or str(Path(tempfile.mkdtemp(prefix="kocbot-rep-")) / "bench.db")
        targets.append(("sqlite", f"sqlite:///{sqlite_file}"))
    if not args.sqlite_only:
        reason = unreachable(args.pg)
        if reason:  # said before minutes of SQLite generation, not after
            parser.error(f"--pg {args.pg}: {reason} (create it first, e.g. `createdb -h 127.0.0.1 "
                         f"-U postgres {args.pg.rsplit('/', 1)[-1]}`, or pass --sqlite-only)")
        targets.append(("postgres", args.pg))
    for name, url in targets:
        generate(name, url, args.orders, args.clicks)
    if args.generate_only:
        print("  generated; time them with: --measure-only " + " ".join(url for _, url in targets))
        return
    for name, url in targets:
        measure(url, name)


if __name__ == "__main__":
    main()
