"""``/c/<code>`` answers a cached link from a plain ASGI endpoint: the Location header, the
click it records (person or bot hit, user agent, referrer) and the metric are the same as on
the Starlette path a first click (a cache miss) takes, for a product URL that needs escaping."""

from __future__ import annotations

import httpx
from sqlalchemy import select, update

from bot.storage.models import Click, Link, Product
from tests.abuse.test_forgery import MEMBER, setup_card
from tests.support.flow import tap_buy

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
AWKWARD_URL = "https://shop.example/p/保温杯 1?ref=tg&q=a b#top"


async def test_cached_and_uncached_clicks_answer_and_record_alike(emulator, kocbot_factory) -> None:
    kocbot = await kocbot_factory()
    _chat, card = await setup_card(emulator, kocbot)
    url = await tap_buy(emulator, member=MEMBER, card=card)
    code = url.rsplit("/", 1)[1]
    with kocbot.db.transaction() as session:
        product_id = session.scalar(select(Link.product_id).where(Link.code == code))
        session.execute(update(Product).where(Product.id == product_id).values(url=AWKWARD_URL))
    web = kocbot.web.state.web
    web.links = type(web.links)(kocbot.services.tracking.resolve_many, inline=web.links.inline)
    headers = {"User-Agent": PHONE, "Referer": "https://t.me/"}
    async with httpx.AsyncClient() as client:
        first = await client.get(url, headers=headers)  # a miss: the Starlette path
        second = await client.get(url, headers=headers)  # cached: the ASGI endpoint
        head = await client.head(url, headers=headers)  # cached, a HEAD: a bot hit
    assert [r.status_code for r in (first, second, head)] == [302, 302, 302]
    ids = []
    for response in (first, second, head):
        location, _, click_id = response.headers["location"].rpartition("subid=")
        assert location == "https://shop.example/p/%E4%BF%9D%E6%B8%A9%E6%9D%AF%201?ref=tg&q=a+b&"
        click_id, _, fragment = click_id.partition("#")
        assert fragment == "top"
        assert response.headers["content-length"] == "0"
        ids.append(click_id)
    assert len(set(ids)) == 3
    await kocbot.clicks.flush()
    with kocbot.db.transaction() as session:
        rows = {c.id: c for c in session.scalars(select(Click).where(Click.id.in_(ids)))}
    assert [(rows[i].is_bot, rows[i].user_agent, rows[i].referrer) for i in ids] == [
        (False, PHONE, "https://t.me/"), (False, PHONE, "https://t.me/"), (True, PHONE, "https://t.me/")]
    sample = kocbot.metrics.registry.get_sample_value
    assert sample("kocbot_clicks_total", {"kind": "human"}) == 2
    assert sample("kocbot_clicks_total", {"kind": "bot"}) == 1
