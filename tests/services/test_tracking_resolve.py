"""``/c/<code>``'s lookups on real SQLite and PostgreSQL: ``resolve_many`` answers each known
code exactly as the product and merchant rows say, leaves unknown codes out, and takes more
codes than one ``IN`` list holds."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update

from bot.services.base import IN_LIST
from bot.services.tracking import ClickTarget
from bot.storage.models import Link, Merchant, Product
from tests.support.world import BUYER, add_group, add_post, product_ids, register, tap


def test_resolve_many_answers_each_code_from_its_rows(services) -> None:
    register(services, 10, "Pro")
    group = add_group(services, -5, "Club", 10)
    ids = product_ids(services)
    codes = {sku: tap(services, add_post(services, group, pid), BUYER, "Bea") for sku, pid in ids.items()}
    ends = datetime(2027, 1, 1, tzinfo=UTC)
    with services.db.transaction() as session:
        session.execute(update(Product).where(Product.id == ids["SKU2"])
                        .values(stock=0, ends_at=ends, active=False))
        session.execute(update(Merchant).values(url_template="https://go.example/?u={url}"))
    found = services.tracking.resolve_many([*codes.values(), "no-such-code"])

    assert set(found) == set(codes.values())
    with services.db.transaction() as session:
        for code in codes.values():
            link = session.scalars(select(Link).where(Link.code == code)).one()
            product = session.get_one(Product, link.product_id)
            merchant = session.get_one(Merchant, product.merchant_id)
            assert found[code] == ClickTarget(
                link_id=link.id, product_url=product.url, subid_param=merchant.subid_param,
                url_template="https://go.example/?u={url}", title=product.title,
                active=product.active, ends_at=product.ends_at, stock=product.stock,
                merchant=merchant.name)
            assert services.tracking.resolve(code) == found[code]
    assert found[codes["SKU2"]].expired(datetime(2026, 12, 1, tzinfo=UTC))
    assert services.tracking.resolve("no-such-code") is None


def test_resolve_many_takes_more_codes_than_one_in_list(services) -> None:
    register(services, 10, "Pro")
    post = add_post(services, add_group(services, -5, "Club", 10), product_ids(services)["SKU1"])
    known = [tap(services, post, 1000 + i) for i in range(3)]
    unknown = [f"unknown{i}" for i in range(IN_LIST + 10)]
    found = services.tracking.resolve_many(unknown[:IN_LIST - 1] + known + unknown[IN_LIST - 1:])
    assert sorted(found) == sorted(known)
