"""Fan-out with several sender processes on PostgreSQL: messages/s and duplicates.

The emulator runs in this process; each sender is a child process running kocbot's sender role.
Without ``--limited`` the rate limiter is off, so the figure is what the senders themselves
sustain; baseline in the same run: the same fan-out with one sender process.

With ``--limited`` the emulator enforces Telegram's limits strictly (30 messages/s overall, 20 a
minute per group) and every process keeps them: first one sender process alone (its in-process
limiter, then the Redis budget), then 3 sender processes plus a bot process answering people's
/help in private, all on one token and one Redis budget. Printed for each: the messages the
emulator accepted per second while the fan-out ran, as a fraction of 30/s; the 429s it answered;
the 429s left unrecovered (posts not sent at the end, replies never delivered); duplicates.

    TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \
        python bench/bench_senders.py [--groups 1000] [--senders 3] [--limited] [--redis URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.commands import tune_gc  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.emulator import Emulator  # noqa: E402
from bot.services.container import Services  # noqa: E402
from bot.storage.db import Database  # noqa: E402
from bot.storage.models import User  # noqa: E402
from tests.support.databases import fresh_postgres  # noqa: E402

FEED = (b"merchant,sku,title,url,price,original_price,commission_rate\n"
        b"acme,S1,Thermos,https://shop.example/1,39.00,59.00,10%\n")
OWNER = 7


def child(token: str, base_url: str, db_url: str, role: str = "sender", redis_url: str = "",
          limited: str = "") -> None:
    """A kocbot process of ``role``; the rate limiter only with ``limited``."""
    from bot.app import Kocbot

    config = parse_config({"telegram": {"token": token, "base_url": base_url, "redis_url": redis_url},
                           "database": {"url": db_url}}, env={})
    # A fresh card cache: file ids kept from another run's emulator are unknown to this one.
    kocbot = Kocbot(config, role=role, rate_limit=bool(limited), run_scheduler=False,
                cache_dir=Path(tempfile.mkdtemp(prefix="kocbot-bench-")))
    tune_gc()  # as `kocbot run` does

    async def main() -> None:
        await kocbot.start()
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        try:
            await stop.wait()
        finally:
            await kocbot.stop()
            if limited:  # what this process wasted of the budget, for the parent to add up
                print(json.dumps({"late": kocbot.sender.late_slots,
                                  "unclaimed": kocbot.sender.unclaimed_slots,
                                  "429": kocbot.limiter.hits_429 if kocbot.limiter else 0}), flush=True)

    asyncio.run(main())


async def fan_out(url: str, groups: int, senders: int) -> tuple[float, int, int]:
    """Returns (messages/s, cards sent, groups with more than one card)."""
    fresh_postgres(url)  # wipes the schema and migrates it
    async with Emulator(token="999:FAN", bot_username="fan_bot") as emu:  # noqa: S106
        config = parse_config({"telegram": {"token": emu.token, "base_url": emu.base_url},
                               "database": {"url": url}}, env={})
        services = Services(config=config, db=Database.from_url(url))
        services.catalog.import_feed(FEED, filename="feed.csv")
        emu.add_user(OWNER, "Owner")
        with services.db.transaction() as session:
            session.add(User(id=OWNER, first_name="Owner", created_at=services.now(),
                             registered_at=services.now(), tier="promoter"))
        chats = [emu.create_group(f"G{i}", admins=[OWNER]) for i in range(groups)]
        for chat in chats:
            emu.add_bot_to_group(chat, OWNER)
            services.groups.bot_added(chat_id=chat, title="G", by_user_id=OWNER, adder_is_admin=True)
        # Warm the card's file id so the figure is the steady-state fan-out.
        services.posting.broadcast("S1")
        procs = [subprocess.Popen([sys.executable, __file__, "--child", emu.token, emu.base_url, url],
                                  env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for _ in range(senders)]
        try:
            started = time.perf_counter()
            await emu.wait_for(lambda: len(emu.sent(method="sendPhoto")) >= groups, timeout=600)
            seconds = time.perf_counter() - started
            await asyncio.sleep(1.0)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                await asyncio.to_thread(proc.wait, 30)
        cards = Counter(m["chat"]["id"] for m in emu.sent(method="sendPhoto"))
        services.db.dispose()
    return groups / seconds, sum(cards.values()), sum(1 for n in cards.values() if n > 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--senders", type=int, default=3)
    parser.add_argument("--limited", action="store_true",
                        help="the emulator enforces 30/s and 20/min per group; one budget per token")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15",
                        help="the Redis of the shared budget (its kocbot:rate:* keys are used)")
    parser.add_argument("--child", nargs="+")
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        sys.exit("set TEST_DATABASE_URL to a PostgreSQL database (it is wiped)")
    if args.limited:
        limited(url, args.groups, args.senders, args.redis)
        return
    one = asyncio.run(fan_out(url, args.groups, 1))
    many = asyncio.run(fan_out(url, args.groups, args.senders))
    print(f"fan-out of one deal to {args.groups} groups on PostgreSQL, no rate limit "
          "(includes process start-up):")
    print(f"  1 sender:  {one[0]:7.0f} msg/s   cards {one[1]}   duplicates {one[2]}")
    print(f"  {args.senders} senders: {many[0]:7.0f} msg/s   cards {many[1]}   duplicates {many[2]}   "
          f"(×{many[0] / one[0]:.2f})   goal: 0 duplicates")


PEOPLE = 2000  # people who write /help to the bot while the fan-out runs


def photos_sent(emu: Emulator) -> int:
    """Cards the emulator accepted so far; cheap enough to ask 8 times a second (emu.sent()
    copies every message, and the emulator shares this event loop)."""
    return sum(1 for method, _, _ in emu.core.world.bot_sent if method == "sendPhoto")


async def limited_run(url: str, groups: int, senders: int, bot: bool, redis_url: str) -> dict[str, float]:
    """One fan-out under the emulator's strict limits; figures from the emulator's own log."""
    fresh_postgres(url)
    async with Emulator(token="998:LIMITED", bot_username="limited_bot") as emu:  # noqa: S106
        config = parse_config({"telegram": {"token": emu.token, "base_url": emu.base_url},
                               "database": {"url": url}}, env={})
        services = Services(config=config, db=Database.from_url(url))
        services.catalog.import_feed(FEED, filename="feed.csv")
        emu.add_user(OWNER, "Owner")
        with services.db.transaction() as session:
            session.add(User(id=OWNER, first_name="Owner", created_at=services.now(),
                             registered_at=services.now(), tier="promoter"))
        chats = [emu.create_group(f"G{i}", admins=[OWNER]) for i in range(groups + 1)]
        for chat in chats:
            emu.add_bot_to_group(chat, OWNER)
            services.groups.bot_added(chat_id=chat, title="G", by_user_id=OWNER, adder_is_admin=True)
        people = list(range(10_000, 10_000 + PEOPLE))
        for uid in people:
            emu.add_user(uid, f"P{uid}")
        emu.core.world.confirm(emu.core.world.next_update_id)  # the bot starts with no backlog
        # Warm the card's file id with one group, so the figure is the steady-state fan-out.
        first = services.posting.broadcast("S1")
        assert first == groups + 1
        emu.set_rate_limits(True, per_second=30, per_group_per_minute=20)
        # The emulator shares this process and keeps every message and call: Python's collector
        # would scan that growing world, and a pause of ~0.1 s here bunched the arrivals behind
        # it into a 429 a second later. Telegram's counting does not stop for a collector, so
        # the emulator's host runs without one while the fan-out is measured.
        gc.collect()
        gc.freeze()
        gc.disable()
        roles = ["sender"] * senders + (["bot"] if bot else [])
        procs = [subprocess.Popen([sys.executable, __file__, "--child", emu.token, emu.base_url, url, role,
                                   redis_url, "limited"],
                                  env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                 for role in roles]
        asked = 0
        try:
            await emu.wait_for(lambda: photos_sent(emu) >= 1, timeout=120)
            while photos_sent(emu) < groups + 1:
                if bot and asked < len(people):  # people write at ~8/s: a busy bot's private chat
                    emu.send_message(people[asked], people[asked], "/help")
                    asked += 1
                await asyncio.sleep(0.125)
                if len(emu.calls) and time.monotonic() - emu.calls[0].time > 900:
                    break
            await asyncio.sleep(3.0)  # replies still queued, and a last look for duplicates
        finally:
            for proc in procs:
                proc.terminate()
            wasted = Counter()
            for proc in procs:
                out, _ = await asyncio.to_thread(proc.communicate, None, 60)
                for row in out.splitlines():
                    with contextlib.suppress(ValueError):
                        wasted.update(json.loads(row))
        counted = [c for c in emu.calls if c.method in ("sendPhoto", "sendMessage")]
        ok = [c.time for c in counted if c.status == 200]
        photos = [c.time for c in counted if c.status == 200 and c.method == "sendPhoto"]
        # The fan-out's span, from the warm-up card to the last card; every message the emulator
        # accepted in it counts against the one budget.
        start, end = min(photos), max(photos)
        inside = sum(1 for t in ok if start <= t <= end)
        cards = Counter(m["chat"]["id"] for m in emu.sent(method="sendPhoto"))
        replies = len(emu.sent(method="sendMessage"))
        with services.db.transaction() as session:
            from sqlalchemy import func, select

            from bot.storage.models import Post
            unsent = session.scalar(select(func.count(Post.id)).where(Post.status != "sent")) or 0
        services.db.dispose()
    gc.enable()
    gc.unfreeze()
    return {"rate": (inside - 1) / (end - start), "429": sum(c.status == 429 for c in counted),
            "unrecovered": unsent + max(0, asked - replies), "duplicates": sum(n > 1 for n in cards.values()),
            "cards": sum(cards.values()), "replies": replies, "asked": asked,
            "late": wasted["late"], "unclaimed": wasted["unclaimed"]}


def limited(url: str, groups: int, senders: int, redis_url: str) -> None:
    """The --limited figures: one process, then N senders plus a bot, all on one token."""
    def line(name: str, r: dict[str, float]) -> None:
        print(f"  {name:<34} {r['rate']:5.2f} msg/s = {r['rate'] / 30:.3f} of 30/s   "
              f"429s {r['429']:.0f}   unrecovered {r['unrecovered']:.0f}   duplicates {r['duplicates']:.0f}"
              f"   cards {r['cards']:.0f}   replies {r['replies']:.0f}/{r['asked']:.0f}"
              f"   slots lost: late {r['late']:.0f}, unclaimed {r['unclaimed']:.0f}", flush=True)

    print(f"fan-out of one deal to {groups + 1} groups on PostgreSQL, emulator strict at 30/s and "
          "20/min per group; goal 0 429s, 0 duplicates:", flush=True)
    line("1 sender, in-process limiter", asyncio.run(limited_run(url, groups, 1, False, "")))
    line("1 sender, Redis budget", asyncio.run(limited_run(url, groups, 1, False, redis_url)))
    line(f"{senders} senders + 1 bot, Redis budget",
         asyncio.run(limited_run(url, groups, senders, True, redis_url)))
    line(f"{senders} senders + 1 bot, per-process limiters",
         asyncio.run(limited_run(url, groups, senders, True, "")))


if __name__ == "__main__":
    main()
