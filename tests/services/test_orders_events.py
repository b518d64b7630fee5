"""Order reports at the service level, on a real SQLite file: duplicates, late and
out-of-order arrivals of one order's life always end in the same ledger."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.domain.postback import OrderReport
from bot.storage.models import Order
from tests.support.clock import Clock
from tests.support.databases import fresh_sqlite
from tests.support.world import MENTOR, PARTNER, PROMOTER, clicks, holdings, make_services, upline_chain

LIVES = [
    ("pending",), ("confirmed",), ("pending", "confirmed"), ("pending", "confirmed", "refunded"),
    ("confirmed", "refunded"), ("pending", "cancelled"), ("pending", "refunded"), ("cancelled",),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    """A partner → mentor → promoter chain, a group of the promoter's and one member's click."""
    url = fresh_sqlite(Path(tmp_path_factory.mktemp("orders")))
    services = make_services(url, Clock())
    _group, link = upline_chain(services)
    return services, clicks(services, link)[0]


def per_account(held: dict[tuple[str, int | None, str], int]) -> dict[tuple[str, int | None], int]:
    """Holdings summed over buckets: what each (party, user) gets from the order."""
    out: dict[tuple[str, int | None], int] = {}
    for (party, user, _bucket), amount in held.items():
        out[(party, user)] = out.get((party, user), 0) + amount
    return out


def report(order_id: str, click_id: str, status: str) -> OrderReport:
    return OrderReport(order_id=order_id, click_id=click_id, amount=12850, status=status,
                       commission=None, currency="CNY", ts=None)


counter = itertools.count()


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[tuple[str, ...], list[str]]:
    """One order's life, and the reports as a network delivers them: repeated and shuffled."""
    life = draw(st.sampled_from(LIVES))
    sent = [state for state in life for _ in range(draw(st.integers(1, 3)))]
    return life, draw(st.permutations(sent))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=deliveries())
def test_any_delivery_order_ends_in_the_same_ledger(world, case) -> None:
    services, click_id = world
    life, delivered = case
    n = next(counter)
    canonical, shuffled = f"C-{n}", f"S-{n}"
    for state in life:
        outcome = services.orders.ingest(report(canonical, click_id, state), source="csv",
                                         promoters=services.promoters)
        assert outcome.status == 200, outcome
    for state in delivered:
        outcome = services.orders.ingest(report(shuffled, click_id, state), source="postback",
                                         promoters=services.promoters)
        assert outcome.status == 200, (delivered, outcome)  # never 409 within one true life
    expected = holdings(services, canonical)
    assert holdings(services, shuffled) == expected
    # The money of the order is its pool (12.5% of ¥128.50 = 1606 fen, half-even), split
    # platform 161, mentor 80, partner 48, promoter the rest.
    assert sum(expected.values()) == 1606
    assert per_account(expected) == {("platform", None): 161, ("mentor", MENTOR): 80,
                                     ("partner", PARTNER): 48, ("promoter", PROMOTER): 1317}
    final = life[-1]
    buckets = {b for (_p, _u, b) in expected}
    assert buckets == {"reversed" if final in ("cancelled", "refunded") else final}
    with services.db.transaction() as session:
        assert session.scalars(select(Order.status).where(Order.order_id == shuffled)).one() == final


def test_illegal_changes_get_409_and_change_nothing(world) -> None:
    services, click_id = world
    ingest = lambda status: services.orders.ingest(  # noqa: E731
        report("X-1", click_id, status), source="postback", promoters=services.promoters)
    assert ingest("confirmed").status == 200
    before = holdings(services, "X-1")
    assert ingest("cancelled").status == 409
    assert ingest("pending").status == 200  # late, no change
    assert holdings(services, "X-1") == before
    assert ingest("refunded").status == 200
    assert ingest("cancelled").status == 409
    assert ingest("confirmed").status == 200  # late
    assert set(b for *_x, b in holdings(services, "X-1")) == {"reversed"}
