"""Resident memory of a running kocbot with 100,000 groups registered and scheduled.

Each figure comes from a fresh child process running the whole bot (polling, scheduler with a
tick over the due groups, sender, web server) against the emulator in this process. Baseline in
the same run: the same bot with no groups.

    python bench/bench_memory.py [--groups 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.emulator import Emulator  # noqa: E402


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed(db_url: str, groups: int) -> None:
    """Insert ``groups`` claimed groups with two posting times each, all scheduled."""
    from bot.storage.db import Database, upgrade
    from bot.storage.models import Group, User

    upgrade(db_url)
    db = Database.from_url(db_url)
    now = datetime.now(UTC)
    rng = random.Random(1)
    with db.transaction() as session:
        session.add(User(id=1, first_name="Owner", created_at=now, registered_at=now, tier="promoter"))
    rows = [{"chat_id": -1_000_000_000_000 - i, "title": f"group {i}", "owner_id": 1, "claimed": True,
             "active": True, "paused": False, "timezone": "Asia/Shanghai", "times": "09:00 20:00",
             "categories": "", "created_at": now,
             # 1% were due two hours ago (a downtime): the first tick walks them and skips
             # those slots; the rest are due later.
             "next_slot_at": now - timedelta(hours=2) if i % 100 == 0
             else now + timedelta(minutes=rng.randint(60, 600))} for i in range(groups)]
    with db.transaction() as session:
        for start in range(0, len(rows), 10_000):
            session.execute(Group.__table__.insert(), rows[start:start + 10_000])
    db.dispose()


async def child(args: argparse.Namespace) -> None:
    from bot.app import Kocbot
    from bot.config import parse_config

    port = free_port()
    config = parse_config({"telegram": {"token": args.token, "base_url": args.base_url},
                           "database": {"url": args.db},
                           "web": {"port": port, "public_url": f"http://127.0.0.1:{port}"}}, env={})
    kocbot = Kocbot(config, cache_dir=Path(args.db[len("sqlite:///"):]).parent / "cache")
    await kocbot.start()
    while await kocbot.tick() or kocbot.services.posting.depth():
        pass  # walk every due group (batches of 1,000)
    await asyncio.sleep(2)
    print(json.dumps({"rss_mib": rss_mib()}))
    await kocbot.stop()


async def measure(groups: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{Path(tmp) / 'mem.db'}"
        seed(db, groups)
        async with Emulator(token="555:MEM", bot_username="mem_bot") as emu:  # noqa: S106
            proc = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--child", "--db", db, "--token", emu.token,
                "--base-url", emu.base_url, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                cwd=str(ROOT))
            out, _ = await proc.communicate()
    return json.loads(out.decode().strip().splitlines()[-1])["rss_mib"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--groups", type=int, default=100_000)
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--db")
    parser.add_argument("--token")
    parser.add_argument("--base-url")
    args = parser.parse_args()
    if args.child:
        asyncio.run(child(args))
        return
    base = asyncio.run(measure(0))
    full = asyncio.run(measure(args.groups))
    print("resident memory of a running kocbot (polling, scheduler, sender, web):")
    print(f"  0 groups (baseline):       {base:7.1f} MiB")
    print(f"  {args.groups:,} groups scheduled: {full:7.1f} MiB   (+{full - base:.1f} MiB)   goal ≤ 300 MB")


if __name__ == "__main__":
    main()
