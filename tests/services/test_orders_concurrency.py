"""Money under concurrency (issue 11), on a real SQLite file and a real PostgreSQL.

- Random report sequences (duplicates, late and out-of-order states, refunds, cancels,
  unknown clicks, several orders on one click) applied once one by one and once from 8
  threads released together by a barrier: the two ledgers are identical to the cent, and
  equal to the split recomputed here from the rules, independently of the code under test.
- The same ``confirmed`` report sent by 8 threads at once books the order once.
- Settle, payout and refund racing each other leave every order consistent.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import count

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.domain.postback import OrderReport
from bot.services.base import ServiceError
from bot.services.container import Services
from bot.storage.models import LedgerEntry, Order
from tests.support.clock import Clock
from tests.support.threads import together
from tests.support.world import FEED, add_group, add_post, clicks, make_services, product_ids, register, tap

THREADS = 8
OWNERS = (31, 32)  # two promoters, no uplines: the split is platform + promoter
RATE = Decimal("0.125")  # SKU3, the Tea set
CUT = Decimal("0.10")  # [commission].platform_cut, the default
LIVES = {"long": ("pending", "confirmed", "refunded"), "short": ("pending", "cancelled")}
_run = count()

Balances = dict[tuple[str, int | None, str], int]


@dataclass(frozen=True)
class Life:
    """One order's reports: ``states`` of one life, each sent ``copies`` times."""

    index: int
    click: int  # index into the world's clicks; -1 for a click nobody wrote
    amount: int
    commission: int | None
    states: tuple[str, ...]
    copies: tuple[int, ...]


@dataclass
class World:
    services: Services
    clicks: list[str]  # click ids, each on a link of OWNERS[i % 2]
    owner_of: dict[str, int]


def build_world(db_url: str, **commission: object) -> World:
    services = make_services(db_url, Clock(), **({"commission": commission} if commission else {}))
    services.catalog.import_feed(FEED, filename="feed.csv")
    ids: list[str] = []
    owner_of: dict[str, int] = {}
    for n, owner in enumerate(OWNERS):
        register(services, owner, f"P{owner}")
        group = add_group(services, -500 - n, f"G{owner}", owner)
        link = tap(services, add_post(services, group, product_ids(services)["SKU3"]), 700 + n, "b")
        for click_id in clicks(services, link, 3):
            ids.append(click_id)
            owner_of[click_id] = owner
    return World(services, ids, owner_of)


@st.composite
def lives(draw: st.DrawFn) -> list[Life]:
    result = []
    for index in range(draw(st.integers(2, 6))):
        path = LIVES[draw(st.sampled_from(sorted(LIVES)))]
        states = tuple(s for s in path if draw(st.booleans())) or (path[-1],)
        result.append(Life(
            index=index,
            click=draw(st.integers(-1, 5)),  # 6 clicks on 2 links: orders share clicks
            amount=draw(st.integers(1, 500_00)),
            commission=draw(st.none() | st.integers(0, 99)),
            states=states,
            copies=tuple(draw(st.integers(1, 3)) for _ in states),
        ))
    return result


def reports(world: World, plan: list[Life], prefix: str, rng: random.Random) -> list[OrderReport]:
    """Every copy of every report of the plan, shuffled: late, out of order, duplicated."""
    out = []
    for life in plan:
        click_id = world.clicks[life.click] if life.click >= 0 else f"{prefix}-nobody-{life.index}"
        commission = None if life.commission is None else min(life.commission, life.amount)
        for state, copies in zip(life.states, life.copies, strict=True):
            out += [OrderReport(click_id=click_id, order_id=f"{prefix}-{life.index}",
                                amount=life.amount, status=state, commission=commission,
                                currency="CNY", ts=None)] * copies
    rng.shuffle(out)
    return out


def apply_serially(world: World, batch: list[OrderReport]) -> list[int]:
    return [world.services.orders.ingest(r, source="postback", promoters=world.services.promoters).status
            for r in batch]


def apply_together(jobs: list[Callable[[], object]]) -> list[object]:
    """Run ``jobs`` from THREADS threads that start at one barrier; exceptions are returned."""
    return together(jobs, threads=THREADS)


def ledger(world: World, prefix: str) -> dict[str, Balances]:
    """Per order (id without its prefix): the balance of each (party, user, bucket), nonzero."""
    with world.services.db.transaction() as session:
        rows = session.execute(
            select(Order.order_id, LedgerEntry.party, LedgerEntry.user_id, LedgerEntry.bucket,
                   func.sum(LedgerEntry.amount))
            .join(Order, Order.id == LedgerEntry.order_id)
            .where(Order.order_id.like(f"{prefix}-%"))
            .group_by(Order.order_id, LedgerEntry.party, LedgerEntry.user_id, LedgerEntry.bucket))
        out: dict[str, Balances] = defaultdict(dict)
        for order_id, party, user_id, bucket, amount in rows:
            if amount:
                out[order_id.removeprefix(f"{prefix}-")][(party, user_id, bucket)] = int(amount)
    return dict(out)


def order_count(world: World, prefix: str) -> int:
    with world.services.db.transaction() as session:
        return session.scalar(select(func.count()).select_from(Order)
                              .where(Order.order_id.like(f"{prefix}-%"))) or 0


def half_even(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_HALF_EVEN))


def expected(world: World, plan: list[Life]) -> dict[str, Balances]:
    """The ledger recomputed from PRODUCT.md's rules, without the code under test."""
    out: dict[str, Balances] = {}
    for life in plan:
        path = next(p for p in LIVES.values() if set(life.states) <= set(p))
        final = max(life.states, key=path.index)  # a report of a passed state changes nothing
        bucket = {"pending": "pending", "confirmed": "confirmed"}.get(final, "reversed")
        known = life.click >= 0
        if life.commission is not None:
            pool = min(life.commission, life.amount)
        else:
            pool = half_even(Decimal(life.amount) * RATE) if known else 0
        if known:
            platform = half_even(Decimal(pool) * CUT)
            parts = {("platform", None, bucket): platform,
                     ("promoter", world.owner_of[world.clicks[life.click]], bucket): pool - platform}
        else:
            parts = {("platform", None, bucket): pool}
        out[str(life.index)] = {k: v for k, v in parts.items() if v}
    return {k: v for k, v in out.items() if v}


@pytest.fixture
def world(db_url: str) -> Iterator[World]:
    w = build_world(db_url)
    yield w
    w.services.db.dispose()


@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(plan=lives(), seed=st.integers(0, 2**16))
def test_reports_from_8_threads_book_what_one_by_one_books(world: World, plan: list[Life],
                                                          seed: int) -> None:
    run = next(_run)
    serial, together = f"S{run}", f"T{run}"
    apply_serially(world, reports(world, plan, serial, random.Random(seed)))
    batch = reports(world, plan, together, random.Random(seed + 1))
    outcomes = apply_together([
        (lambda r=r: world.services.orders.ingest(r, source="postback",
                                                  promoters=world.services.promoters))
        for r in batch])
    failures = [o for o in outcomes if isinstance(o, Exception)]
    assert failures == []
    assert {o.status for o in outcomes} <= {200, 202}
    assert ledger(world, together) == ledger(world, serial) == expected(world, plan)
    assert order_count(world, together) == order_count(world, serial) == len(plan)


def test_the_same_confirmation_from_8_threads_books_once(world: World) -> None:
    """Each pending order gets 8 simultaneous copies of one confirmation."""
    services = world.services
    orders = [OrderReport(click_id=world.clicks[n % 6], order_id=f"D-{n}", amount=100_00,
                          status="pending", commission=None, currency="CNY", ts=None)
              for n in range(20)]
    apply_serially(world, orders)
    confirmations = [OrderReport(click_id=r.click_id, order_id=r.order_id, amount=r.amount,
                                 status="confirmed", commission=None, currency="CNY", ts=None)
                     for r in orders]
    outcomes = apply_together([
        (lambda r=r: services.orders.ingest(r, source="postback", promoters=services.promoters))
        for r in confirmations for _ in range(THREADS)])
    errors = [o for o in outcomes if isinstance(o, Exception)]
    got = ledger(world, "D")
    doubled = sorted(k for k, held in got.items()
                     if held != {("platform", None, "confirmed"): 125,
                                 ("promoter", world.owner_of[world.clicks[int(k) % 6]],
                                  "confirmed"): 1125})
    assert doubled == [], f"{len(doubled)} of {len(orders)} orders booked wrongly: {got[doubled[0]]}"
    assert errors == []


def test_settle_payout_and_refund_racing_stay_consistent(db_url: str) -> None:
    """Confirmed orders payable at once; refunds, settles and payouts race. Afterwards a
    refunded order holds no payable money except the negative entry owed back for money
    already paid, every order still sums to its pool, and payouts match the paid bucket."""
    world = build_world(db_url, settle_after_days=0, min_payout="0.01")
    services = world.services
    owner = OWNERS[0]
    mine = [c for c in world.clicks if world.owner_of[c] == owner]
    rng = random.Random(11)
    for round_ in range(4):
        confirmed = [OrderReport(click_id=mine[n % 3], order_id=f"R{round_}-{n}", amount=80_00,
                                 status="confirmed", commission=None, currency="CNY", ts=None)
                     for n in range(6)]
        apply_serially(world, confirmed)  # pool 1000: platform 100, promoter 900 each
        jobs: list[Callable[[], object]] = []
        for r in rng.sample(confirmed, 3):
            refund = OrderReport(click_id=r.click_id, order_id=r.order_id, amount=r.amount,
                                 status="refunded", commission=None, currency="CNY", ts=None)
            jobs.append(lambda r=refund: services.orders.ingest(r, source="postback",
                                                                promoters=services.promoters))
        jobs += [services.orders.settle, services.orders.settle]
        jobs += [lambda: services.orders.payout(user_id=owner, amount_text="13.00", admin_id=1)] * 3
        rng.shuffle(jobs)
        outcomes = apply_together(jobs)
        unexpected = [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, ServiceError)]
        assert unexpected == []
    with services.db.transaction() as session:
        statuses = dict(session.execute(select(Order.order_id, Order.status)
                                        .where(Order.order_id.like("R%"))).all())
        paid_out = session.scalar(select(func.sum(LedgerEntry.amount))
                                  .where(LedgerEntry.payout_id.is_not(None),
                                         LedgerEntry.bucket == "paid"))
        payouts = session.scalar(select(func.sum(LedgerEntry.amount)).where(
            LedgerEntry.user_id == owner, LedgerEntry.bucket == "paid"))
        balance = services.orders.payable_balance(session, owner)
    for round_ in range(4):
        for key, held in ledger(world, f"R{round_}").items():
            order_id = f"R{round_}-{key}"
            assert sum(held.values()) == 1000, (order_id, held)
            mine_ = {b: a for (party, _u, b), a in held.items() if party == "promoter"}
            if statuses[order_id] == "refunded":
                assert mine_.get("reversed") == 900, (order_id, held)
                assert mine_.get("confirmed", 0) == mine_.get("pending", 0) == 0, (order_id, held)
                assert mine_.get("payable", 0) == -mine_.get("paid", 0), (order_id, held)
            else:
                assert mine_.get("reversed", 0) == 0, (order_id, held)
                assert mine_.get("confirmed", 0) + mine_.get("payable", 0) + mine_.get("paid", 0) == 900
    assert len(statuses) == 24 and "refunded" in statuses.values()
    assert paid_out == payouts and payouts > 0 and payouts % 1300 == 0
    live = sum(1 for s in statuses.values() if s == "confirmed")
    # Payable as of now: every live order's share, less what was paid (refunds owe it back).
    assert balance == live * 900 - payouts
    services.db.dispose()
