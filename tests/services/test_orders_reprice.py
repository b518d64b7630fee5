"""A confirmation that names the final commission re-prices the order before its money moves
on: a network's estimate (JD's estimateFee) is never what gets paid once the actual figure
(actualFee) is known. On SQLite and PostgreSQL, with the same confirmation sent at once."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.domain.postback import OrderReport
from bot.storage.models import LedgerEntry, Order
from tests.support.clock import Clock
from tests.support.threads import together
from tests.support.world import MENTOR, PARTNER, PROMOTER, clicks, holdings, make_services, upline_chain


def report(order_id: str, click_id: str, status: str, commission: int | None,
           amount: int = 12850) -> OrderReport:
    return OrderReport(order_id=order_id, click_id=click_id, amount=amount, status=status,
                       commission=commission, currency="CNY", ts=None)


def split_of(pool: int, bucket: str) -> dict[tuple[str, int | None, str], int]:
    """PRODUCT.md's split for the partner → mentor → promoter chain, computed here."""
    platform = round(pool * 0.10)  # the pools below are chosen so half-even never matters
    mentor, partner = pool * 5 // 100, pool * 3 // 100
    return {("platform", None, bucket): platform, ("mentor", MENTOR, bucket): mentor,
            ("partner", PARTNER, bucket): partner,
            ("promoter", PROMOTER, bucket): pool - platform - mentor - partner}


def test_confirmation_with_a_lower_commission_pays_the_actual_figure(db_url: str) -> None:
    clock = Clock()
    services = make_services(db_url, clock)
    _group, link = upline_chain(services)
    click = clicks(services, link)[0]
    ingest = lambda r: services.orders.ingest(r, source="postback", promoters=services.promoters)  # noqa: E731

    assert ingest(report("R-1", click, "pending", 1000)).status == 200
    assert holdings(services, "R-1") == split_of(1000, "pending")
    assert ingest(report("R-1", click, "confirmed", 600, amount=9000)).status == 200
    assert holdings(services, "R-1") == split_of(600, "confirmed")
    with services.db.transaction() as session:
        order = session.scalars(select(Order).where(Order.order_id == "R-1")).one()
        assert (order.pool, order.amount, order.status) == (600, 9000, "confirmed")
    # A repeat of the confirmation, or a late pending with the estimate, changes nothing.
    assert ingest(report("R-1", click, "confirmed", 600, amount=9000)).status == 200
    assert ingest(report("R-1", click, "pending", 1000)).status == 200
    assert holdings(services, "R-1") == split_of(600, "confirmed")
    # Once settled, the promoter can be paid the actual share, and not a cent of the estimate.
    clock.advance(days=services.config.commission.settle_after_days + 1)
    assert services.orders.payable(PROMOTER) == split_of(600, "x")[("promoter", PROMOTER, "x")]


def test_confirmation_without_a_commission_keeps_the_booked_pool(db_url: str) -> None:
    services = make_services(db_url, Clock())
    _group, link = upline_chain(services)
    click = clicks(services, link)[0]
    ingest = lambda r: services.orders.ingest(r, source="postback", promoters=services.promoters)  # noqa: E731
    assert ingest(report("K-1", click, "pending", 2000)).status == 200
    assert ingest(report("K-1", click, "confirmed", None)).status == 200
    assert holdings(services, "K-1") == split_of(2000, "confirmed")
    # Priced from the product's rate at first, then the network names the commission.
    assert ingest(report("K-2", click, "pending", None)).status == 200
    assert sum(holdings(services, "K-2").values()) == 1606  # 12.5% of ¥128.50
    assert ingest(report("K-2", click, "confirmed", 1200)).status == 200
    assert holdings(services, "K-2") == split_of(1200, "confirmed")


def test_the_same_lower_confirmation_at_once_adjusts_once(db_url: str) -> None:
    services = make_services(db_url, Clock())
    _group, link = upline_chain(services)
    click = clicks(services, link)[0]
    assert services.orders.ingest(report("T-1", click, "pending", 3000), source="postback",
                                  promoters=services.promoters).status == 200
    statuses = together([lambda: services.orders.ingest(
        report("T-1", click, "confirmed", 2000), source="postback",
        promoters=services.promoters).status for _ in range(8)])
    assert statuses == [200] * 8
    assert holdings(services, "T-1") == split_of(2000, "confirmed")
    with services.db.transaction() as session:
        adjusts = session.scalar(select(func.count()).select_from(LedgerEntry)
                                 .join(Order, Order.id == LedgerEntry.order_id)
                                 .where(Order.order_id == "T-1", LedgerEntry.event == "adjust"))
        assert adjusts == 8  # four parties out of pending at the estimate, four in at the actual
