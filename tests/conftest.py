"""Shared fixtures: real databases (SQLite file and PostgreSQL), the Bot API emulator, and a
running kocbot wired to both."""

from __future__ import annotations

import random
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.clock import Clock
from tests.support.databases import make_database_url


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: each test runs on SQLite and on PostgreSQL."""
    return make_database_url(request.param, tmp_path)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return make_database_url("sqlite", tmp_path)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def emulator() -> AsyncIterator:
    """A Bot API emulator on loopback; any spec violation during the test fails it."""
    from bot.emulator import Emulator

    emu = Emulator(token="123456:TEST-TOKEN-abcdefghijklmnopqrstuvwxyz", bot_username="kocbot_test_bot")
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()
    assert [v for v in emu.violations] == [], f"Bot API violations: {emu.violations}"


@pytest.fixture
async def kocbot_factory(emulator, db_url: str, clock: Clock, tmp_path: Path):
    """Builds and starts kocbots against the emulator; stops every one at the end."""
    from bot.app import Kocbot
    from tests.support.config import make_config

    started: list[Kocbot] = []

    async def build(*, config: dict | None = None, **options) -> Kocbot:
        # Telegram's send limits cost real seconds (20 messages a minute per group); only the
        # tests about those limits turn them on with rate_limit=True.
        options.setdefault("rate_limit", False)
        port = free_port()
        cfg = make_config(emulator=emulator, db_url=db_url, port=port, **(config or {}))
        kocbot = Kocbot(cfg, now=clock, rng=random.Random(7), cards_dir=tmp_path / "cards",
                    cache_dir=tmp_path / "cache", **options)
        await kocbot.start()
        started.append(kocbot)
        return kocbot

    try:
        yield build
    finally:
        for kocbot in started:
            await kocbot.stop()


@pytest.fixture
async def kocbot(kocbot_factory):
    """One running kocbot."""
    return await kocbot_factory()
