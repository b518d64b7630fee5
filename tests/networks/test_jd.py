"""The JD Union connector against the fake gateway over real HTTP, on both backends: goods
import, a promotion link per member, an order row's life with the exact ledger at each step,
catching up after an outage, gateway errors, and malformed answers."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.networks.base import NetworkError
from bot.networks.jd import MAX_WINDOW, row_status
from bot.networks.sync import SUB_PREFIX
from bot.storage.models import NetworkCursor, NetworkProduct, Order, OrderEvent, Product
from tests.networks.conftest import MENTOR, PROMOTER, JdWorld, make_sync
from tests.support.fake_jd import LINK, ROWS
from tests.support.world import PARTNER, make_services

PENDING = {("platform", None, "pending"): 161, ("mentor", MENTOR, "pending"): 80,
           ("partner", PARTNER, "pending"): 48, ("promoter", PROMOTER, "pending"): 1317}


def moved(ledger: dict, bucket: str) -> dict:
    return {(party, user, bucket): amount for (party, user, _), amount in ledger.items()}


async def test_goods_import_pages_and_maps_fields(db_url, clock, fake_jd) -> None:
    from tests.networks.conftest import jd_settings

    services = make_services(db_url, clock, networks={"jd": jd_settings(fake_jd)})
    for sku in range(200001, 200046):  # 45 goods: two pages of at most 30
        fake_jd.add_goods(sku)
    fake_jd.add_goods(200046, commissionInfo={"commissionShare": "lots"})
    fake_jd.fail_next("jd.union.open.goods.query", "rate_limit")  # retried, then fine
    sync = make_sync(services, fake_jd, clock)
    result = await sync.import_products()
    await sync.connector.aclose()
    assert (result.total, result.created, len(result.errors)) == (46, 45, 1)
    assert "commission_rate" in result.errors[0].reason and result.errors[0].line == 46
    pages = [c["goodsReqDTO"] for c in fake_jd.calls_of("jd.union.open.goods.query")]
    assert [(p["pageIndex"], p["pageSize"]) for p in pages] == [(1, 30), (1, 30), (2, 30)]
    with services.db.transaction() as session:
        product = session.scalars(select(Product).where(Product.sku == "200001")).one()
        extra = session.scalars(select(NetworkProduct).where(NetworkProduct.sku == "200001")).one()
        count = session.scalar(select(func.count(Product.id)))
    assert (product.price, product.original_price) == (7990, 9900)  # coupon price; list price
    assert product.commission_rate == Decimal("0.1") and product.category == "电水壶"
    assert product.url == "https://item.jd.com/200001.html"
    assert product.image_url == "https://img14.360buyimg.com/200001.jpg"
    assert (extra.shop_name, extra.coupon_url) == ("店铺4", "https://coupon.m.jd.com/200001")
    assert count == 45
    services.db.dispose()


async def test_promotion_link_per_member_cached(jd_world: JdWorld) -> None:
    w = jd_world
    from bot.services.promoters import Person

    with w.services.db.transaction() as session:
        product = session.scalars(select(Product.id).where(Product.sku == "100001")).one()
    other = w.services.tracking.direct_link(product_id=product, person=Person(id=77),
                                            promoters=w.services.promoters)
    buyer_link = w.services.tracking.resolve(w.link_code)
    assert buyer_link is not None
    first = await w.sync.link_for(buyer_link.link_id)
    again = await w.sync.link_for(buyer_link.link_id)
    second = await w.sync.link_for(other.id)
    assert first == again and first != second and first.startswith("https://u.jd.com/")
    requests = [c["promotionCodeReq"] for c in w.fake.calls_of(LINK)]
    assert [r["subUnionId"] for r in requests] == [SUB_PREFIX + w.link_code, SUB_PREFIX + other.code]
    assert requests[0]["materialId"] == "https://item.jd.com/100001.html"
    assert requests[0]["couponUrl"] == "https://coupon.m.jd.com/100001"
    # Another process (a fresh sync) finds it in the database, without asking JD again.
    fresh = make_sync(w.services, w.fake, w.services.now)
    assert await fresh.link_for(buyer_link.link_id) == first and len(w.fake.calls_of(LINK)) == 2
    # A slow gateway: Buy waits no longer than the API timeout, then gets a clear error.
    third = w.services.tracking.direct_link(product_id=product, person=Person(id=78),
                                            promoters=w.services.promoters)
    w.fake.link_delay = 5.0
    with pytest.raises(NetworkError, match="no answer within 2 s"):
        await fresh.link_for(third.id)
    await fresh.connector.aclose()


async def test_order_row_created_paid_completed_refunded(jd_world: JdWorld, clock) -> None:
    w = jd_world
    sub = SUB_PREFIX + w.link_code

    async def step(valid_code: int, **row: object) -> str:
        clock.advance(minutes=20)
        w.fake.set_row(9001, 100001, valid_code=valid_code, modified=clock() - timedelta(minutes=5),
                       sub_union_id=sub, **row)  # type: ignore[arg-type]
        return str(await w.sync.poll_orders())

    summary = await step(15)
    assert "24 windows" in summary and "1 200" in summary  # a day back, an hour at most a window
    assert w.ledger() == PENDING
    with w.services.db.transaction() as session:
        order = session.scalars(select(Order)).one()
        assert (order.order_id, order.click_id, order.promoter_id) == ("jd-9001-100001", w.click_id, PROMOTER)
        assert (order.amount, order.pool, order.status) == (12850, 1606, "pending")
        assert order.merchant == "jd"

    await step(16)  # paid: still pending, nothing booked
    assert w.ledger() == PENDING
    await step(17, actual_fee="16.06", finish="2026-11-24 12:00:00")
    assert w.ledger() == moved(PENDING, "confirmed")
    await step(17, actual_fee="0", returned=1, finish="2026-11-24 12:00:00")
    refunded = w.ledger()
    assert {k: v for k, v in refunded.items() if k[2] != "reversed"} == {}
    assert sum(v for k, v in refunded.items() if k[2] == "reversed") == 1606
    with w.services.db.transaction() as session:
        statuses = session.scalars(select(OrderEvent.status).order_by(OrderEvent.id)).all()
        assert statuses == ["pending", "confirmed", "refunded"]
        assert session.scalars(select(OrderEvent.source)).all() == ["jd"] * 3


async def test_completed_row_pays_the_actual_fee_not_the_estimate(jd_world: JdWorld, clock) -> None:
    """JD reports estimateFee while the order is open and actualFee once it completes (lower,
    say, after a price protection refund): the confirmed money is split from actualFee."""
    w = jd_world
    sub = SUB_PREFIX + w.link_code
    for code, fee in ((15, "0"), (17, "12.00")):
        clock.advance(minutes=20)
        w.fake.set_row(9002, 100001, valid_code=code, modified=clock() - timedelta(minutes=5),
                       sub_union_id=sub, actual_fee=fee, finish="2026-11-24 12:00:00" if fee != "0" else "")
        await w.sync.poll_orders()
    assert w.ledger() == {("platform", None, "confirmed"): 120, ("mentor", MENTOR, "confirmed"): 60,
                          ("partner", PARTNER, "confirmed"): 36, ("promoter", PROMOTER, "confirmed"): 984}
    with w.services.db.transaction() as session:
        assert session.scalars(select(Order.pool)).one() == 1200


async def test_outage_catch_up_without_gaps_or_doubles(jd_world: JdWorld, clock) -> None:
    w = jd_world
    sub = SUB_PREFIX + w.link_code
    await w.sync.poll_orders()
    # Down for five hours: the gateway fails; rows keep arriving and changing meanwhile.
    w.fake.fail_next(ROWS, *["system"] * 4)
    clock.advance(minutes=30)
    failed = await w.sync.poll_orders()
    assert failed.stopped.startswith("JD Union error 500") and failed.windows == 0
    start = clock()
    for n in range(40):  # 40 orders spread over five hours, some changed twice
        clock.set(start + timedelta(minutes=7 * n))
        w.fake.set_row(7000 + n, 100002, valid_code=16, modified=clock(), sub_union_id=sub)
        if n % 5 == 0:
            w.fake.set_row(7000 + n, 100002, valid_code=3, modified=clock() + timedelta(minutes=3),
                           sub_union_id=sub)
    clock.set(start + timedelta(hours=5))
    caught = await w.sync.poll_orders()
    assert caught.stopped == "" and caught.windows == 6
    with w.services.db.transaction() as session:
        orders = {o.order_id: o.status for o in session.scalars(select(Order))}
        events = session.scalar(select(func.count(OrderEvent.id)))
        cursor = session.get_one(NetworkCursor, "jd")
    # The API gives a row's state as of now: the 8 cancelled during the outage are seen once.
    assert len(orders) == 40 and events == 40
    assert sorted(orders.values()).count("cancelled") == 8
    assert w.ledger() == {**{key: 32 * amount for key, amount in PENDING.items()},
                          **{key: 8 * amount for key, amount in moved(PENDING, "reversed").items()}}
    assert cursor.cursor_at == clock() - w.sync.lag and cursor.lease_owner is None
    again = await w.sync.poll_orders()  # nothing new: nothing booked
    assert again.rows == 0 and again.windows == 0


async def test_gateway_errors_and_malformed_answers_book_nothing(jd_world: JdWorld, clock) -> None:
    w = jd_world
    w.fake.set_row(5001, 100001, valid_code=16, modified=clock() - timedelta(minutes=30),
                   sub_union_id=SUB_PREFIX + w.link_code)
    for kind, times in (("not_json", 1), ("no_envelope", 1), ("result_not_json", 1),
                        ("data_not_object", 1), ("http500", 4)):  # a 5xx is retried 3 times
        w.fake.fail_next(ROWS, *[kind] * times)
        summary = await w.sync.poll_orders()
        assert summary.stopped and summary.rows == 0, (kind, summary)
        with w.services.db.transaction() as session:
            assert session.scalar(select(func.count(Order.id))) == 0
            cursor = session.get_one(NetworkCursor, "jd")
            assert cursor.cursor_at == clock() - timedelta(days=1)  # not moved
    w.fake.fail_next(ROWS, "bad_row")  # the first window's rows lack their identity: skipped
    summary = await w.sync.poll_orders()
    assert summary.stopped == "" and summary.windows == 24 and summary.outcomes == {"200": 1}
    clock.advance(minutes=30)
    w.fake.set_row(5002, 100001, valid_code=15, modified=clock() - timedelta(minutes=5),
                   sub_union_id=SUB_PREFIX + w.link_code)
    w.fake.fail_next(ROWS, "rate_limit", "rate_limit")  # retried with backoff
    summary = await w.sync.poll_orders()
    assert summary.stopped == "" and summary.outcomes == {"200": 1}

    # A wrong secret: the gateway refuses the signature; nothing moves and check says so.
    bad = make_services(w.services.config.database.url, clock, networks={"jd": {
        "app_key": w.fake.app_key, "app_secret": "wrong", "union_id": "1", "api_url": w.fake.url}})
    wrong = make_sync(bad, w.fake, clock)
    with pytest.raises(NetworkError, match="error 12: Invalid Signature"):
        await wrong.connector.order_rows(clock() - timedelta(minutes=5), clock(), 1)
    lines = await wrong.connector.check()
    assert [(line.what, line.ok) for line in lines] == [("credentials", False), ("API", False)]
    good = await w.sync.connector.check()
    assert [(line.what, line.ok) for line in good] == [("credentials", True), ("API", True)]
    await wrong.connector.aclose()
    bad.db.dispose()


async def test_fake_refuses_what_the_api_refuses(jd_world: JdWorld, clock) -> None:
    gateway = jd_world.sync.connector.gateway  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="at most 1:00:00"):
        await jd_world.sync.connector.order_rows(clock() - MAX_WINDOW * 2, clock(), 1)
    wide = {"orderReq": {"pageIndex": 1, "pageSize": 200, "type": 3,
                         "startTime": "2026-11-24 06:00:00", "endTime": "2026-11-24 08:00:00"}}
    with pytest.raises(NetworkError, match="at most 1 hour apart"):
        await gateway.call(ROWS, wide, clock())
    big = {"orderReq": {**wide["orderReq"], "endTime": "2026-11-24 06:30:00", "pageSize": 500}}
    with pytest.raises(NetworkError, match="pageSize 1-200"):
        await gateway.call(ROWS, big, clock())
    with pytest.raises(NetworkError, match="error 8: Invalid Timestamp"):
        await gateway.call(ROWS, wide, clock() - timedelta(minutes=10))


def test_valid_code_table() -> None:
    assert [row_status({"validCode": c}) for c in (15, 16, 24)] == ["pending"] * 3
    assert row_status({"validCode": 17, "skuNum": 2, "skuReturnNum": 1}) == "confirmed"
    assert row_status({"validCode": 17, "skuNum": 2, "skuReturnNum": 2}) == "refunded"
    assert row_status({"validCode": 3}) == "cancelled"
    assert row_status({"validCode": 25, "finishTime": "2026-11-24 12:00:00"}) == "refunded"
    assert row_status({"validCode": -1}) is None and row_status({}) is None


async def test_rows_of_another_site_are_not_ours(jd_world: JdWorld, clock) -> None:
    from dataclasses import replace

    from bot.networks.jd import JdConnector

    w = jd_world
    for order, site in ((6001, 4242), (6002, 777), (6003, 0)):
        w.fake.set_row(order, 100001, valid_code=16, modified=clock() - timedelta(minutes=10), site_id=site)
    settings = replace(w.services.config.networks.jd, site_id="4242")
    connector = JdConnector(settings, now=clock)
    page = await connector.order_rows(clock() - timedelta(minutes=30), clock(), 1)
    await connector.aclose()
    # Our site's row, and a row that names no site; not the other site's.
    assert sorted(row.row_key for row in page.rows) == ["6001-100001", "6003-100001"]
