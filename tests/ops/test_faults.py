"""The fault suite: storms from Telegram, a sender killed mid-broadcast, PostgreSQL restarted.

In every case the bot keeps running or comes back by itself, every post is sent at most once,
every post not yet started is sent, and no click or order is lost.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from bot.services.container import Services
from bot.storage.db import Database
from bot.storage.models import Click, Group, Post, User
from tests.support.databases import fresh_postgres, postgres_url
from tests.support.flow import feed_csv

FEED = feed_csv("acme,S1,Thermos,https://shop.example/1,39.00,59.00,10%,home,,,,,,CNY")
OWNER = 101


def cards_per_group(emu, chats: list[int]) -> Counter:
    return Counter({chat: len(emu.sent(chat_id=chat, method="sendPhoto")) for chat in chats})


def post_states(db: Database) -> Counter:
    with db.transaction() as session:
        return Counter(dict(session.execute(select(Post.status, func.count()).group_by(Post.status)).all()))


async def make_groups(emu, services: Services, n: int) -> list[int]:
    """n groups owned by a registered promoter, registered with the bot."""
    emu.add_user(OWNER, "Owner", language_code="en")
    chats = [emu.create_group(f"G{i}", admins=[OWNER]) for i in range(n)]
    with services.db.transaction() as session:
        session.add(User(id=OWNER, first_name="Owner", created_at=services.now(),
                         registered_at=services.now(), tier="promoter"))
    for chat in chats:
        emu.add_bot_to_group(chat, OWNER)
        services.groups.bot_added(chat_id=chat, title="G", by_user_id=OWNER, adder_is_admin=True)
    return chats


async def drain(kocbot, clock, *, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    """Let the fake clock run until nothing is queued or being sent."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        states = post_states(kocbot.db)
        if not states["queued"] and not states["sending"]:
            return
        clock.advance(seconds=1)
        kocbot.sender.wake()
        await asyncio.sleep(0.05)
    raise AssertionError(f"outbox did not drain: {post_states(kocbot.db)}")


async def test_storms_of_5xx_429_and_timeouts(emulator, kocbot_factory, clock) -> None:
    emu = emulator
    kocbot = await kocbot_factory(read_timeout=1.0, run_scheduler=False)
    chats = await make_groups(emu, kocbot.services, 40)
    kocbot.services.catalog.import_feed(FEED, filename="feed.csv")
    emu.inject("5xx", method="sendPhoto", times=15)
    emu.inject("429", method="sendPhoto", times=10, retry_after=1)
    emu.inject("timeout", method="sendPhoto", times=3, delay=1.5, deliver=True)
    emu.inject("timeout", method="sendPhoto", times=2, delay=1.5, deliver=False)
    emu.inject("5xx", method="sendPhoto", times=10)
    assert kocbot.services.posting.broadcast("S1") == 40
    kocbot.sender.wake()
    await drain(kocbot, clock)
    states = post_states(kocbot.db)
    cards = cards_per_group(emu, chats)
    assert max(cards.values()) == 1  # never twice
    assert states["sent"] + states["unknown"] == 40 and states["failed"] == 0
    assert states["unknown"] == 5  # the five timeouts: outcome unknown, not resent
    assert sum(cards.values()) == states["sent"] + 3  # three timed-out sends were delivered anyway
    with kocbot.db.transaction() as session:
        sent_groups = set(session.scalars(select(Group.chat_id).join(Post, Post.group_id == Group.id)
                                          .where(Post.status == "sent")))
    assert all(cards[chat] == 1 for chat in sent_groups)
    # The bot still answers.
    emu.send_command(OWNER, OWNER, "/help")
    await emu.wait_for(lambda: emu.sent(chat_id=OWNER), timeout=10)


def _write_config(path: Path, *, emu, db_url: str, port: int) -> Path:
    path.write_text(
        f'[telegram]\ntoken = "{emu.token}"\nbase_url = "{emu.base_url}"\n'
        f'[database]\nurl = "{db_url}"\n[web]\nport = {port}\npublic_url = "http://127.0.0.1:{port}"\n'
        '[card]\nlocale = "en"\n[metrics]\nport = 0\n')
    return path


def _spawn(config: Path, role: str, tmp: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    log = (tmp / f"{role}-{os.urandom(3).hex()}.log").open("w")
    return subprocess.Popen([sys.executable, "-m", "bot", "run", "--role", role, "-c", str(config)],
                            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp)


@pytest.mark.slow
async def test_kill_one_of_three_senders(emulator, tmp_path: Path) -> None:
    emu = emulator
    url = fresh_postgres(postgres_url())
    services = Services(config=_config(emu, url), db=Database.from_url(url))
    chats = await make_groups(emu, services, 150)
    services.catalog.import_feed(FEED, filename="feed.csv")
    assert services.posting.broadcast("S1") == 150
    # Each sender paces itself at Telegram's 30 messages/s, so the broadcast takes a few
    # seconds and the kill lands mid-way.
    from tests.conftest import free_port

    config = _write_config(tmp_path / "config.toml", emu=emu, db_url=url, port=free_port())
    senders = [_spawn(config, "sender", tmp_path) for _ in range(3)]
    try:
        await emu.wait_for(lambda: sum(cards_per_group(emu, chats).values()) >= 20, timeout=60)
        senders[0].send_signal(signal.SIGKILL)
        await asyncio.to_thread(senders[0].wait, 10)
        await emu.wait_for(lambda: not post_states(services.db)["queued"], timeout=120)
        await _settled(services.db)
    finally:
        # Wait without blocking the loop: the emulator serving the senders runs in it.
        for proc in senders[1:]:
            proc.send_signal(signal.SIGTERM)
        for proc in senders[1:]:
            await asyncio.to_thread(proc.wait, 30)
    cards = cards_per_group(emu, chats)
    assert max(cards.values()) == 1, "a group got two cards"
    with services.db.transaction() as session:
        status = dict(session.execute(select(Group.chat_id, Post.status)
                                      .join(Post, Post.group_id == Group.id)).all())
    assert "queued" not in status.values()
    # Every post not in flight in the killed sender was sent; the killed one's in-flight posts
    # stay "sending" (outcome unknown) and are never sent again.
    for chat in chats:
        if status[chat] == "sent":
            assert cards[chat] == 1
        else:
            assert status[chat] in ("sending", "unknown"), (chat, status[chat])
    in_flight = sum(1 for chat in chats if status[chat] != "sent")
    assert in_flight <= 64  # the killed sender's concurrency bound
    services.db.dispose()


async def _settled(db: Database, quiet: float = 1.5) -> None:
    """Wait until the post states stop changing (sends in flight have finished)."""
    last, still = post_states(db), 0.0
    while still < quiet:
        await asyncio.sleep(0.25)
        now = post_states(db)
        still = still + 0.25 if now == last else 0.0
        last = now


def _config(emu, url: str):
    from bot.config import parse_config

    return parse_config({"telegram": {"token": emu.token, "base_url": emu.base_url},
                         "database": {"url": url}, "card": {"locale": "en"}}, env={})


def _restart_postgres() -> None:
    version = sorted(os.listdir("/etc/postgresql"))[0]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
                   check=True, capture_output=True, timeout=120)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pg_ctlcluster") is None or os.geteuid() != 0,
                    reason="restarting PostgreSQL needs pg_ctlcluster and root")
async def test_postgres_restart_while_posting_and_clicking(emulator, tmp_path: Path, clock) -> None:
    from tests.conftest import free_port
    from tests.support.config import make_config

    emu = emulator
    url = fresh_postgres(postgres_url())
    from bot.app import Kocbot

    kocbot = Kocbot(make_config(emulator=emu, db_url=url, port=free_port()), now=clock,
                cache_dir=tmp_path / "cache", run_scheduler=False)
    await kocbot.start()
    try:
        chats = await make_groups(emu, kocbot.services, 30)
        kocbot.services.catalog.import_feed(FEED, filename="feed.csv")
        first = kocbot.services.posting.broadcast("S1")
        kocbot.sender.wake()
        await emu.wait_for(lambda: sum(cards_per_group(emu, chats).values()) >= 30, timeout=60)
        link = kocbot.services.tracking.direct_link(product_id=1, person=_person(),
                                                promoters=kocbot.services.promoters)
        url_c = f"{kocbot.config.web.public_url}/c/{link.code}"
        async with httpx.AsyncClient() as http:
            before = [await http.get(url_c) for _ in range(20)]
            await asyncio.to_thread(_restart_postgres)
            during = [await http.get(url_c) for _ in range(20)]
        assert all(r.status_code == 302 for r in before + during)
        await kocbot.clicks.flush()
        with kocbot.db.transaction() as session:
            assert session.scalar(select(func.count(Click.id))) == 40
        assert first == 30 and max(cards_per_group(emu, chats).values()) == 1
    finally:
        await kocbot.stop()


def _person():
    from bot.services.promoters import Person

    return Person(id=OWNER, first_name="Owner")
