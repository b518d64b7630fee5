"""``kill -9`` of the real ``kocbot run`` process in the middle of a 300-group broadcast, then a
restart: no group gets two cards, and every post whose send had not started goes out."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config import parse_config
from bot.services.container import Services
from bot.storage.db import Database
from bot.storage.models import Group, Post
from tests.conftest import free_port
from tests.e2e.delivery_kit import import_catalog, register_owner, seed_groups
from tests.support.config import ADMIN_ID

ROOT = Path(__file__).resolve().parents[2]
GROUPS = 300


def write_config(path: Path, emu, db_url: str) -> Path:
    port = free_port()
    path.write_text(f"""
[telegram]
token = "{emu.token}"
base_url = "{emu.base_url}"
admins = [{ADMIN_ID}]
[database]
url = "{db_url}"
[web]
host = "127.0.0.1"
port = {port}
public_url = "http://127.0.0.1:{port}"
[card]
locale = "en"
[metrics]
port = 0
""")
    return path


def start_bot(cfg: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "bot", "run", "-c", str(cfg)], cwd=ROOT,
                                env=env, stdout=out, stderr=subprocess.STDOUT)


def outbox(services: Services) -> dict[int, tuple[str, int]]:
    """chat id → (post status, attempts) of the broadcast posts."""
    with services.db.transaction() as session:
        rows = session.execute(select(Group.chat_id, Post.status, Post.attempts)
                               .join(Group, Group.id == Post.group_id)).all()
    return {chat: (status, attempts) for chat, status, attempts in rows}


async def wait_started(emu, proc: subprocess.Popen[bytes], log: Path, count: int) -> None:
    """Until the process logged its ``count``-th start (it polls now), or fail with its log."""
    def started() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"kocbot run exited {proc.returncode}:\n{log.read_text()[-3000:]}")
        return log.read_text().count('"kocbot started"') >= count
    await emu.wait_for(started, timeout=30)


@pytest.mark.slow
async def test_kill_9_mid_broadcast_then_restart(emulator, db_url: str, tmp_path: Path) -> None:
    emu = emulator
    emu.set_rate_limits(True, per_second=30, per_group_per_minute=20)
    cfg = write_config(tmp_path / "config.toml", emu, db_url)
    services = Services(config=parse_config({"database": {"url": db_url}}, env={}),
                        db=Database.from_url(db_url))
    import_catalog(services)
    register_owner(emu, services)
    chats = seed_groups(emu, services, GROUPS)
    emu.add_user(ADMIN_ID, "Admin", language_code="en")
    log = tmp_path / "kocbot.log"

    first = start_bot(cfg, log)
    try:
        await wait_started(emu, first, log, 1)
        emu.send_command(ADMIN_ID, ADMIN_ID, "/broadcast SKU1")
        # At 30 messages/s the broadcast takes ten seconds: kill it a third of the way in.
        await emu.wait_for(lambda: len(emu.sent(method="sendPhoto")) >= 100, timeout=30)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    at_kill = outbox(services)
    cards_at_kill = Counter(m["chat"]["id"] for m in emu.sent(method="sendPhoto"))
    assert len(at_kill) == GROUPS
    states = Counter(status for status, _ in at_kill.values())
    assert states["queued"] > 0, states  # the kill really came mid-broadcast

    second = start_bot(cfg, log)
    try:
        await wait_started(emu, second, log, 2)
        # Every queued post goes out; posts the dead process left "sending" stay so until their
        # lease runs out (then "unknown"): either way they are never sent again.
        await emu.wait_for(lambda: all(s != "queued" for s, _ in outbox(services).values())
                           and len(emu.sent(method="sendPhoto")) >= sum(cards_at_kill.values())
                           + states["queued"], timeout=60)
        await asyncio.sleep(1.0)  # time for a (wrong) resend to show up
    finally:
        # Everything is recorded by now; a graceful stop would only wait for the long poll.
        second.send_signal(signal.SIGKILL)
        second.wait(timeout=10)
        services.db.dispose()

    cards = Counter(m["chat"]["id"] for m in emu.sent(method="sendPhoto"))
    final = outbox(services)
    assert max(cards.values()) == 1, "a group got two cards"
    for chat in chats:
        status, attempts = at_kill[chat]
        if status == "queued":  # its send had not started: it must have gone out after the restart
            assert cards[chat] == 1 and final[chat][0] == "sent", (chat, at_kill[chat], final[chat])
        elif status == "sent":  # sent before the kill: never again
            assert cards[chat] == 1 and cards_at_kill[chat] == 1
        else:  # "sending" at the kill: outcome unknown, never resent
            assert status == "sending" and final[chat][0] in ("sending", "unknown")
            assert cards[chat] == cards_at_kill[chat] <= 1
    unknown = [c for c in chats if final[c][0] in ("sending", "unknown")]
    assert len(unknown) <= 16  # at most the sends in flight (the sender's concurrency)
    replies = [m for m in emu.sent(chat_id=ADMIN_ID) if "Queued SKU1" in m.get("text", "")]
    assert len(replies) == 1 and f"for {GROUPS} groups" in replies[0]["text"]
