"""Buy on a JD product in a running kocbot: the member's tracked link answers with their own
JD promotion link (made once, then cached), and a gateway slower than the API timeout gets a
clear page within that timeout instead of a hung request."""

from __future__ import annotations

import time

import httpx
from sqlalchemy import func, select

import bot.networks.runtime as runtime
from bot.networks.sync import NetworkSync
from bot.services.promoters import Person
from bot.storage.models import Click, NetworkLink, Product
from tests.networks.conftest import jd_settings


async def test_buy_redirects_to_the_members_promotion_link(kocbot_factory, fake_jd, monkeypatch) -> None:
    monkeypatch.setattr(runtime, "LINK_TIMEOUT", 1.0)
    kocbot = await kocbot_factory(run_scheduler=False, config={"networks": {"jd": jd_settings(fake_jd)}})
    fake_jd.add_goods(300001)
    fake_jd.add_goods(300002)
    sync: NetworkSync = kocbot.networks.syncs["jd"]
    await sync.import_products()
    with kocbot.db.transaction() as session:
        products = dict(session.execute(select(Product.sku, Product.id)).all())
    link = kocbot.services.tracking.direct_link(product_id=products["300001"], person=Person(id=41),
                                            promoters=kocbot.services.promoters)
    base = kocbot.config.web.public_url
    browser = {"user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"}
    async with httpx.AsyncClient(headers=browser) as client:
        first = await client.get(f"{base}/c/{link.code}")
        again = await client.get(f"{base}/c/{link.code}")
        assert first.status_code == again.status_code == 302
        assert first.headers["location"] == again.headers["location"]
        assert first.headers["location"].startswith("https://u.jd.com/")
        request = fake_jd.calls_of("jd.union.open.promotion.bysubunionid.get")
        assert len(request) == 1 and request[0]["promotionCodeReq"]["subUnionId"] == "kb" + link.code

        preview = await client.get(f"{base}/c/{link.code}", headers={"user-agent": "TelegramBot (like "
                                                                             "TwitterBot)"})
        assert preview.headers["location"].startswith("https://item.jd.com/300001.html")
        fake_jd.link_delay = 5.0
        slow = kocbot.services.tracking.direct_link(product_id=products["300002"], person=Person(id=42),
                                                promoters=kocbot.services.promoters)
        began = time.monotonic()
        answer = await client.get(f"{base}/c/{slow.code}")
        waited = time.monotonic() - began
    assert answer.status_code == 503 and "Open the same link again in a minute" in answer.text
    assert waited < 3.0  # the API timeout (1 s here), not the gateway's 5 s
    await kocbot.clicks.flush()
    with kocbot.db.transaction() as session:
        assert session.scalar(select(func.count(NetworkLink.id))) == 1
        # Two clicks and one bot hit; the failed Buy is not a click.
        assert session.scalar(select(func.count(Click.id))) == 3
