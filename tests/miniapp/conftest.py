"""A running kocbot with a small catalog, a promoter who owns a group, a member and an admin,
and a client that calls the mini app's API with signed initData."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.support.config import ADMIN_ID
from tests.support.flow import command_reply, feed_csv

OWNER, MEMBER, STRANGER = 601, 602, 603
FEED = feed_csv(
    "acme,TH1,保温杯 500ml 不锈钢,https://shop.example/p/1,39.00,59.00,10%,home,,,,100,,CNY",
    "acme,TH2,保温杯 1L 大容量,https://shop.example/p/2,59.00,99.00,10%,home,,,,100,,CNY",
    "acme,EB1,Wireless earbuds 无线耳机,https://shop.example/p/3,99.00,199.00,0.08,tech,,,,,,CNY",
    "acme,EB2,Wired earbuds,https://shop.example/p/4,19.00,20.00,5%,tech,,,,,true,CNY",
    "acme,OLD,Sold out 保温杯,https://shop.example/p/5,9.00,19.00,10%,home,,,,0,,CNY",
    "bmart,RC1,电饭煲 智能,https://bmart.example/rc?from=tg,199.00,399.00,15%,kitchen,,,2026-12-31T00:00:00+08:00,7,,CNY",
)


@dataclass
class World:
    """The running bot, the emulator, the test clock and the group the owner runs."""

    kb: Any
    emu: Any
    clock: Any
    group: int

    def init_data(self, user: int, **options: Any) -> str:
        options.setdefault("auth_date", int(self.clock().timestamp()))
        return self.emu.init_data(user, **options)

    async def call(self, user: int | None, method: str, path: str, *, json: Any = None,
                   header: str | None = None) -> httpx.Response:
        """Call the API as ``user`` (signed initData), or with a raw Authorization header."""
        headers = {}
        if header is not None:
            headers["Authorization"] = header
        elif user is not None:
            headers["Authorization"] = "tma " + self.init_data(user)
        async with httpx.AsyncClient(base_url=self.kb.config.web.public_url) as client:
            return await client.request(method, path, headers=headers, json=json)


@pytest.fixture
async def world(emulator, kocbot, clock) -> World:
    kb, emu = kocbot, emulator
    kb.services.catalog.import_feed(FEED, filename="feed.csv")
    for user, name, lang in ((OWNER, "Olga", "en"), (MEMBER, "Mei", "zh-hans"), (STRANGER, "Sam", "en"),
                             (ADMIN_ID, "Ada", "en")):
        emu.add_user(user, name, language_code=lang)
    await command_reply(emu, user=OWNER, chat_id=OWNER, text="/start")
    group = emu.create_group("Deal hunters", admins=[OWNER], members=[MEMBER, STRANGER])
    emu.add_bot_to_group(group, OWNER)
    await emu.wait_for(lambda: bool(kb.services.groups.owned_by(OWNER)), timeout=10)
    return World(kb=kb, emu=emu, clock=clock, group=group)
