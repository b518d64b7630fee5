"""GET /card/<id>.jpg serves a cached render per product version and 404 for a product that is
not live (inactive, out of stock, ended, unknown)."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from bot.storage.models import Product
from tests.support.flow import feed_csv

ROW = "acme,{sku},Thermos {sku},https://shop.example/{sku},{price},59.00,10%,home,,,,,,CNY"


def renders(kb) -> float:
    return kb.metrics.registry.get_sample_value("kocbot_card_renders_total") or 0


def product_ids(kb) -> dict[str, int]:
    with kb.db.transaction() as session:
        return {p.sku: p.id for p in session.scalars(select(Product))}


async def test_renders_once_per_product_version(emulator, kocbot) -> None:
    kb = kocbot
    kb.services.catalog.import_feed(feed_csv(ROW.format(sku="S1", price="39.00")), filename="a.csv")
    url = f"{kb.config.web.public_url}/card/{product_ids(kb)['S1']}.jpg"
    async with httpx.AsyncClient() as client:
        first = await client.get(url)
        again = [await client.get(url) for _ in range(5)]
        assert renders(kb) == 1
        kb.services.catalog.import_feed(feed_csv(ROW.format(sku="S1", price="29.00")), filename="b.csv")
        changed = await client.get(url)
    assert first.status_code == 200 and first.headers["content-type"] == "image/jpeg"
    assert all(r.content == first.content for r in again)
    assert changed.status_code == 200 and changed.content != first.content
    assert renders(kb) == 2


async def test_products_that_are_not_live_are_404(emulator, kocbot, clock) -> None:
    kb = kocbot
    kb.services.catalog.import_feed(feed_csv(*(ROW.format(sku=s, price="39.00") for s in
                                               ("LIVE", "OFF", "SOLD", "ENDED", "LATER"))),
                                    filename="a.csv")
    ids = product_ids(kb)
    with kb.db.transaction() as session:
        session.get(Product, ids["OFF"]).active = False
        session.get(Product, ids["SOLD"]).stock = 0
        session.get(Product, ids["ENDED"]).ends_at = clock() - timedelta(minutes=1)
        session.get(Product, ids["LATER"]).starts_at = clock() + timedelta(days=1)
    base = f"{kb.config.web.public_url}/card"
    async with httpx.AsyncClient() as client:
        status = {sku: (await client.get(f"{base}/{pid}.jpg")).status_code for sku, pid in ids.items()}
        unknown = [(await client.get(f"{base}/{raw}.jpg")).status_code
                   for raw in ("999999", "99999999999999999999", "²", "-1", "1e3")]
    assert status == {"LIVE": 200, "OFF": 404, "SOLD": 404, "ENDED": 404, "LATER": 404}
    assert unknown == [404] * 5
    assert renders(kb) == 1
