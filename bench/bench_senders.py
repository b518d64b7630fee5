"""Fan-out with several sender processes on PostgreSQL, no rate limit: messages/s and duplicates.

The emulator runs in this process; each sender is a child process running kocbot's sender role
(with the rate limiter off, so the figure is what the senders themselves sustain). Baseline in
the same run: the same fan-out with one sender process.

    TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \
        python bench/bench_senders.py [--groups 1000] [--senders 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import parse_config  # noqa: E402
from bot.emulator import Emulator  # noqa: E402
from bot.services.container import Services  # noqa: E402
from bot.storage.db import Database  # noqa: E402
from bot.storage.models import User  # noqa: E402
from tests.support.databases import fresh_postgres  # noqa: E402

FEED = (b"merchant,sku,title,url,price,original_price,commission_rate\n"
        b"acme,S1,Thermos,https://shop.example/1,39.00,59.00,10%\n")
OWNER = 7


def child(token: str, base_url: str, db_url: str) -> None:
    """A sender process without the rate limiter."""
    from bot.app import Kocbot

    config = parse_config({"telegram": {"token": token, "base_url": base_url},
                           "database": {"url": db_url}}, env={})
    kocbot = Kocbot(config, role="sender", rate_limit=False)

    async def main() -> None:
        await kocbot.start()
        try:
            await asyncio.Event().wait()
        finally:
            await kocbot.stop()

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
    parser.add_argument("--child", nargs=3)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        sys.exit("set TEST_DATABASE_URL to a PostgreSQL database (it is wiped)")
    one = asyncio.run(fan_out(url, args.groups, 1))
    many = asyncio.run(fan_out(url, args.groups, args.senders))
    print(f"fan-out of one deal to {args.groups} groups on PostgreSQL, no rate limit "
          "(includes process start-up):")
    print(f"  1 sender:  {one[0]:7.0f} msg/s   cards {one[1]}   duplicates {one[2]}")
    print(f"  {args.senders} senders: {many[0]:7.0f} msg/s   cards {many[1]}   duplicates {many[2]}   "
          f"(×{many[0] / one[0]:.2f})   goal: 0 duplicates")


if __name__ == "__main__":
    main()
