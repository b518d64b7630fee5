"""Several bot tokens on one database: each group belongs to the bot that was added to it, and
only that bot posts there (each token has its own 30 messages/s budget)."""

from __future__ import annotations

import random
from pathlib import Path

from sqlalchemy import select

from bot.app import Kocbot
from bot.emulator import Emulator
from bot.storage.models import Group
from tests.conftest import free_port
from tests.support.config import make_config
from tests.support.flow import feed_csv

OWNER = 101
FEED = feed_csv("acme,S1,Thermos,https://shop.example/1,39.00,59.00,10%,home,,,,,,CNY")


async def test_each_group_is_served_by_its_own_bot(db_url: str, clock, tmp_path: Path) -> None:
    emulators = [Emulator(token="111111:TOKEN-A", bot_username="koc_a_bot"),  # noqa: S106
                 Emulator(token="222222:TOKEN-B", bot_username="koc_b_bot")]  # noqa: S106
    bots: list[Kocbot] = []
    try:
        for emu in emulators:
            await emu.start()
            port = free_port()
            kocbot = Kocbot(make_config(emulator=emu, db_url=db_url, port=port), now=clock,
                        rng=random.Random(1), cache_dir=tmp_path / "cache", run_scheduler=False)
            await kocbot.start()
            bots.append(kocbot)
        bots[0].services.catalog.import_feed(FEED, filename="feed.csv")
        chats: list[list[int]] = []
        for emu in emulators:
            emu.add_user(OWNER, "Owner", language_code="en")
            emu.send_command(OWNER, OWNER, "/start")
            await emu.wait_for(lambda e=emu: e.sent(chat_id=OWNER), timeout=10)
            mine = [emu.create_group(f"{emu.bot_user['username']} {i}", admins=[OWNER],
                                     chat_id=-(5_000_000 + len(chats) * 100 + i)) for i in range(3)]
            for chat in mine:
                emu.add_bot_to_group(chat, OWNER)
            await emu.wait_for(lambda e=emu, m=mine: all(e.sent(chat_id=c) for c in m), timeout=10)
            chats.append(mine)
        with bots[0].db.transaction() as session:
            owners = dict(session.execute(select(Group.chat_id, Group.bot_id)).all())
        assert {owners[c] for c in chats[0]} == {111111}
        assert {owners[c] for c in chats[1]} == {222222}

        assert bots[0].services.posting.broadcast("S1") == 6
        for kocbot in bots:
            kocbot.sender.wake()
        for emu, mine in zip(emulators, chats, strict=True):
            await emu.wait_for(lambda e=emu, m=mine: all(e.sent(chat_id=c, method="sendPhoto") for c in m),
                               timeout=20)
        for emu, mine in zip(emulators, chats, strict=True):
            photos = emu.sent(method="sendPhoto")
            assert sorted(p["chat"]["id"] for p in photos) == sorted(mine)  # only its own groups
            assert emu.uploads == 1  # each bot uploads the card once: file ids are per bot
        with bots[0].db.transaction() as session:
            assert all(session.scalars(select(Group.active)))
    finally:
        for kocbot in bots:
            await kocbot.stop()
        for emu in emulators:
            await emu.stop()
            assert emu.violations == []
