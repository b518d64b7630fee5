"""Settling and payouts on a real database: min_payout, never above the settled balance,
the entries each payout covers, and a refund after payout as a negative entry."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.domain.postback import OrderReport
from bot.services.base import ServiceError
from bot.storage.models import LedgerEntry, Order
from tests.support.clock import Clock
from tests.support.world import FEED, add_group, add_post, clicks, make_services, product_ids, register, tap

RO = 3


def test_payouts_cover_settled_entries_oldest_first(db_url: str) -> None:
    clock = Clock()
    s = make_services(db_url, clock)
    s.catalog.import_feed(FEED, filename="feed.csv")
    register(s, RO, "Ro")
    group = add_group(s, -1, "G", RO)
    post = add_post(s, group, product_ids(s)["SKU2"])
    ids = clicks(s, tap(s, post, 50, "m"), 3)

    def order(n: int, status: str, amount: int) -> None:
        outcome = s.orders.ingest(OrderReport(order_id=f"P{n}", click_id=ids[n], amount=amount,
                                              status=status, commission=None, currency="CNY", ts=None),
                                  source="postback", promoters=s.promoters)
        assert outcome.status == 200

    order(0, "confirmed", 100_00)   # pool 800 → Ro 720
    clock.advance(days=1)
    order(1, "confirmed", 200_00)   # pool 1600 → Ro 1440
    order(2, "pending", 50_00)      # pool 400 → Ro 360, never payable
    with pytest.raises(ServiceError, match="settled balance is ¥0.00"):
        s.orders.payout(user_id=RO, amount_text="10.00", admin_id=1)
    clock.advance(days=14, hours=12)
    assert s.orders.settle() == 1  # only P0 is 15 days old
    clock.advance(days=1)
    assert s.orders.settle() == 1
    assert s.orders.settle() == 0  # idempotent
    with pytest.raises(ServiceError, match="minimum payout"):
        s.orders.payout(user_id=RO, amount_text="9.99", admin_id=1)
    with pytest.raises(ServiceError, match="cannot pay more"):
        s.orders.payout(user_id=RO, amount_text="21.61", admin_id=1)
    with pytest.raises(ServiceError, match="bad amount"):
        s.orders.payout(user_id=RO, amount_text="ten", admin_id=1)
    first = s.orders.payout(user_id=RO, amount_text="10.00", admin_id=1)
    second = s.orders.payout(user_id=RO, amount_text="11.60", admin_id=1)
    with s.db.transaction() as session:
        def covered(payout_id: int) -> dict[str, int]:
            return {o: int(a) for o, a in session.execute(
                select(Order.order_id, func.sum(LedgerEntry.amount))
                .join(Order, Order.id == LedgerEntry.order_id)
                .where(LedgerEntry.payout_id == payout_id, LedgerEntry.bucket == "paid")
                .group_by(Order.order_id))}
        assert covered(first.id) == {"P0": 720, "P1": 280}
        assert covered(second.id) == {"P1": 1160}
        assert s.orders.payable_balance(session, RO) == 0
    # P1 refunded after it was paid: Ro owes 14.40 as a negative payable balance.
    order(1, "refunded", 200_00)
    with s.db.transaction() as session:
        assert s.orders.payable_balance(session, RO) == -1440
        total = session.scalar(select(func.sum(LedgerEntry.amount)).where(LedgerEntry.user_id == RO))
        assert total == 720 + 1440 + 360  # append-only: every booked cent is still there
    with pytest.raises(ServiceError, match="settled balance is -¥14.40"):
        s.orders.payout(user_id=RO, amount_text="10.00", admin_id=1)
    s.db.dispose()


@pytest.mark.parametrize("self_purchase", [True, False])
def test_self_purchase_rule(sqlite_url: str, self_purchase: bool) -> None:
    from bot.services.promoters import Person

    s = make_services(sqlite_url, Clock(), commission={"self_purchase": self_purchase})
    s.catalog.import_feed(FEED, filename="feed.csv")
    register(s, RO, "Ro")
    sku1 = product_ids(s)["SKU1"]
    own = s.tracking.direct_link(product_id=sku1, person=Person(id=RO), promoters=s.promoters)
    guest = s.tracking.direct_link(product_id=sku1, person=Person(id=77), promoters=s.promoters)
    for n, link in enumerate((own, guest)):
        click_id = clicks(s, link.code)[0]
        s.orders.ingest(OrderReport(order_id=f"S{n}", click_id=click_id, amount=3900, status="pending",
                                    commission=None, currency="CNY", ts=None),
                        source="postback", promoters=s.promoters)
    with s.db.transaction() as session:
        promoters = dict(session.execute(select(Order.order_id, Order.promoter_id)).all())
        parties = dict(session.execute(select(LedgerEntry.party, func.sum(LedgerEntry.amount))
                                       .group_by(LedgerEntry.party)).all())
    # A registered promoter buying through their own link earns the promoter share; an
    # unregistered buyer with no referrer leaves the whole pool to the platform.
    assert promoters == {"S0": RO if self_purchase else None, "S1": None}
    assert parties == ({"platform": 39 + 390, "promoter": 351} if self_purchase else {"platform": 780})
    s.db.dispose()
