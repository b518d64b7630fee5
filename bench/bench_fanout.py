"""Fan-out of one deal to many groups through the Bot API emulator, against baselines in the same run.

Run from the repository root: ``python bench/bench_fanout.py [--groups 1000] [--skip-limited]``,
or ``python bench/bench_fanout.py --paid --groups 5000`` for paid broadcast (4. below).
The emulator runs in a child process (``--serve``), so the CPU measured here is kocbot's own.
Prints only; asserts nothing.

1. No rate limit: kocbot's messages/s and CPU seconds per 1,000 posts; baseline: raw PTB
   ``send_photo`` by file_id in a tight concurrent loop against the same emulator.
2. The emulator enforcing 30/s and 20/min per group: kocbot's achieved rate ÷ 30, 429s received
   and left unrecovered; baseline: raw PTB sends through PTB's ``AIORateLimiter``.
3. Renders and uploads per fan-out (must be 1 and 1), and one card's render time p50.
4. ``--paid``: ``[telegram] paid_broadcast = true`` against the emulator's paid limit (1,000/s):
   the rate the emulator saw as a fraction of 1,000/s, 429s, unrecovered, Stars billed, the
   sender's late and unclaimed slots, and the CPU per message of the sender and the emulator.

Garbage collection, unless ``--default-gc``: the sender calls ``tune_gc()`` as ``kocbot run``
does, and the emulator's host process (a test double for Telegram's servers, which keeps every
call it receives, so its heap grows through a fan-out) freezes what startup built and holds its
cycle collector off while a fan-out runs. Its full collections of that growing heap stalled it
for long enough that the sender's requests reached its strict limiter bunched, answered 429,
and the sender paused for retry_after. ``--default-gc`` keeps Python's defaults in both
processes (the bench as it was), so before and after run from one script in one session;
``--default-gc sender`` or ``--default-gc host`` keeps them in that process only.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a plain checkout

CONCURRENCY = 64  # requests in flight, for kocbot's sender and the raw PTB baseline alike
# --default-gc [both|sender|host]: Python's collector settings in those processes (the old bench)
DEFAULT_GC: set[str] = set()
TOKEN = "123456:BENCH-TOKEN-abcdefghijklmnopqrstuvwxyz"
FEED = ("merchant,sku,title,url,price,original_price,commission_rate,category,image_url,"
        "starts_at,ends_at,stock,featured,currency\n"
        "acme,SKU1,保温杯 Thermos 500ml 不锈钢,https://shop.example/p/1,39.00,59.00,10%,home,,,,,,CNY\n"
        ).encode()


class GcWatch:
    """Time this process's cycle collections (gc.callbacks): count, total and longest pause."""

    def __init__(self) -> None:
        self.started = 0.0
        self.count = self.full = 0
        self.total = self.longest = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            return
        pause = time.perf_counter() - self.started
        self.count += 1
        self.full += info["generation"] == 2
        self.total += pause
        self.longest = max(self.longest, pause)

    def stop(self) -> None:
        gc.callbacks.remove(self._callback)

    def reset(self) -> None:
        self.count = self.full = 0
        self.total = self.longest = 0.0

    def summary(self) -> dict[str, float]:
        return {"gc_count": self.count, "gc_full": self.full, "gc_ms": self.total * 1000,
                "gc_longest_ms": self.longest * 1000}


# -- the emulator, in its own process ---------------------------------------------------------
async def serve(default_gc: bool) -> None:
    """Run an emulator; answer line commands on stdin with one JSON line on stdout.

    ``quiet`` before a fan-out and ``loud`` after it hold this host's cycle collector off in
    between (unless ``default_gc``): the emulator keeps every call, and the longer full
    collections of that growing heap stalled it mid-fan-out. Reference counting still frees
    everything without cycles; ``loud`` collects what cycles were left.
    """
    from bot.emulator import Emulator

    emu = Emulator(token=TOKEN, bot_username="kocbot_bench_bot")
    watch = GcWatch()
    await emu.start()
    emu.add_user(1, "Owner")
    loop = asyncio.get_running_loop()
    print(json.dumps({"base_url": emu.base_url}), flush=True)
    while line := (await loop.run_in_executor(None, sys.stdin.readline)).split():
        cmd, args = line[0], line[1:]
        answer: object = None
        if cmd == "groups":
            chats = [emu.create_group(f"G{i}", admins=[1]) for i in range(int(args[0]))]
            for chat in chats:
                emu.add_bot_to_group(chat, 1)
            emu.core.world.confirm(emu.core.world.next_update_id)
            if not default_gc:  # the world built so far is never garbage: out of every collection
                gc.collect()
                gc.freeze()
            answer = chats
        elif cmd == "quiet":
            if not default_gc:
                gc.collect()
                gc.disable()
            watch.reset()
            answer = "ok"
        elif cmd == "loud":
            if not default_gc:
                gc.enable()
                gc.collect()
            answer = "ok"
        elif cmd == "limits":
            emu.set_rate_limits(args[0] in ("on", "paid"), paid_per_second=1000)
            answer = "ok"
        elif cmd == "reset":
            emu.reset_observations()
            emu.core.rate.reset()
            answer = "ok"
        elif cmd == "stats":
            collections = watch.summary()  # before this answer's own allocations
            calls = [c for c in emu.calls if c.method == "sendPhoto"]
            per_chat: dict[int, int] = {}
            for m in emu.sent(method="sendPhoto"):
                per_chat[m["chat"]["id"]] = per_chat.get(m["chat"]["id"], 0) + 1
            ok_times = [c.time for c in calls if c.status == 200]
            answer = {"ok": sum(c.status == 200 for c in calls), "429": sum(c.status == 429 for c in calls),
                      "span": max(ok_times) - min(ok_times) if len(ok_times) > 1 else 0.0,
                      "stars_tenths": emu.stars_spent_tenths(),
                      "paid_flag": sum(c.params.get("allow_paid_broadcast") is True for c in calls),
                      "uploads": emu.uploads, "violations": len(emu.violations),
                      "max_per_chat": max(per_chat.values(), default=0), "chats": len(per_chat),
                      "duplicates": sum(n > 1 for n in per_chat.values()),
                      **collections}
        print(json.dumps(answer), flush=True)
    await emu.stop()


class EmulatorProcess:
    """Talk to the emulator child process."""

    def __init__(self) -> None:
        argv = [sys.executable, __file__, "--serve"] + (["--default-gc"] if "host" in DEFAULT_GC else [])
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     cwd=ROOT)
        self.base_url = json.loads(self.proc.stdout.readline())["base_url"]  # type: ignore[union-attr]

    def ask(self, *words: object) -> object:
        self.proc.stdin.write(" ".join(map(str, words)) + "\n")  # type: ignore[union-attr]
        self.proc.stdin.flush()  # type: ignore[union-attr]
        return json.loads(self.proc.stdout.readline())  # type: ignore[union-attr]

    def close(self) -> None:
        self.proc.stdin.close()  # type: ignore[union-attr]
        self.proc.wait(timeout=10)


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a running process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- baselines ----------------------------------------------------------------------------------
async def raw_ptb(emu: EmulatorProcess, chats: list[int], *, aio_limiter: bool) -> dict[str, float]:
    """Plain PTB: upload once, then send_photo by file_id to every chat, 64 at a time."""
    from telegram.error import RetryAfter
    from telegram.ext import AIORateLimiter, ApplicationBuilder

    from bot.cards.render import CardInput, render_card

    builder = ApplicationBuilder().token(TOKEN).base_url(emu.base_url).connection_pool_size(128)
    if aio_limiter:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=5))
    app = builder.updater(None).build()
    await app.initialize()
    photo = render_card(CardInput("Thermos", "acme", 3900, 5900, "CNY"))
    first = await app.bot.send_photo(chats[0], photo=photo, caption="<b>Thermos</b>", parse_mode="HTML")
    file_id = first.photo[-1].file_id
    gate = asyncio.Semaphore(CONCURRENCY)
    failed = 0

    async def one(chat: int) -> None:
        nonlocal failed
        async with gate:
            try:
                await app.bot.send_photo(chat, photo=file_id, caption="<b>Thermos</b>", parse_mode="HTML")
            except RetryAfter:
                failed += 1

    start, cpu0 = time.perf_counter(), cpu()
    await asyncio.gather(*(one(chat) for chat in chats[1:]))
    elapsed, used = time.perf_counter() - start, cpu() - cpu0
    await app.shutdown()
    n = len(chats) - 1
    return {"rate": n / elapsed, "cpu_per_1000": used * 1000 / n, "elapsed": elapsed, "unsent": failed}


# -- kocbot ---------------------------------------------------------------------------------------
async def kocbot_fanout(emu: EmulatorProcess, chats: list[int], *, rate_limit: bool,
                        db_url: str, paid: bool = False, tune_gc: bool = False) -> dict[str, float]:
    """The real bot: /broadcast's use case queues N posts; the sender drains them.

    ``tune_gc``: set this process up as ``kocbot run`` does (only --paid: the other runs share
    the process with the raw PTB baseline, which would then be measured half one way)."""
    from sqlalchemy import func, select

    from bot.app import Kocbot
    from bot.config import parse_config
    from bot.services.promoters import Person
    from bot.storage.db import upgrade
    from bot.storage.models import Post

    upgrade(db_url)
    config = parse_config({"telegram": {"token": TOKEN, "base_url": emu.base_url, "paid_broadcast": paid},
                           "database": {"url": db_url}, "card": {"locale": "zh_CN"}}, env={})
    kocbot = Kocbot(config, rate_limit=rate_limit, rng=random.Random(1), run_scheduler=False,
                cache_dir=Path(tempfile.mkdtemp()), role="sender", sender_concurrency=CONCURRENCY)
    if tune_gc:
        from bot.commands import tune_gc as tune

        tune()  # as `kocbot run` does once it has built its Kocbot
    services = kocbot.services
    services.catalog.import_feed(FEED, filename="feed.csv")
    services.promoters.register(Person(id=1, first_name="Owner"))
    for chat in chats:
        services.groups.bot_added(chat_id=chat, title="G", by_user_id=1, adder_is_admin=True)
    await kocbot.start()
    watch = GcWatch()
    start, cpu0 = time.perf_counter(), cpu()
    queued = services.posting.broadcast("SKU1")
    kocbot.sender.wake()
    while kocbot.metrics.posts._value.get() < queued:  # noqa: SLF001 - an in-memory read, no DB polling
        await asyncio.sleep(0.005)
        if time.perf_counter() - start > 600:
            break
    elapsed, used = time.perf_counter() - start, cpu() - cpu0
    collections = watch.summary()
    watch.stop()
    await kocbot.stop()
    with services.db.transaction() as session:
        sent = session.scalar(select(func.count(Post.id)).where(Post.status == "sent"))
    services.db.dispose()
    return {"rate": queued / elapsed, "cpu_per_1000": used * 1000 / queued, "elapsed": elapsed,
            "renders": kocbot.metrics.renders._value.get(), "uploads": kocbot.metrics.uploads._value.get(),  # noqa: SLF001
            "unsent": queued - sent, "429_seen": sum(
                s.value for m in kocbot.metrics.send_errors.collect() for s in m.samples
                if s.labels.get("kind") == "429" and s.name.endswith("_total")),
            "late_slots": kocbot.sender.late_slots, "unclaimed_slots": kocbot.sender.unclaimed_slots,
            **collections}


def render_p50(runs: int = 30) -> float:
    from bot.cards.render import CardInput, render_card

    card = CardInput("保温杯 Thermos 500ml 不锈钢 真空保温 大容量 户外便携", "acme", 3900, 5900, "CNY")
    render_card(card)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        render_card(card)
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


async def paid_run(groups: int, db: str, repeat: int) -> None:
    """--paid: the emulator enforces 1,000/s for allow_paid_broadcast (30/s without it)."""
    emu = EmulatorProcess()
    try:
        tmp = Path(tempfile.mkdtemp())
        gc_mode = "; ".join((
            "sender: Python's defaults" if "sender" in DEFAULT_GC else "sender: tune_gc()",
            "emulator host: Python's defaults" if "host" in DEFAULT_GC
            else "emulator host: frozen, off during the paid fan-out"))
        print(f"paid broadcast: one deal to {groups} groups; emulator in its own process enforcing "
              f"1,000 msg/s with allow_paid_broadcast, 30/s without; database {db}; GC: {gc_mode}",
              flush=True)
        chats = emu.ask("groups", groups + 1)
        billed = 0
        for run in range(repeat):
            # Baseline in the same run: the same fan-out with no limit at all (this machine's ceiling).
            emu.ask("limits", "off")
            emu.ask("reset")
            url = db if db != "sqlite" else f"sqlite:///{tmp / f'free{run}.db'}"
            if db != "sqlite":
                from tests.support.databases import fresh_postgres
                fresh_postgres(db)
            free = await kocbot_fanout(emu, chats[1:], rate_limit=False, db_url=url,  # type: ignore[index]
                                       tune_gc="sender" not in DEFAULT_GC)
            stats = emu.ask("stats")
            ceiling = (stats["ok"] - 1) / stats["span"] if stats["span"] else 0.0  # type: ignore[index]
            emu.ask("limits", "paid")
            emu.ask("reset")
            url = db if db != "sqlite" else f"sqlite:///{tmp / f'paid{run}.db'}"
            if db != "sqlite":
                from tests.support.databases import fresh_postgres
                fresh_postgres(db)
            emu.ask("quiet")
            emu_cpu = cpu_of(emu.proc.pid)
            ours = await kocbot_fanout(emu, chats[1:], rate_limit=True, db_url=url, paid=True,  # type: ignore[index]
                                       tune_gc="sender" not in DEFAULT_GC)
            emu_ms = (cpu_of(emu.proc.pid) - emu_cpu) * 1000 / groups
            stats = emu.ask("stats")
            emu.ask("loud")
            # The rate as the emulator saw it: accepted sends over the span from first to last.
            seen = (stats["ok"] - 1) / stats["span"] if stats["span"] else 0.0  # type: ignore[index]
            stars, billed = stats["stars_tenths"] - billed, stats["stars_tenths"]  # type: ignore[index]
            print(f"  run {run + 1}: baseline kocbot with no limit {ceiling:6.0f} msg/s "
                  f"(wall {free['rate']:.0f}/s)", flush=True)
            print(f"  run {run + 1}: kocbot paid {seen:6.0f} msg/s = {seen / 1000:.2f} of 1,000/s "
                  f"(wall {ours['rate']:.0f}/s incl. start)   429s received {stats['429']}   "  # type: ignore[index]
                  f"left unrecovered {ours['unsent']:.0f}   with allow_paid_broadcast "
                  f"{stats['paid_flag']}/{stats['ok'] + stats['429']}   Stars billed "  # type: ignore[index]
                  f"{stars / 10:.1f}   max cards per group {stats['max_per_chat']}   "  # type: ignore[index]
                  f"groups with a duplicate {stats['duplicates']}",  # type: ignore[index]
                  flush=True)
            # What each side would sustain on a core of its own (the two share this machine's 2).
            sender_ms = ours["cpu_per_1000"]
            print(f"  run {run + 1}: CPU per message: sender {sender_ms:.2f} ms (alone on a core: "
                  f"{1000 / sender_ms:.0f}/s), emulator {emu_ms:.2f} ms ({1000 / emu_ms:.0f}/s)   "
                  f"late slots {ours['late_slots']}   unclaimed slots {ours['unclaimed_slots']}",
                  flush=True)
            print(f"  run {run + 1}: GC during the paid fan-out: sender {ours['gc_count']:.0f} collections "
                  f"({ours['gc_full']:.0f} full), {ours['gc_ms']:.0f} ms, "
                  f"longest {ours['gc_longest_ms']:.1f} ms"
                  f" | emulator host {stats['gc_count']} ({stats['gc_full']} full), "  # type: ignore[index]
                  f"{stats['gc_ms']:.0f} ms, longest {stats['gc_longest_ms']:.1f} ms",  # type: ignore[index]
                  flush=True)
    finally:
        emu.close()


async def main(groups: int, limited: bool, db: str, repeat: int) -> None:
    emu = EmulatorProcess()
    try:
        tmp = Path(tempfile.mkdtemp())
        print(f"fan-out of one deal to {groups} groups; emulator in its own process; database {db}")
        chats = emu.ask("groups", groups + 1)
        bases, runs = [], []
        for run in range(repeat):  # interleaved, so a busy machine weighs on both alike
            emu.ask("reset")
            bases.append(await raw_ptb(emu, chats, aio_limiter=False))  # type: ignore[arg-type]
            emu.ask("reset")
            url = db if db != "sqlite" else f"sqlite:///{tmp / f'nolimit{run}.db'}"
            if db != "sqlite":
                from tests.support.databases import fresh_postgres
                fresh_postgres(db)
            runs.append(await kocbot_fanout(emu, chats[1:], rate_limit=False, db_url=url))  # type: ignore[index]
            stats = emu.ask("stats")
            b, r = bases[-1], runs[-1]
            print(f"  run {run + 1}: raw PTB {b['rate']:5.0f} msg/s, {b['cpu_per_1000']:.2f} s CPU"
                  f" per 1,000 | kocbot {r['rate']:5.0f} msg/s, {r['cpu_per_1000']:.2f} s CPU"
                  f" per 1,000 | renders {r['renders']:.0f} uploads {r['uploads']:.0f}"
                  f" (emulator {stats['uploads']}) max/group {stats['max_per_chat']}"
                  f" groups {stats['chats']} unsent {r['unsent']} violations {stats['violations']}")
        med = {k: statistics.median(r[k] for r in runs) for k in ("rate", "cpu_per_1000")}
        bmed = {k: statistics.median(r[k] for r in bases) for k in ("rate", "cpu_per_1000")}
        print(f"  median baseline raw PTB send_photo by file_id: {bmed['rate']:6.0f} msg/s   "
              f"CPU {bmed['cpu_per_1000']:.2f} s per 1,000 (CPU-bound ceiling "
              f"{1000 / bmed['cpu_per_1000']:.0f}/s)")
        print(f"  median kocbot, no rate limit:                  {med['rate']:6.0f} msg/s   "
              f"CPU {med['cpu_per_1000']:.2f} s per 1,000 (CPU-bound ceiling "
              f"{1000 / med['cpu_per_1000']:.0f}/s)")
        if limited:
            emu.ask("limits", "on")
            emu.ask("reset")
            url = db if db != "sqlite" else f"sqlite:///{tmp / 'limited.db'}"
            if db != "sqlite":
                from tests.support.databases import fresh_postgres
                fresh_postgres(db)
            ours = await kocbot_fanout(emu, chats[1:], rate_limit=True, db_url=url)  # type: ignore[index]
            stats = emu.ask("stats")
            print("emulator enforcing 30 msg/s overall and 20/min per group:")
            print(f"  kocbot SendLimiter: {ours['rate']:5.1f} msg/s = {ours['rate'] / 30:.2f} of 30/s   "
                  f"429s received {stats['429']}   left unrecovered {ours['unsent']:.0f}   "
                  f"max cards per group {stats['max_per_chat']}")
            emu.ask("reset")
            aio = await raw_ptb(emu, chats, aio_limiter=True)  # type: ignore[arg-type]
            stats = emu.ask("stats")
            print(f"  baseline raw PTB + AIORateLimiter(max_retries=5): {aio['rate']:5.1f} msg/s = "
                  f"{aio['rate'] / 30:.2f} of 30/s   429s received {stats['429']}   "
                  f"left unrecovered {aio['unsent']}")
        print(f"card render p50: {render_p50():.1f} ms")
    finally:
        emu.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--skip-limited", action="store_true", help="skip the 30/s runs (~70 s)")
    parser.add_argument("--repeat", type=int, default=3, help="no-limit runs (median printed)")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY, help="requests in flight")
    parser.add_argument("--db", default="sqlite", help="sqlite, or a PostgreSQL URL to use (emptied!)")
    parser.add_argument("--paid", action="store_true",
                        help="paid broadcast against the emulator's 1,000/s limit (use --groups 5000+)")
    parser.add_argument("--default-gc", nargs="?", const="both", choices=("both", "sender", "host"),
                        help="Python's GC settings in the sender and the emulator host (the old bench), "
                             "or in one of them")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    DEFAULT_GC = {"sender", "host"} if args.default_gc == "both" else {args.default_gc} - {None}
    if args.serve:
        asyncio.run(serve(bool(DEFAULT_GC)))
    elif args.paid:
        CONCURRENCY = args.concurrency
        asyncio.run(paid_run(args.groups, args.db, args.repeat))
    else:
        CONCURRENCY = args.concurrency
        asyncio.run(main(args.groups, not args.skip_limited, args.db, args.repeat))
