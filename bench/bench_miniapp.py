"""The mini app's API and first render, at scale: search among 100,000 products, and the
dashboard of a promoter with 10,000 orders (goal: p50 ≤ 20 ms), then the first render of
the deal list in headless Chromium, offline (goal: ≤ 1 s).

The API is called over HTTP on the real uvicorn server, with signed initData. Baselines from
the same run: the SQL search behind /deals and inline mode (CatalogService.search) for the
same words, and the /commission service call alone, which the dashboard adds to.

Run: python bench/bench_miniapp.py [--products N] [--orders N] [--db URL] [--rounds N]
     (default: a new SQLite file; --db postgresql+psycopg://... for PostgreSQL, wiped first)
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TOKEN = "123456:BENCH-TOKEN-not-a-real-one"
PROMOTER = 7001
WORDS = ["保温杯", "耳机", "电饭煲", "背包", "面霜", "咖啡", "跑鞋", "台灯", "bluetooth", "steel"]
ADJECTIVES = ["智能", "便携", "大容量", "轻薄", "不锈钢", "无线", "家用", "户外", "pro", "mini"]


def feed(n: int, rng: random.Random) -> bytes:
    lines = ["merchant,sku,title,url,price,original_price,commission_rate,category,image_url,"
             "starts_at,ends_at,stock,featured,currency"]
    for i in range(n):
        word, adj = rng.choice(WORDS), rng.choice(ADJECTIVES)
        price = rng.randint(500, 50_000)
        original = price + rng.randint(0, price)
        lines.append(f"m{i % 50},S{i:06d},{adj} {word} 款{i},https://shop.example/p/{i},"
                     f"{price / 100:.2f},{original / 100:.2f},{rng.randint(2, 30)}%,c{i % 40},,,,"
                     f"{rng.choice(['', '50', '0'])},{'true' if i % 997 == 0 else ''},CNY")
    return ("\n".join(lines) + "\n").encode()


def load_orders(kocbot, n: int, rng: random.Random) -> None:  # type: ignore[no-untyped-def]
    """A promoter with a group, n links, n clicks and n orders with their ledger entries, on
    (at most) the first 1000 products of the catalog."""
    from sqlalchemy import select

    from bot.storage.models import Click, Group, LedgerEntry, Link, Order, Product, User

    now = kocbot.services.now()
    with kocbot.db.transaction() as session:
        products = list(session.scalars(select(Product.id).order_by(Product.id).limit(1000)))
    if not products:
        raise SystemExit("--products must be at least 1")
    with kocbot.db.transaction() as session:
        session.add(User(id=PROMOTER, first_name="Bench", registered_at=now - timedelta(days=90),
                         invite_code="benchinv", created_at=now - timedelta(days=90)))
        session.flush()
        session.add(Group(id=1, chat_id=-4242, title="Bench group", owner_id=PROMOTER, claimed=True,
                          timezone="Asia/Shanghai", times="09:00", created_at=now))
        session.flush()
        session.execute(Link.__table__.insert(), [
            {"id": i + 1, "code": f"bench{i:08d}", "user_id": PROMOTER,
             "product_id": products[i % len(products)], "group_id": 1,
             "promoter_id": PROMOTER, "created_at": now} for i in range(n)])
        session.execute(Click.__table__.insert(), [
            {"id": f"c{i:010d}", "link_id": i + 1, "created_at": now - timedelta(days=rng.random() * 60),
             "is_bot": False} for i in range(n)])
        states = ["pending", "confirmed", "confirmed", "confirmed"]
        orders, entries = [], []
        for i in range(n):
            state = states[i % 4]
            at = now - timedelta(days=rng.random() * 60)
            amount = rng.randint(1000, 30000)
            pool = amount // 10
            orders.append({"id": i + 1, "order_id": f"o{i}", "click_id": f"c{i:010d}", "link_id": i + 1,
                           "group_id": 1, "promoter_id": PROMOTER, "buyer_id": PROMOTER,
                           "product_id": products[i % len(products)], "amount": amount, "pool": pool,
                           "currency": "CNY",
                           "status": state, "ordered_at": at, "created_at": at, "updated_at": at})
            bucket = "pending" if state == "pending" else ("payable" if i % 3 else "confirmed")
            entries.append({"order_id": i + 1, "event": state, "party": "promoter", "user_id": PROMOTER,
                            "bucket": bucket, "amount": pool - pool // 10, "currency": "CNY",
                            "created_at": at})
            entries.append({"order_id": i + 1, "event": state, "party": "platform", "user_id": None,
                            "bucket": bucket, "amount": pool // 10, "currency": "CNY", "created_at": at})
        session.execute(Order.__table__.insert(), orders)
        session.execute(LedgerEntry.__table__.insert(), entries)


async def timed(fn: Callable[[], Awaitable[object]], rounds: int) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def line(name: str, p50: float, p99: float) -> None:
    print(f"  {name:<46} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms")


async def first_render(url: str, init_data: str, rounds: int) -> list[float] | str:
    """Seconds from navigation to the first deal card, in headless Chromium, offline."""
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        return "playwright is not installed"
    if not Path("/usr/bin/chromium").exists():
        return "Debian's chromium is not installed"
    from tests.miniapp.browser import ARGS, CHROMIUM, PHONE, STUB, _offline

    times = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(rounds):
            context = await browser.new_context(viewport=PHONE)  # a fresh cache each time
            await context.route("**/*", _offline)
            import json

            await context.add_init_script(STUB % json.dumps({
                "initData": init_data, "user": {"id": PROMOTER}, "theme": {}, "scheme": "light",
                "startParam": None}))
            page = await context.new_page()
            start = time.perf_counter()
            await page.goto(url, wait_until="commit")
            await page.wait_for_selector(".card")
            times.append(time.perf_counter() - start)
            await context.close()
        await browser.close()
    return times


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--db", default="")
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()

    import httpx
    from sqlalchemy import create_engine, text

    from bot.app import Kocbot
    from bot.config import parse_config
    from bot.domain.init_data import sign_init_data
    from bot.storage.db import upgrade
    from tests.conftest import free_port

    url = args.db or f"sqlite:///{tempfile.mkdtemp(prefix='bench-miniapp-')}/bench.db"
    if url.startswith("postgresql"):
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)
    port = free_port()
    config = parse_config({
        "telegram": {"token": TOKEN, "base_url": "http://127.0.0.1:9/bot"}, "database": {"url": url},
        "web": {"host": "127.0.0.1", "port": port, "public_url": f"http://127.0.0.1:{port}"},
        "card": {"locale": "zh_CN"}}, env={})
    now = datetime.now(UTC)
    kocbot = Kocbot(config, now=lambda: now, rate_limit=False)
    rng = random.Random(1)
    started = time.perf_counter()
    kocbot.services.catalog.import_feed(feed(args.products, rng), filename="bench.csv")
    load_orders(kocbot, args.orders, rng)
    if url.startswith("postgresql"):
        # A database in use has its statistics from autovacuum; one loaded a second ago may not
        # yet, and the planner then guesses. Both trees get the same statistics.
        with kocbot.db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    print(f"backend {kocbot.db.engine.dialect.name}: {args.products:,} products, {args.orders:,} orders "
          f"(generated in {time.perf_counter() - started:.1f} s)")
    await asyncio.to_thread(kocbot.services.browse.index)  # as after an import: built once, not timed
    await kocbot._start_web()  # the real uvicorn server, without the bot's polling
    try:
        init = "tma " + sign_init_data({"id": PROMOTER, "first_name": "Bench"}, bot_token=TOKEN,
                                       auth_date=int(now.timestamp()))
        base = config.web.public_url
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": init}, timeout=60) as client:
            words = iter(rng.choice(WORDS) for _ in range(10**7))

            async def search() -> None:
                response = await client.get("/app/api/deals", params={"q": next(words)})
                assert response.status_code == 200 and response.json()["deals"]

            async def rare() -> None:
                word = f"款{rng.randrange(args.products)}"
                response = await client.get("/app/api/deals", params={"q": word})
                assert response.status_code == 200

            async def filtered() -> None:
                response = await client.get("/app/api/deals", params={
                    "q": next(words), "category": f"c{rng.randrange(40)}", "min_price": "50",
                    "max_price": "200", "min_discount": "30"})
                assert response.status_code == 200

            async def sql_search() -> None:
                await asyncio.to_thread(kocbot.services.catalog.search, next(words), limit=20)

            async def dashboard() -> None:
                response = await client.get("/app/api/dashboard")
                assert response.status_code == 200 and response.json()["orders"] > 0

            async def commission() -> None:
                await asyncio.to_thread(kocbot.services.reports.commission, PROMOTER)

            def book_one() -> None:
                # A new ledger row and a new click for the promoter: nothing kept may answer.
                from bot.storage.models import Click, LedgerEntry

                with kocbot.db.transaction() as session:
                    session.execute(LedgerEntry.__table__.insert(), [{
                        "order_id": 1, "event": "pending", "party": "promoter", "user_id": PROMOTER,
                        "bucket": "pending", "amount": 1, "currency": "CNY", "created_at": now}])
                    session.execute(Click.__table__.insert(), [{
                        "id": f"n{time.perf_counter_ns()}", "link_id": 1, "created_at": now,
                        "is_bot": False}])

            async def dashboard_after_write() -> float:
                await asyncio.to_thread(book_one)  # not timed
                start = time.perf_counter()
                await dashboard()
                return time.perf_counter() - start

            async def searches_after_change() -> tuple[list[float], float]:
                # /feature in this process: searches keep answering from the old index while
                # the new one is built; time them, and how long until the change shows.
                sku = f"S{rng.randrange(args.products):06d}"
                old = kocbot.services.browse.index()
                await asyncio.to_thread(kocbot.services.catalog.set_featured, sku, True)
                changed_at, times = time.perf_counter(), []
                while kocbot.services.browse.index() is old:
                    start = time.perf_counter()
                    await search()
                    times.append(time.perf_counter() - start)
                return times, time.perf_counter() - changed_at

            print("API over HTTP (uvicorn), signed initData:")
            line("GET /app/api/deals?q=<common word>", *await timed(search, args.rounds))
            line("GET /app/api/deals?q=<word matching 1 product>", *await timed(rare, args.rounds))
            line("GET /app/api/deals (word+category+price+disc.)", *await timed(filtered, args.rounds))
            line("baseline: CatalogService.search (SQL LIKE)",
                 *await timed(sql_search, max(20, args.rounds // 5)))
            during, visible = [], []
            for _ in range(5):
                times, seconds = await searches_after_change()
                during += [t * 1000 for t in times]
                visible.append(seconds)
            during.sort()
            during = during or [0.0]  # every rebuild finished before a search could start
            line(f"GET /app/api/deals while /feature rebuilds ({len(during)})",
                 statistics.median(during), during[min(len(during) - 1, int(len(during) * 0.99))])
            print("  a /feature change shows in search after (5 runs):"
                  f" median {statistics.median(visible):.2f} s, max {max(visible):.2f} s")
            line(f"GET /app/api/dashboard ({args.orders:,} orders)", *await timed(dashboard, args.rounds))
            line("baseline: ReportService.commission alone", *await timed(commission, args.rounds))
            cold = sorted([await dashboard_after_write() * 1000 for _ in range(max(20, args.rounds // 4))])
            line("GET /app/api/dashboard, a new ledger row before each",
                 statistics.median(cold), cold[min(len(cold) - 1, int(len(cold) * 0.99))])
        renders = await first_render(base + "/app/", init[4:], rounds=5)
        if isinstance(renders, str):
            print(f"first render: skipped ({renders})")
        else:
            print("first render in headless Chromium, offline (navigation → first deal card):")
            print("  " + ", ".join(f"{s * 1000:.0f} ms" for s in renders)
                  + f"; median {statistics.median(renders) * 1000:.0f} ms")
    finally:
        if kocbot._server is not None:
            kocbot._server.should_exit = True
            await kocbot._server_task
        kocbot.db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
