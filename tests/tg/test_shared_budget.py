"""One rate budget per bot token: processes share it through Redis, and fall back to their
share of it when Redis is down, without losing a message."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from telegram.ext import ApplicationBuilder

from bot.emulator import Emulator
from bot.tg.ratelimit import SharedLimiter
from bot.tg.transport import AiohttpRequest
from tests.support.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def users(emu: Emulator, first: int, count: int) -> list[int]:
    """Private chats with people who started the bot (no per-group limit applies)."""
    ids = list(range(first, first + count))
    for uid in ids:
        emu.add_user(uid, f"U{uid}")
        emu.send_message(uid, uid, "/start")
    return ids


async def test_three_processes_share_thirty_a_second(emulator: Emulator, redis_server: RedisServer) -> None:
    emulator.set_rate_limits(True, per_second=30, per_group_per_minute=20)
    emulator.add_user(1, "Owner")
    group = emulator.create_group("Deals", admins=[1])
    emulator.add_bot_to_group(group, 1)
    per_process = 40
    children = []
    for n in range(3):
        # 40 people each, and 6 cards each to one group all three post to (18 of its 20 a minute).
        chats = users(emulator, 1000 + n * per_process, per_process) + [group] * 6
        children.append(subprocess.Popen(
            [sys.executable, "-m", "tests.support.rate_child", emulator.base_url, emulator.token,
             redis_server.url, ",".join(map(str, chats))],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
    try:
        for child in children:
            assert json.loads(await asyncio.to_thread(child.stdout.readline))["ready"]  # type: ignore[union-attr]
        started = time.monotonic()
        for child in children:
            child.stdin.write("go\n")  # type: ignore[union-attr]
            child.stdin.flush()  # type: ignore[union-attr]
        results = [json.loads(await asyncio.to_thread(child.stdout.readline))  # type: ignore[union-attr]
                   for child in children]
        elapsed = time.monotonic() - started
    finally:
        for child in children:
            child.kill()
            child.wait(10)
    total = 3 * (per_process + 6)
    assert [r["429"] for r in results] == [0, 0, 0], results
    assert sum(r["sent"] for r in results) == total, results
    assert max(r["peers"] for r in results) == 3, results  # the last to start saw all three
    assert [c.status for c in emulator.calls if c.method == "sendMessage"].count(429) == 0
    assert len(emulator.sent(method="sendMessage")) == total
    assert elapsed >= (total - 30) / 30  # one budget: 138 messages take at least 3.6 s


async def test_the_group_limit_is_shared_too(redis_server: RedisServer) -> None:
    first = SharedLimiter(redis_server.url, bot_id="group-test")
    second = SharedLimiter(redis_server.url, bot_id="group-test")
    await first.initialize()
    await second.initialize()
    try:
        for n in range(20):  # twenty cards to one group, alternately from two processes
            taken, _ = await (first if n % 2 else second).reserve(-42)
            assert taken
        taken, wait = await first.reserve(-42)
        assert not taken and 59.0 < wait <= 61.5  # the 21st waits a minute, whichever process asks
        taken, wait = await second.reserve(-43)  # another group is not held up
        assert taken and wait < 1.0
    finally:
        await first.shutdown()
        await second.shutdown()


async def test_redis_down_falls_back_to_a_share_and_loses_nothing(
        emulator: Emulator, redis_server: RedisServer, caplog: pytest.LogCaptureFixture) -> None:
    emulator.set_rate_limits(True, per_second=30, per_group_per_minute=20)
    peer = SharedLimiter(redis_server.url, bot_id=emulator.token.split(":")[0], margin=0.1)
    limiter = SharedLimiter(redis_server.url, bot_id=emulator.token.split(":")[0], max_retries=0,
                            margin=0.1)
    limiter.retry_redis_seconds = 1.0
    await peer.initialize()  # a second process on the token: each one's share is 15/s
    app = (ApplicationBuilder().token(emulator.token).base_url(emulator.base_url)
           .rate_limiter(limiter).request(AiohttpRequest()).updater(None).build())
    await app.initialize()
    chats = users(emulator, 5000, 90)
    try:
        await asyncio.gather(*(app.bot.send_message(c, "before") for c in chats[:30]))
        assert limiter.peers == 2 and limiter.fallback is None
        redis_server.stop()
        with caplog.at_level(logging.WARNING, logger="bot.tg.ratelimit"):
            started = time.monotonic()
            await asyncio.gather(*(app.bot.send_message(c, "during") for c in chats[30:60]))
            during = time.monotonic() - started
        assert limiter.fallback is not None and limiter.fallback.pace.per_second == 15
        assert "Redis unreachable" in caplog.text
        assert during >= 29 / 15 - 0.1  # this process kept to its half of the budget
        redis_server.start()
        await asyncio.sleep(1.1)
        with caplog.at_level(logging.WARNING, logger="bot.tg.ratelimit"):
            await asyncio.gather(*(app.bot.send_message(c, "after") for c in chats[60:]))
        assert limiter.fallback is None and "Redis reachable again" in caplog.text
    finally:
        await app.shutdown()
        await peer.shutdown()
    assert len(emulator.sent(method="sendMessage")) == 90  # nothing lost
    assert [c.status for c in emulator.calls].count(429) == 0
