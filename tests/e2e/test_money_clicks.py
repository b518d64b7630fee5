"""Clicks on a running server: 302 with the sub-id, HEAD and crawlers as bot hits, unique
clickers per day, salted IP hashes, cropped headers, template 404/410 pages, and every
buffered click written by a graceful shutdown."""

from __future__ import annotations

import asyncio
import random

import httpx
from sqlalchemy import func, select

from bot.app import Kocbot
from bot.domain.clicks import UA_MAX
from bot.services.promoters import Person
from bot.storage.db import Database
from bot.storage.models import Click, Product
from tests.conftest import free_port
from tests.support.config import make_config
from tests.support.flow import click, command_reply, feed_csv, post_card, subid, tap_buy
from tests.support.world import FEED

PROMOTER, MEMBER = 101, 202
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"


async def setup(emu, kocbot) -> str:  # type: ignore[no-untyped-def]
    """A registered promoter's group, a card, and a member's tracked link."""
    kocbot.services.catalog.import_feed(FEED, filename="feed.csv")
    emu.add_user(PROMOTER, "Promo")
    emu.add_user(MEMBER, "Mei")
    await command_reply(emu, user=PROMOTER, chat_id=PROMOTER, text="/start")
    chat = emu.create_group("Clicks Club", admins=[PROMOTER], members=[MEMBER])
    emu.add_bot_to_group(chat, PROMOTER)
    await emu.wait_for(lambda: emu.sent(chat_id=chat), timeout=10)
    card = await post_card(emu, kocbot, admin=PROMOTER, chat_id=chat, sku="SKU2")
    return await tap_buy(emu, member=MEMBER, card=card)


async def test_clicks_bots_uniques_and_pages(emulator, kocbot_factory, clock) -> None:
    emu = emulator
    kocbot = await kocbot_factory(run_scheduler=False)
    url = await setup(emu, kocbot)
    status, location = await click(url, **{"user-agent": BROWSER + "x" * 600, "referer": "r" * 900})
    assert status == 302 and location.startswith("https://shop.example/p/2?subid=")
    first = subid(location)
    assert (await click(url, **{"user-agent": BROWSER}))[0] == 302  # same member, same day
    async with httpx.AsyncClient() as client:
        head = await client.head(url)
    assert head.status_code == 302
    preview = await click(url, **{"user-agent": "TelegramBot (like TwitterBot)"})
    assert preview[0] == 302
    clock.advance(days=1)
    assert (await click(url, **{"user-agent": BROWSER}))[0] == 302  # a new day: a new unique
    await kocbot.clicks.flush()

    with kocbot.db.transaction() as session:
        rows = session.scalars(select(Click).order_by(Click.created_at)).all()
        assert [c.is_bot for c in rows].count(True) == 2 and len(rows) == 5
        one = session.get_one(Click, first)
        assert len(one.user_agent) == UA_MAX and len(one.referrer) <= 512
        hashes = {c.ip_hash for c in rows}
        assert len(hashes) == 1 and "127.0.0.1" not in hashes.pop()

    answer = (await command_reply(emu, user=PROMOTER, chat_id=PROMOTER, text="/commission"))["text"]
    assert "Clicks: 3 (unique 2)" in answer
    emu.add_user(900, "Admin")
    stats = (await command_reply(emu, user=900, chat_id=900, text="/stats all"))["text"]
    assert "Clicks: 3 (bot hits 2)" in stats

    base = kocbot.config.web.public_url
    missing = await click(f"{base}/c/AAAAAAAAAAAAAAAA")
    assert missing[0] == 404
    async with httpx.AsyncClient() as client:
        page = await client.get(f"{base}/c/AAAAAAAAAAAAAAAA")
        assert "Link not found" in page.text and "<!doctype html>" in page.text
        kocbot.services.catalog.import_feed(feed_csv(
            "acme,GONE,Sold-out kettle,https://shop.example/p/9,10.00,20.00,10%,home,,,,0,,CNY"),
            filename="gone.csv")
        with kocbot.db.transaction() as session:
            gone = session.scalars(select(Product.id).where(Product.sku == "GONE")).one()
        link = kocbot.services.tracking.direct_link(product_id=gone, person=Person(id=MEMBER),
                                                promoters=kocbot.services.promoters)
        ended = await client.get(f"{base}/c/{link.code}")
        assert ended.status_code == 410 and "Sold-out kettle" in ended.text


async def test_graceful_shutdown_writes_every_buffered_click(emulator, db_url, clock, tmp_path) -> None:
    emu = emulator
    config = make_config(emulator=emu, db_url=db_url, port=free_port())
    kocbot = Kocbot(config, now=clock, rng=random.Random(1), cards_dir=tmp_path / "c",
                cache_dir=tmp_path / "k", run_scheduler=False)
    await kocbot.start()
    stopped = False
    try:
        url = await setup(emu, kocbot)
        await kocbot.clicks.flush()
        kocbot.clicks.interval, kocbot.clicks.size = 3600, 10**9  # nothing is written until shutdown
        await asyncio.sleep(0.5)  # let the writer's current short wait end
        await kocbot.clicks.flush()
        async with httpx.AsyncClient() as client:
            for _ in range(120):
                response = await client.get(url, headers={"user-agent": BROWSER})
                assert response.status_code == 302
        assert len(kocbot.clicks) == 120
        await kocbot.stop()
        stopped = True
    finally:
        if not stopped:
            await kocbot.stop()
    db = Database.from_url(db_url)
    with db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Click)) == 120
    db.dispose()
