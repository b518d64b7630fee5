"""Click redirects on loopback: kocbot's ``GET /c/<code>`` against a bare Starlette endpoint
answering a fixed 302, both served by uvicorn with the same settings, both driven by the
same load generator running in OTHER processes (raw asyncio sockets, HTTP/1.1 keep-alive).

Run: python bench/bench_clicks.py [--seconds 8] [--rounds 3] [--connections 64] [--procs 1] [--db URL]
Prints requests/s, p50/p99 latency, the ratio, and clicks recorded vs requests sent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

GENERATOR = r'''
import asyncio, json, sys, time
host, port, seconds, conns = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
paths = sys.argv[5].split(",")
UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) bench"
lat, statuses = [], {}

async def one(i):
    reader, writer = await asyncio.open_connection(host, port)
    n = 0
    end = start + seconds
    while time.perf_counter() < end:
        path = paths[(i + n) % len(paths)]
        n += 1
        t = time.perf_counter()
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {UA}\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        if length:
            await reader.readexactly(length)
        lat.append(time.perf_counter() - t)
        statuses[status] = statuses.get(status, 0) + 1
    writer.close()

async def main():
    global start
    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(conns)))
    print(json.dumps({"elapsed": time.perf_counter() - start, "lat": lat, "statuses": statuses}))

asyncio.run(main())
'''


def run_generators(port: int, paths: list[str], seconds: float, conns: int, procs: int) -> dict:
    """Start ``procs`` generator processes; merge their figures."""
    children = [subprocess.Popen(
        [sys.executable, "-c", GENERATOR, "127.0.0.1", str(port), str(seconds),
         str(max(1, conns // procs)), ",".join(paths)], stdout=subprocess.PIPE) for _ in range(procs)]
    results = [json.loads(c.communicate()[0]) for c in children]
    lat = sorted(x for r in results for x in r["lat"])
    statuses: dict[str, int] = {}
    for r in results:
        for k, v in r["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    elapsed = max(r["elapsed"] for r in results)
    return {"sent": len(lat), "rps": len(lat) / elapsed, "p50": lat[len(lat) // 2] * 1000,
            "p99": lat[int(len(lat) * 0.99)] * 1000, "statuses": statuses}


async def serve(app, port: int, work) -> dict:
    """Run ``app`` on uvicorn while ``work`` (a blocking call) runs in a thread."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        return await asyncio.to_thread(work)
    finally:
        server.should_exit = True
        await task


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_world(kocbot, links: int) -> list[str]:  # type: ignore[no-untyped-def]
    """A product, a group, a sent post and ``links`` members' links; returns the link codes."""
    from bot.domain.links import new_code
    from bot.services.promoters import Person
    from bot.storage.models import Group, Post

    s = kocbot.services
    feed = (b"merchant,sku,title,url,price,original_price,commission_rate,currency\n"
            b"acme,SKU1,Thermos,https://shop.example/p/1?ref=tg,39.00,59.00,10%,CNY\n")
    s.catalog.import_feed(feed, filename="feed.csv")
    s.promoters.register(Person(id=1, first_name="Owner"))
    with s.db.transaction() as session:
        group = Group(chat_id=-1, title="Bench", owner_id=1, added_by=1, claimed=True, active=True,
                      paused=False, timezone="UTC", times="09:00", categories="",
                      created_at=s.now())
        session.add(group)
        session.flush()
        post = Post(code=new_code(), group_id=group.id, product_id=1, slot="bench", due_at=s.now(),
                    status="sent", price=3900, created_at=s.now(), sent_at=s.now())
        session.add(post)
        session.flush()
        post_code = post.code
    return [s.tracking.tap_post(post_code=post_code, person=Person(id=1000 + i, first_name="m"),
                                promoters=s.promoters).code for i in range(links)]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--procs", type=int, default=1)
    parser.add_argument("--links", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--db", default="", help="database URL (default: a fresh SQLite file)")
    args = parser.parse_args()

    from sqlalchemy import func, select
    from starlette.applications import Starlette
    from starlette.responses import RedirectResponse
    from starlette.routing import Route

    from bot.app import Kocbot
    from bot.commands import tune_gc
    from bot.config import parse_config
    from bot.storage.db import upgrade
    from bot.storage.models import Click

    tmp = Path(tempfile.mkdtemp(prefix="kocbot-bench-"))
    url = args.db or f"sqlite:///{tmp / 'bench.db'}"
    upgrade(url)
    port = free_port()
    config = parse_config({"telegram": {"token": "1:BENCH"}, "database": {"url": url},
                           "web": {"port": port, "public_url": f"http://127.0.0.1:{port}"}}, env={})
    kocbot = Kocbot(config, rng=random.Random(1), cards_dir=tmp / "cards", cache_dir=tmp / "cache")
    codes = build_world(kocbot, args.links)
    # The process is set up as `kocbot run` sets up its own (bot/commands.py): startup objects
    # frozen out of the cycle collector, young collections rarer. Bare and kocbot rounds share it.
    tune_gc()
    with kocbot.db.transaction() as session:
        before = session.scalar(select(func.count()).select_from(Click))
    paths = [f"/c/{c}" for c in codes]

    async def bare_302(_request):
        return RedirectResponse("https://shop.example/p/1?ref=tg&subid=0123456789abcdef", status_code=302)

    bare = Starlette(routes=[Route("/c/{code}", bare_302)])
    work = lambda p: lambda: run_generators(p, paths, args.seconds, args.connections, args.procs)  # noqa: E731

    print(f"bench_clicks {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  db={url.split(':')[0]}  "
          f"{args.connections} connections, {args.procs} generator process(es), {args.seconds:.0f} s each")
    # Rounds alternate bare and kocbot, so drift in a shared machine hits both alike.
    kocbot.clicks.start()
    bares, ours_all = [], []
    for _ in range(args.rounds):
        base_port = free_port()
        bares.append(await serve(bare, base_port, work(base_port)))
        ours_all.append(await serve(kocbot.web, port, work(port)))
    started = time.perf_counter()
    await kocbot.clicks.stop()  # the graceful-shutdown flush
    flush_s = time.perf_counter() - started
    with kocbot.db.transaction() as session:
        recorded = session.scalar(select(func.count()).select_from(Click)) - before
    kocbot.db.dispose()

    for i, (b, o) in enumerate(zip(bares, ours_all, strict=True), 1):
        for name, r in (("bare Starlette 302", b), ("kocbot /c/<code>", o)):
            print(f"  round {i} {name:<20} {r['rps']:>7.0f} req/s   p50 {r['p50']:6.2f} ms   "
                  f"p99 {r['p99']:6.2f} ms   statuses {r['statuses']}")
        print(f"  round {i} ratio {o['rps'] / b['rps']:.2f}")
    med = lambda rs, k: statistics.median(r[k] for r in rs)  # noqa: E731
    print(f"  median: bare {med(bares, 'rps'):.0f} req/s (p99 {med(bares, 'p99'):.1f} ms), kocbot "
          f"{med(ours_all, 'rps'):.0f} req/s (p99 {med(ours_all, 'p99'):.1f} ms)")
    print(f"  ratio kocbot/bare (median of rounds): "
          f"{statistics.median(o['rps'] / b['rps'] for b, o in zip(bares, ours_all, strict=True)):.2f}"
          f" (goal >= 0.8, p99 <= 2x bare)")
    sent = sum(r["sent"] for r in ours_all)
    print(f"  clicks recorded {recorded} / requests sent {sent} "
          f"({'exact' if recorded == sent else 'MISMATCH'}); shutdown flush {flush_s:.2f} s")


if __name__ == "__main__":
    asyncio.run(main())
