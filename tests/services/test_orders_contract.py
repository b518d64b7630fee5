"""Issue 11's contract on a real database: per-currency booking with [commission.rates],
orders keyed by (merchant, order_id), money payable the moment its hold ends, and a tier
promotion in force for the very next order."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.domain.postback import OrderReport
from bot.services.base import ServiceError
from bot.storage.models import LedgerEntry, Order, User
from tests.services.test_orders_events import holdings, per_account
from tests.support.clock import Clock
from tests.support.world import (
    BUYER,
    FEED,
    MENTOR,
    PARTNER,
    PROMOTER,
    add_group,
    add_post,
    clicks,
    make_services,
    product_ids,
    register,
    tap,
)


def report(order_id: str, click_id: str, amount: int, status: str = "confirmed", *,
           currency: str = "CNY", commission: int | None = None, merchant: str = "") -> OrderReport:
    return OrderReport(click_id=click_id, order_id=order_id, amount=amount, status=status,
                       commission=commission, currency=currency, ts=None, merchant=merchant)


def one_click(services, owner: int = PROMOTER, sku: str = "SKU3") -> str:
    """A registered owner's group with a card of ``sku``; a buyer's click on it."""
    services.catalog.import_feed(FEED, filename="feed.csv")
    register(services, owner, "Pro")
    group = add_group(services, -owner, "Club", owner)
    return clicks(services, tap(services, add_post(services, group, product_ids(services)[sku]),
                                BUYER, "Bea"))[0]


def test_another_currency_is_400_without_a_rate_and_converted_with_one(db_url: str) -> None:
    plain = make_services(db_url, Clock())
    click = one_click(plain)
    ingest = lambda s, r: s.orders.ingest(r, source="postback", promoters=s.promoters)  # noqa: E731
    refused = ingest(plain, report("V-1", click, 2_500_000, currency="VND"))
    assert (refused.status, refused.reason) == (
        400, "currency VND is not CNY and has no rate in [commission.rates]")
    with plain.db.transaction() as session:
        assert session.scalar(select(func.count(Order.id))) == 0
    plain.db.dispose()

    rated = make_services(db_url, Clock(), commission={"rates": {"USD": "7.10", "VND": "0.00028"}})
    assert ingest(rated, report("U-1", click, 10_00, currency="USD")).status == 200
    assert ingest(rated, report("V-2", click, 2_500_000, currency="VND")).status == 200
    with rated.db.transaction() as session:
        usd = session.scalars(select(Order).where(Order.order_id == "U-1")).one()
        # $10.00 × 7.10 = ¥71.00; 12.5% of it is 887.5 fen, rounded half-even to 888.
        assert (usd.amount, usd.currency, usd.pool) == (71_00, "CNY", 888)
        assert (usd.original_amount, usd.original_currency, usd.rate) == (10_00, "USD", Decimal("7.10"))
        vnd = session.scalars(select(Order).where(Order.order_id == "V-2")).one()
        # ₫2,500,000 × 0.00028 = ¥700.00
        assert (vnd.amount, vnd.original_amount, vnd.original_currency) == (700_00, 2_500_000, "VND")
        assert set(session.scalars(select(LedgerEntry.currency).distinct())) == {"CNY"}
    rated.db.dispose()


def test_a_report_with_another_click_is_409_and_merchants_keep_their_own_ids(db_url: str) -> None:
    s = make_services(db_url, Clock())
    click = one_click(s)
    ingest = lambda r: s.orders.ingest(r, source="postback", promoters=s.promoters)  # noqa: E731
    assert ingest(report("M-1", click, 128_50, "pending")).status == 200
    before = holdings(s, "M-1")
    clash = ingest(report("M-1", "someone-else", 5_00, "confirmed"))
    assert clash.status == 409 and "click_id differs" in clash.reason
    assert holdings(s, "M-1") == before
    # The same order id from another merchant (its click unknown here) is another order.
    other = ingest(report("M-1", "their-click", 30_00, "confirmed", commission=3_00, merchant="globex"))
    assert other.status == 202
    with s.db.transaction() as session:
        keys = session.execute(select(Order.merchant, Order.order_id, Order.status)
                               .order_by(Order.merchant)).all()
        assert [tuple(k) for k in keys] == [("acme", "M-1", "pending"), ("globex", "M-1", "confirmed")]
    s.db.dispose()


def test_settle_after_zero_days_is_payable_at_once_without_any_job(db_url: str) -> None:
    clock = Clock()
    s = make_services(db_url, clock, commission={"settle_after_days": 0})
    click = one_click(s)
    outcome = s.orders.ingest(report("Z-1", click, 128_50), source="postback", promoters=s.promoters)
    assert outcome.status == 200
    # 12.5% of ¥128.50 = 1606 fen; platform 161; the promoter 1445, payable now.
    assert s.reports.commission(PROMOTER).buckets.get("payable") == 1445
    assert s.reports.commission(PROMOTER).buckets.get("confirmed", 0) == 0
    with s.db.transaction() as session:
        assert s.orders.payable_balance(session, PROMOTER) == 1445
    payout = s.orders.payout(user_id=PROMOTER, amount_text="14.45", admin_id=1)
    assert payout.amount == 1445
    with pytest.raises(ServiceError, match="settled balance is ¥0.00"):
        s.orders.payout(user_id=PROMOTER, amount_text="10.00", admin_id=1)
    held = holdings(s, "Z-1")
    # The payout booked the settle it relied on: confirmed → payable → paid, line by line.
    assert held == {("platform", None, "payable"): 161, ("promoter", PROMOTER, "paid"): 1445}
    assert s.orders.settle() == 0  # nothing left for the job
    s.db.dispose()


def test_a_promotion_takes_effect_on_the_next_order(db_url: str) -> None:
    s = make_services(db_url, Clock(), tiers={"mentor_min_active_invitees": 1, "partner_min_mentors": 1})
    s.catalog.import_feed(FEED, filename="feed.csv")
    register(s, PARTNER, "Pat")
    register(s, MENTOR, "Mo", inviter=PARTNER)
    register(s, PROMOTER, "Pro", inviter=MENTOR)
    group = add_group(s, -100, "Club", PROMOTER)
    ids = clicks(s, tap(s, add_post(s, group, product_ids(s)["SKU3"]), BUYER, "Bea"), 2)
    ingest = lambda r: s.orders.ingest(r, source="postback", promoters=s.promoters)  # noqa: E731
    assert ingest(report("T-1", ids[0], 128_50, "pending")).status == 200
    with s.db.transaction() as session:  # a pending order makes nobody active
        assert session.get_one(User, MENTOR).tier == "promoter"
    assert per_account(holdings(s, "T-1")) == {("platform", None): 161, ("promoter", PROMOTER): 1445}
    assert ingest(report("T-1", ids[0], 128_50, "confirmed")).status == 200
    with s.db.transaction() as session:  # the confirmation earned it: no sweep ran
        assert (session.get_one(User, MENTOR).tier, session.get_one(User, PARTNER).tier) == (
            "mentor", "partner")
    assert ingest(report("T-2", ids[1], 128_50, "confirmed")).status == 200
    assert per_account(holdings(s, "T-2")) == {("platform", None): 161, ("mentor", MENTOR): 80,
                                               ("partner", PARTNER): 48, ("promoter", PROMOTER): 1317}
    s.db.dispose()


def test_a_csv_row_in_a_currency_without_a_rate_is_a_bad_row(sqlite_url: str) -> None:
    s = make_services(sqlite_url, Clock())
    click = one_click(s)
    data = ("order_id,click_id,amount,status,commission,ordered_at,currency\n"
            f"C1,{click},39.00,pending,,,CNY\n"
            f"C2,{click},5.00,pending,,,USD\n").encode()
    summary = s.order_import.import_csv(data)
    assert (summary.applied, summary.errors) == (
        1, [(3, "currency USD is not CNY and has no rate in [commission.rates]")])
    with s.db.transaction() as session:
        assert list(session.scalars(select(Order.order_id))) == ["C1"]
    s.db.dispose()


def test_the_operator_balances_view_sees_payable_as_of_now(db_url: str) -> None:
    """`kocbot balances` reads the balance as of now, like /commission: money whose hold has
    ended is settled, with no settle job run in between."""
    from bot.services.operator import OperatorService

    clock = Clock()
    s = make_services(db_url, clock, commission={"settle_after_days": 0})
    outcome = s.orders.ingest(report("B-1", one_click(s), 128_50), source="postback", promoters=s.promoters)
    assert outcome.status == 200
    operator = OperatorService(config=s.config, db=s.db, now=s.now)
    (row,) = [r for r in operator.balances() if r.user_id == PROMOTER]
    assert (row.settled, row.pending, row.currency) == (1445, 0, "CNY")
    assert [r.user_id for r in operator.balances(minimum=1446)] == []
    s.db.dispose()


def test_a_payout_keeps_the_operators_note(db_url: str) -> None:
    """`kocbot payout --note` keeps the transfer reference with the payout it records."""
    from bot.storage.models import Payout

    s = make_services(db_url, Clock(), commission={"settle_after_days": 0})
    assert s.orders.ingest(report("N-1", one_click(s), 128_50), source="postback",
                           promoters=s.promoters).status == 200
    done = s.orders.payout(user_id=PROMOTER, amount_text="14.45", admin_id=1, note="bank ref 42")
    with s.db.transaction() as session:
        assert session.get(Payout, done.id).note == "bank ref 42"
    s.db.dispose()
