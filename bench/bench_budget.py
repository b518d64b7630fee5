"""What one slot of the shared rate budget costs: Redis (the Lua script kocbot uses) against the
same reservation as one PostgreSQL statement, in the same run, from one asyncio process.

    TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        python bench/bench_budget.py [--redis redis://127.0.0.1:6379/15] [--n 3000]

Prints the median and p99 time per reservation and the reservations/s one process can make.
Asserts nothing. The two PostgreSQL tables it uses (ordinary, logged ones, as a budget that
survives a restart would be) are dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.tg.ratelimit import SharedLimiter  # noqa: E402

# The same work as the Lua script: the token's next slot and the group's bucket, one commit.
PG_RESERVE = """
WITH g AS (
  INSERT INTO kocbot_bench_rate_group (chat, tat) VALUES (%(chat)s, 0)
  ON CONFLICT (chat) DO UPDATE SET tat = kocbot_bench_rate_group.tat + 3 RETURNING tat)
UPDATE kocbot_bench_rate
SET tat = GREATEST(kocbot_bench_rate.tat, extract(epoch from clock_timestamp())) + %(interval)s
FROM g RETURNING kocbot_bench_rate.tat - %(interval)s - extract(epoch from clock_timestamp())
"""


def summary(name: str, times: list[float]) -> None:
    times.sort()
    p50, p99 = statistics.median(times), times[int(len(times) * 0.99)]
    print(f"  {name:<38} p50 {p50 * 1e6:7.0f} µs   p99 {p99 * 1e6:7.0f} µs   "
          f"{len(times) / sum(times):7.0f} reservations/s", flush=True)


async def redis_slots(url: str, n: int) -> list[float]:
    # A budget far above any rate, so the figure is the cost of asking, not waiting.
    limiter = SharedLimiter(url, bot_id=f"bench-{os.getpid()}", per_second=10**7)
    await limiter.initialize()
    times = []
    try:
        for i in range(n):
            t = time.perf_counter()
            await limiter.reserve(-1000 - i)  # a group key too, as a card to a group has
            times.append(time.perf_counter() - t)
    finally:
        await limiter.shutdown()
    return times


async def postgres_slots(url: str, n: int) -> list[float]:
    import psycopg

    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        await conn.execute("DROP TABLE IF EXISTS kocbot_bench_rate, kocbot_bench_rate_group")
        await conn.execute("CREATE TABLE kocbot_bench_rate (tat double precision NOT NULL)")
        await conn.execute("CREATE TABLE kocbot_bench_rate_group (chat bigint PRIMARY KEY, "
                           "tat double precision NOT NULL)")
        await conn.execute("INSERT INTO kocbot_bench_rate VALUES (0)")
        times = []
        try:
            for i in range(n):
                t = time.perf_counter()
                await (await conn.execute(PG_RESERVE, {"chat": -1000 - i, "interval": 1e-7})).fetchone()
                times.append(time.perf_counter() - t)
        finally:
            await conn.execute("DROP TABLE kocbot_bench_rate, kocbot_bench_rate_group")
    return times


async def main(redis_url: str, pg_url: str, n: int) -> None:
    print(f"one reservation of the shared budget, {n} in a row from one process (loopback):")
    summary("Redis, Lua script (kocbot)", await redis_slots(redis_url, n))
    if pg_url:
        summary("PostgreSQL, one UPDATE … RETURNING", await postgres_slots(pg_url, n))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    parser.add_argument("--n", type=int, default=3000)
    args = parser.parse_args()
    asyncio.run(main(args.redis, os.environ.get("TEST_DATABASE_URL", ""), args.n))
