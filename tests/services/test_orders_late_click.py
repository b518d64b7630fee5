"""Orders reported before their click was written (another web process still buffered it):
stored unattributed, then handed to the promoter and upline when the click is written, on
real SQLite and PostgreSQL. Settled and cancelled orders are left as they are."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.domain.links import new_code
from bot.domain.postback import OrderReport
from bot.services import base
from bot.services.tracking import ClickRecord
from bot.storage.models import Order
from tests.services.test_orders_events import holdings, per_account
from tests.support.clock import Clock
from tests.support.databases import make_database_url
from tests.support.world import BUYER, MENTOR, PARTNER, PROMOTER, make_services, upline_chain

# 12.5% of ¥128.50 is 1606 fen: platform 10%, mentor 5%, partner 3%, the promoter the rest.
SPLIT_1606 = {("platform", None): 161, ("mentor", MENTOR): 80, ("partner", PARTNER): 48,
              ("promoter", PROMOTER): 1317}


@pytest.fixture(params=["sqlite", "postgres"])
def world(request: pytest.FixtureRequest, tmp_path: Path):
    services = make_services(make_database_url(request.param, tmp_path), Clock())
    group, link = upline_chain(services)
    target = services.tracking.resolve(link)
    assert target is not None
    yield services, target.link_id, group
    services.db.dispose()


def buffered_click(services, link_id: int) -> ClickRecord:
    """A click the web server answered but has not written yet."""
    return ClickRecord(id=new_code(), link_id=link_id, at=services.now(), is_bot=False,
                       ip_hash=None, user_agent="test", referrer=None)


def ingest(services, order_id: str, click_id: str, status: str, commission: int | None = None):
    return services.orders.ingest(
        OrderReport(order_id=order_id, click_id=click_id, amount=12850, status=status,
                    commission=commission, currency="CNY", ts=None),
        source="postback", promoters=services.promoters)


def write(services, *clicks: ClickRecord) -> None:
    services.tracking.save_clicks(list(clicks), orders=services.orders, promoters=services.promoters)


def order_row(services, order_id: str) -> Order:
    with services.db.transaction() as session:
        order = session.scalars(select(Order).where(Order.order_id == order_id)).one()
        session.expunge(order)
        return order


def test_a_pending_order_gets_its_split_when_the_click_is_written(world) -> None:
    services, link_id, group = world
    click = buffered_click(services, link_id)
    outcome = ingest(services, "L-1", click.id, "pending")
    assert (outcome.status, outcome.reason) == (202, "unknown click_id: stored as unattributed")
    assert holdings(services, "L-1") == {}  # no product known, no commission reported: pool 0

    write(services, click)

    held = holdings(services, "L-1")
    assert {b for *_x, b in held} == {"pending"}
    assert per_account(held) == SPLIT_1606
    order = order_row(services, "L-1")
    assert (order.promoter_id, order.group_id, order.buyer_id, order.pool) == (PROMOTER, group, BUYER, 1606)
    assert ingest(services, "L-1", click.id, "confirmed").status == 200
    assert per_account(holdings(services, "L-1")) == SPLIT_1606
    assert {b for *_x, b in holdings(services, "L-1")} == {"confirmed"}


def test_a_reported_commission_is_kept_and_moved_from_the_platform(world) -> None:
    services, link_id, _group = world
    click = buffered_click(services, link_id)
    assert ingest(services, "L-2", click.id, "confirmed", commission=2000).status == 202
    assert holdings(services, "L-2") == {("platform", None, "confirmed"): 2000}

    write(services, click, buffered_click(services, link_id))

    held = holdings(services, "L-2")
    assert sum(held.values()) == 2000
    assert per_account(held) == {("platform", None): 200, ("mentor", MENTOR): 100,
                                 ("partner", PARTNER): 60, ("promoter", PROMOTER): 1640}
    assert {b for *_x, b in held} == {"confirmed"}


def test_settled_and_cancelled_orders_stay_with_the_platform(world) -> None:
    services, link_id, _group = world
    settled, cancelled = buffered_click(services, link_id), buffered_click(services, link_id)
    assert ingest(services, "L-3", settled.id, "confirmed", commission=2000).status == 202
    assert ingest(services, "L-4", cancelled.id, "pending", commission=500).status == 202
    assert ingest(services, "L-4", cancelled.id, "cancelled").status == 200
    services.now.advance(days=services.config.commission.settle_after_days + 1)
    assert services.orders.settle() == 1
    before = (holdings(services, "L-3"), holdings(services, "L-4"))

    write(services, settled, cancelled)

    assert (holdings(services, "L-3"), holdings(services, "L-4")) == before
    assert before == ({("platform", None, "payable"): 2000}, {("platform", None, "reversed"): 500})
    assert order_row(services, "L-3").promoter_id is None
    assert order_row(services, "L-4").promoter_id is None


def test_an_order_already_attributed_is_not_split_again(world) -> None:
    services, link_id, _group = world
    click = buffered_click(services, link_id)
    write(services, click)
    assert ingest(services, "L-5", click.id, "pending").status == 200
    before = holdings(services, "L-5")
    assert per_account(before) == SPLIT_1606
    write(services, buffered_click(services, link_id))
    assert holdings(services, "L-5") == before


def test_a_large_batch_is_looked_up_in_chunks(world, monkeypatch) -> None:
    services, link_id, _group = world
    monkeypatch.setattr(base, "IN_LIST", 2)  # five clicks: three IN-lists
    batch = [buffered_click(services, link_id) for _ in range(5)]
    for n in (0, 2, 4):
        assert ingest(services, f"L-6-{n}", batch[n].id, "pending").status == 202
    write(services, *batch)
    for n in (0, 2, 4):
        assert per_account(holdings(services, f"L-6-{n}")) == SPLIT_1606


def test_one_lookup_per_batch_finds_the_awaited_clicks_anywhere_in_it(world, monkeypatch) -> None:
    services, link_id, _group = world
    batch = [buffered_click(services, link_id) for _ in range(base.IN_LIST + 3)]
    waiting = (0, base.IN_LIST - 1, base.IN_LIST, base.IN_LIST + 2)  # both sides of a chunk edge
    for n in waiting:
        assert ingest(services, f"L-7-{n}", batch[n].id, "pending").status == 202
    asked: list[list[str]] = []
    late = services.orders.attribute_late
    monkeypatch.setattr(services.orders, "attribute_late",
                        lambda session, ids, promoters: asked.append(ids) or late(session, ids, promoters))
    write(services, *batch[2:])
    write(services, batch[0])
    write(services, buffered_click(services, link_id))  # no order waits for it: not asked at all
    assert asked == [sorted(batch[n].id for n in waiting[1:]), [batch[0].id]]
    for n in waiting:
        assert per_account(holdings(services, f"L-7-{n}")) == SPLIT_1606
