"""Click redirects on loopback: kocbot's ``GET /c/<code>`` against a bare Starlette endpoint
answering a fixed 302, both served by uvicorn with the same settings, both driven by the
same load generator running in OTHER processes (raw asyncio sockets, HTTP/1.1 keep-alive).

Run: python bench/bench_clicks.py [--seconds 8] [--rounds 3] [--connections 64] [--procs 1]
                                  [--db URL] [--web-procs N] [--click-writer process|thread]
Prints requests/s, p50/p99 latency, the ratio, the CPU each server thread, the click writer
process (``[web] click_writer = "process"``, the default here) and the load generator spent per
request, and clicks recorded vs requests sent.

``--db URL`` wipes the database (its ``public`` schema) and migrates it first. ``--web-procs N``
(PostgreSQL) serves kocbot from N real ``python -m bot run --role web`` processes, each with its
own config file, against N bare Starlette processes with the same uvicorn settings
(``bot.app.web_server_config``); the generator spreads its connections over the N ports. A
Telegram Bot API emulator in this process answers the web processes' start-up ``getMe``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
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
host, seconds, conns = sys.argv[1], float(sys.argv[3]), int(sys.argv[4])
ports = [int(p) for p in sys.argv[2].split(",")]
paths = sys.argv[5].split(",")
UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) bench"
lat, statuses = [], {}

async def one(i):
    reader, writer = await asyncio.open_connection(host, ports[i % len(ports)])
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
    print(json.dumps({"elapsed": time.perf_counter() - start, "lat": lat, "statuses": statuses,
                      "cpu": time.process_time()}))

asyncio.run(main())
'''


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def stat_fields(path: Path) -> list[str] | None:
    """The fields of a /proc ``stat`` file after the command name (None: the task is gone)."""
    try:
        stat = path.read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat[stat.rindex(")") + 2:].split()


def cpu_seconds(fields: list[str]) -> float:
    """User + system CPU seconds from ``stat_fields``."""
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) each thread of process ``pid`` has used so far."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        if (fields := stat_fields(task / "stat")) is not None:
            out[int(task.name)] = cpu_seconds(fields)
    return out


def machine_busy() -> float:
    """CPU seconds all cores of the machine have been busy so far (/proc/stat): the servers,
    the generator, the database server and anything else running."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    return (sum(fields) - fields[3] - fields[4]) / CLOCK_TICKS  # less idle and iowait


def children_cpu(pids: list[int]) -> dict[int, float]:
    """CPU seconds each child process of ``pids`` has used so far (the click writer process
    of ``[web] click_writer = "process"``)."""
    out = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and (fields := stat_fields(proc / "stat")) is not None \
                and int(fields[1]) in pids:
            out[int(proc.name)] = cpu_seconds(fields)
    return out


def cpu_split(pids: list[int], before: dict[int, dict[int, float]]) -> dict[str, float]:
    """CPU seconds since ``before`` of the servers' event-loop threads (each process's main
    thread) and of all their other threads (click writer, link lookups, asyncio's pool)."""
    loop = other = 0.0
    for pid in pids:
        for tid, used in thread_cpu(pid).items():
            spent = used - before[pid].get(tid, 0.0)
            if tid == pid:
                loop += spent
            else:
                other += spent
    return {"loop": loop, "other": other}


def run_generators(ports: list[int], paths: list[str], seconds: float, conns: int, procs: int,
                   servers: list[int]) -> dict:
    """Start ``procs`` generator processes against ``ports``; merge their figures, with the
    CPU the ``servers`` processes' threads spent while the generators ran."""
    before = {pid: thread_cpu(pid) for pid in servers}
    kids_before = children_cpu(servers)
    busy = machine_busy()
    children = [subprocess.Popen(
        [sys.executable, "-c", GENERATOR, "127.0.0.1", ",".join(map(str, ports)), str(seconds),
         str(max(1, conns // procs)), ",".join(paths)], stdout=subprocess.PIPE) for _ in range(procs)]
    results = [json.loads(c.communicate()[0]) for c in children]
    cpu = cpu_split(servers, before)
    kids = sum(used - kids_before.get(pid, 0.0) for pid, used in children_cpu(servers).items())
    busy = machine_busy() - busy
    lat = sorted(x for r in results for x in r["lat"])
    statuses: dict[str, int] = {}
    for r in results:
        for k, v in r["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    elapsed = max(r["elapsed"] for r in results)
    return {"sent": len(lat), "rps": len(lat) / elapsed, "p50": lat[len(lat) // 2] * 1000,
            "p99": lat[int(len(lat) * 0.99)] * 1000, "statuses": statuses,
            "cpu_loop": cpu["loop"] / len(lat) * 1e6, "cpu_other": cpu["other"] / len(lat) * 1e6,
            "cpu_child": kids / len(lat) * 1e6,
            "cpu_gen": sum(r["cpu"] for r in results) / len(lat) * 1e6,
            "cpu_machine": busy / len(lat) * 1e6}


async def serve(app, port: int, work) -> dict:
    """Run ``app`` on uvicorn while ``work`` (a blocking call) runs in a thread."""
    import uvicorn

    server = uvicorn.Server(web_server_config(app, "127.0.0.1", port))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        return await asyncio.to_thread(work)
    finally:
        server.should_exit = True
        await task


def web_server_config(app, host: str, port: int):  # type: ignore[no-untyped-def]
    """kocbot's own uvicorn settings (bot/app.py), for the bare baseline as for kocbot. A tree
    from before the function existed (a before/after run) gets the settings it then had."""
    try:
        from bot.app import web_server_config as product_config
    except ImportError:
        import uvicorn

        return uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off",
                              access_log=False)
    return product_config(app, host, port)


def bare_app():  # type: ignore[no-untyped-def]
    """The baseline: a Starlette app answering every /c/<code> with a fixed 302."""
    from starlette.applications import Starlette
    from starlette.responses import RedirectResponse
    from starlette.routing import Route

    async def bare_302(_request):  # type: ignore[no-untyped-def]
        return RedirectResponse("https://shop.example/p/1?ref=tg&subid=0123456789abcdef", status_code=302)

    return Starlette(routes=[Route("/c/{code}", bare_302)])


BARE = r'''
import asyncio, sys
sys.path.insert(0, sys.argv[2])
import uvicorn
from bench.bench_clicks import bare_app, web_server_config
from bot.commands import tune_gc

tune_gc()  # as `kocbot run` sets its process up
asyncio.run(uvicorn.Server(web_server_config(bare_app(), "127.0.0.1", int(sys.argv[1]))).serve())
'''


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
    parser.add_argument("--procs", type=int, default=1, help="load generator processes")
    parser.add_argument("--links", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--db", default="",
                        help="database URL, wiped and migrated first (default: a fresh SQLite file)")
    parser.add_argument("--click-writer", choices=("process", "thread"), default="process",
                        help='kocbot\'s [web] click_writer (default "process", what a `--role web` '
                             'process runs)')
    parser.add_argument("--web-procs", type=int, default=0,
                        help="serve from N `python -m bot run --role web` processes (PostgreSQL)")
    args = parser.parse_args()
    if args.web_procs and not args.db.startswith("postgresql"):
        parser.error("--web-procs needs --db postgresql+psycopg://...: SQLite is one process")

    from sqlalchemy import func, select

    from bot.app import Kocbot
    from bot.config import parse_config
    from bot.storage.db import upgrade
    from bot.storage.models import Click
    from tests.support.databases import fresh_postgres

    tmp = Path(tempfile.mkdtemp(prefix="kocbot-bench-"))
    url = args.db or f"sqlite:///{tmp / 'bench.db'}"
    if url.startswith("sqlite"):
        upgrade(url)
    else:
        fresh_postgres(url)  # its public schema emptied and migrated
    port = free_port()
    web = {"port": port, "public_url": f"http://127.0.0.1:{port}"}
    if args.click_writer == "process":  # a tree from before the key knows only the thread
        web["click_writer"] = "process"
    config = parse_config({"telegram": {"token": "1:BENCH"}, "database": {"url": url}, "web": web},
                         env={})
    kocbot = Kocbot(config, rng=random.Random(1), cards_dir=tmp / "cards", cache_dir=tmp / "cache")
    codes = build_world(kocbot, args.links)
    with kocbot.db.transaction() as session:
        before = session.scalar(select(func.count()).select_from(Click))
    paths = [f"/c/{c}" for c in codes]

    mode = (f"{args.web_procs} `bot run --role web` process(es) against {args.web_procs} bare one(s)"
            if args.web_procs else "one process, bare and kocbot alternating in it")
    print(f"bench_clicks {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  db={url.split(':')[0]}  "
          f"{args.connections} connections, {args.procs} generator process(es), {args.seconds:.0f} s each; "
          f"{mode}; click writer: {args.click_writer}")
    if args.web_procs:
        kocbot.db.dispose()
        bares, ours_all, flush_s = await in_processes(args, url, tmp, paths)
    else:
        bares, ours_all, flush_s = await in_this_process(args, kocbot, port, paths)
    with kocbot.db.transaction() as session:
        recorded = session.scalar(select(func.count()).select_from(Click)) - before
    kocbot.db.dispose()

    for i, (b, o) in enumerate(zip(bares, ours_all, strict=True), 1):
        for name, r in (("bare Starlette 302", b), ("kocbot /c/<code>", o)):
            print(f"  round {i} {name:<20} {r['rps']:>7.0f} req/s   p50 {r['p50']:6.2f} ms   "
                  f"p99 {r['p99']:6.2f} ms   statuses {r['statuses']}")
            print(f"  round {i} {'':<20} CPU per request: loop thread {r['cpu_loop']:5.1f} µs, "
                  f"other threads {r['cpu_other']:5.1f} µs, writer process {r['cpu_child']:5.1f} µs, "
                  f"load generator {r['cpu_gen']:5.1f} µs, "
                  f"whole machine {r['cpu_machine']:5.1f} µs")
        print(f"  round {i} ratio {o['rps'] / b['rps']:.2f}   p99 {o['p99'] / b['p99']:.1f}x")
    med = lambda rs, k: statistics.median(r[k] for r in rs)  # noqa: E731
    print(f"  median: bare {med(bares, 'rps'):.0f} req/s (p99 {med(bares, 'p99'):.1f} ms), kocbot "
          f"{med(ours_all, 'rps'):.0f} req/s (p99 {med(ours_all, 'p99'):.1f} ms)")
    cols = ("cpu_loop", "cpu_other", "cpu_child", "cpu_gen", "cpu_machine")
    print("  median CPU per request, µs (loop / other threads / writer process / generator / "
          "whole machine): bare " + " / ".join(f"{med(bares, c):.1f}" for c in cols)
          + ", kocbot " + " / ".join(f"{med(ours_all, c):.1f}" for c in cols))
    print(f"  ratio kocbot/bare (median of rounds): "
          f"{statistics.median(o['rps'] / b['rps'] for b, o in zip(bares, ours_all, strict=True)):.2f}"
          f"   p99 kocbot/bare (median of rounds): "
          f"{statistics.median(o['p99'] / b['p99'] for b, o in zip(bares, ours_all, strict=True)):.1f}x"
          f" (goal >= 0.8, p99 <= 2x bare)")
    sent = sum(r["sent"] for r in ours_all)
    print(f"  clicks recorded {recorded} / requests sent {sent} "
          f"({'exact' if recorded == sent else 'MISMATCH'}); shutdown flush {flush_s:.2f} s")


async def in_this_process(args: argparse.Namespace, kocbot, port: int,  # type: ignore[no-untyped-def]
                          paths: list[str]) -> tuple[list[dict], list[dict], float]:
    """Bare and kocbot served in turn by uvicorn in this process; the click writer flushes
    at the end as at a graceful shutdown."""
    from bot.commands import tune_gc

    bare = bare_app()
    # The process is set up as `kocbot run` sets up its own (bot/commands.py): startup objects
    # frozen out of the cycle collector, young collections rarer. Bare and kocbot rounds share it.
    tune_gc()
    me = [os.getpid()]
    work = lambda p: lambda: run_generators([p], paths, args.seconds, args.connections, args.procs, me)  # noqa: E731
    # Rounds alternate bare and kocbot, so drift in a shared machine hits both alike.
    if getattr(kocbot, "click_writer", None) is not None:
        await kocbot.click_writer.start()  # as `kocbot run` starts it
    kocbot.clicks.start()
    bares, ours_all = [], []
    for _ in range(args.rounds):
        base_port = free_port()
        bares.append(await serve(bare, base_port, work(base_port)))
        ours_all.append(await serve(kocbot.web, port, work(port)))
    started = time.perf_counter()
    await kocbot.clicks.stop()  # the graceful-shutdown flush
    if getattr(kocbot, "click_writer", None) is not None:
        await kocbot.click_writer.close()
    return bares, ours_all, time.perf_counter() - started


async def in_processes(args: argparse.Namespace, url: str, tmp: Path,
                       paths: list[str]) -> tuple[list[dict], list[dict], float]:
    """N real `kocbot run --role web` processes against N bare Starlette processes; the web
    processes get SIGTERM at the end and flush their clicks as in production."""
    import httpx

    from bot.emulator import Emulator

    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": root}
    n = args.web_procs
    async with Emulator(token="1:BENCH", bot_username="bench_bot") as emu:  # noqa: S106
        ours_ports, bare_ports = [free_port() for _ in range(n)], [free_port() for _ in range(n)]
        ours, bare = [], []
        for i, p in enumerate(ours_ports):
            cfg = tmp / f"web{i}.toml"
            cfg.write_text(f'[telegram]\ntoken = "{emu.token}"\nbase_url = "{emu.base_url}"\n'
                           f'[database]\nurl = "{url}"\n[web]\nhost = "127.0.0.1"\nport = {p}\n'
                           f'public_url = "http://127.0.0.1:{p}"\n'
                           + ('click_writer = "thread"\n' if args.click_writer == "thread" else "")
                           + '[metrics]\nport = 0\n')
            command = [sys.executable, "-m", "bot", "run", "--role", "web", "-c", str(cfg)]
            ours.append(subprocess.Popen(command, env=env, cwd=tmp, stdout=subprocess.DEVNULL,
                                         stderr=(tmp / f"web{i}.log").open("w")))
        bare = [subprocess.Popen([sys.executable, "-c", BARE, str(p), root], env=env, cwd=tmp)
                for p in bare_ports]
        try:
            async with httpx.AsyncClient() as http:
                for p, probe in [(p, "/healthz") for p in ours_ports] + [(p, "/c/x") for p in bare_ports]:
                    for _ in range(300):
                        try:
                            if (await http.get(f"http://127.0.0.1:{p}{probe}")).status_code in (200, 302):
                                break
                        except httpx.TransportError:
                            pass
                        await asyncio.sleep(0.1)
                    else:
                        raise SystemExit(f"server on port {p} did not start; see {tmp}")
            bares, ours_all = [], []
            for _ in range(args.rounds):
                bares.append(await asyncio.to_thread(
                    run_generators, bare_ports, paths, args.seconds, args.connections, args.procs,
                    [c.pid for c in bare]))
                ours_all.append(await asyncio.to_thread(
                    run_generators, ours_ports, paths, args.seconds, args.connections, args.procs,
                    [c.pid for c in ours]))
            started = time.perf_counter()
            for c in ours:
                c.send_signal(signal.SIGTERM)  # the graceful shutdown flushes buffered clicks
            for c in ours:
                if await asyncio.to_thread(c.wait, 60):
                    print(f"  web process exited {c.returncode}; see {tmp}")
            flush_s = time.perf_counter() - started
        finally:
            for c in ours + bare:
                if c.poll() is None:
                    c.kill()
                    c.wait()
    return bares, ours_all, flush_s


if __name__ == "__main__":
    asyncio.run(main())
