"""/stats from the daily rollups equals the full scan, to the cent, on SQLite and PostgreSQL:
after random clicks, taps, posts, orders with old and new days, refunds, cancels, late
attribution, a post's status changing and an order's day moving; and after the migration
backfills a database that had rows before the rollups existed."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, replace
from dataclasses import field as dataclass_field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule, run_state_machine_as_test
from sqlalchemy import case, delete, func, select, text, update

from bot.domain.links import new_code
from bot.domain.postback import OrderReport
from bot.services.base import ServiceError
from bot.services.reports import Money
from bot.services.tracking import ClickRecord
from bot.storage.base import Base
from bot.storage.db import Database, alembic_config, upgrade
from bot.storage.models import Click, LedgerEntry, Link, Order, OrderEvent, Post, StatsDay, StatsSlice, Tap
from tests.support.clock import Clock
from tests.support.databases import make_database_url
from tests.support.threads import failures, together
from tests.support.world import (
    FEED,
    add_group,
    add_post,
    clicks,
    make_services,
    product_ids,
    register,
    tap,
    upline_chain,
)

WINDOWS = (timedelta(days=1), timedelta(days=7), timedelta(days=30), None)


def random_writes(s, clock: Clock, rng: random.Random, rounds: int) -> None:  # type: ignore[no-untyped-def]
    """Clicks spread over 40 days, orders living every life, some reported before their click."""
    s.catalog.import_feed(FEED, filename="feed.csv")
    register(s, 1, "Pat")
    register(s, 2, "Mo", inviter=1)
    group = add_group(s, -10, "G", 2)
    skus = list(product_ids(s).values())
    posts = [add_post(s, group, sku) for sku in skus]
    start = s.now()
    buffered: list[ClickRecord] = []
    for n in range(rounds):
        code = tap(s, rng.choice(posts), 100 + rng.randrange(8), "m")
        link_id = s.tracking.resolve(code).link_id
        records = [ClickRecord(id=new_code(), link_id=link_id,
                               at=start - timedelta(days=rng.uniform(0, 40)),
                               is_bot=rng.random() < 0.25, ip_hash=None, user_agent=None,
                               referrer=None) for _ in range(1 + rng.randrange(3))]
        late = rng.random() < 0.3
        if late:  # the order arrives before its click is written: attributed when it is
            buffered.extend(records)
        else:
            s.tracking.save_clicks(records, orders=s.orders, promoters=s.promoters)
        life = rng.choice([("pending",), ("confirmed",), ("pending", "cancelled"),
                           ("confirmed", "refunded"), ("pending", "confirmed", "refunded")])
        when = start - timedelta(days=rng.uniform(0, 40), seconds=rng.randrange(86400))
        amount = rng.randrange(1, 300_000)
        commission = rng.choice([None, rng.randrange(0, amount // 4 + 1)])
        for state in life:
            s.orders.ingest(OrderReport(order_id=f"o{n}", click_id=records[0].id, amount=amount,
                                        status=state, commission=commission, currency="CNY",
                                        ts=when), source="csv", promoters=s.promoters)
        if late and rng.random() < 0.7:
            s.tracking.save_clicks(buffered, orders=s.orders, promoters=s.promoters)
            buffered.clear()
    if buffered:
        s.tracking.save_clicks(buffered, orders=s.orders, promoters=s.promoters)
    with s.db.transaction() as session:
        # Writes from any path keep the rollups: a post leaving "sent", an order's day moving.
        session.execute(update(Post).where(Post.code == posts[0]).values(status="failed"))
        # Old live orders (with earnings) move into the last 30 days: their money must follow.
        old = session.scalars(select(Order.id).where(
            Order.status.in_(("pending", "confirmed")),
            Order.ordered_at < start - timedelta(days=20)).order_by(Order.id).limit(3)).all()
        assert old
        session.execute(update(Order).where(Order.id.in_(old)).values(ordered_at=start))
    clock.advance(days=16)
    s.orders.settle()


def assert_rollups_equal_scan(s, clock: Clock) -> None:  # type: ignore[no-untyped-def]
    for hours in (0, 5, 13, 30):  # window edges at different times of day
        clock.advance(hours=hours)
        for window in WINDOWS:
            fast, scan = s.reports.stats(window), s.reports.stats_scan(window)
            assert asdict(fast) == asdict(scan), window


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rollups_equal_the_full_scan(db_url: str, seed: int) -> None:
    clock = Clock()
    s = make_services(db_url, clock)
    random_writes(s, clock, random.Random(seed), 40)
    everything = s.reports.stats_scan(None)
    assert everything.orders and everything.clicks and everything.commission_by_party
    with s.db.transaction() as session:  # the figures really come from rollups spread over days
        assert session.scalar(select(func.count(func.distinct(StatsDay.day)))) > 20
    assert_rollups_equal_scan(s, clock)
    s.db.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_migration_backfills_existing_rows(kind: str, tmp_path: Path) -> None:
    from alembic import command

    url = make_database_url(kind, tmp_path)
    command.downgrade(alembic_config(url), "0007")  # a database from before the rollups
    clock = Clock()
    s = make_services(url, clock)
    random_writes(s, clock, random.Random(5), 15)
    upgrade(url)
    assert_rollups_equal_scan(s, clock)
    s.db.dispose()


def test_money_in_another_currency_is_never_added_to_the_booking_currency(db_url: str) -> None:
    """An operator moved [commission].currency from CNY to USD: orders booked before stay in
    CNY, later ones are in USD. /stats shows each currency's money apart, whichever is booked;
    /report shows the booking currency's."""
    clock = Clock()
    cny = make_services(db_url, clock)
    usd = make_services(db_url, clock, commission={"currency": "USD"})
    _group, link = upline_chain(cny)
    first, second = clicks(cny, link, 2)
    for services, order, click, amount, currency in ((cny, "A", first, 10_000, "CNY"),
                                                     (usd, "B", second, 2_000, "USD")):
        outcome = services.orders.ingest(
            OrderReport(order_id=order, click_id=click, amount=amount, status="confirmed",
                        commission=amount // 10, currency=currency, ts=None),
            source="csv", promoters=services.promoters)
        assert outcome.status == 200, outcome
    for window in (timedelta(days=7), None):
        in_cny, in_usd = cny.reports.stats(window), usd.reports.stats(window)
        assert (in_cny.orders, in_cny.gmv, sum(in_cny.commission_by_party.values())) == (2, 10_000, 1_000)
        assert in_cny.currency == "CNY" and list(in_cny.other_currencies) == ["USD"]
        other = in_cny.other_currencies["USD"]
        assert (other.gmv, sum(other.commission_by_party.values())) == (2_000, 200)
        assert (in_usd.gmv, in_usd.commission_by_party) == (other.gmv, other.commission_by_party)
        assert in_usd.other_currencies == {"CNY": Money(in_cny.gmv, in_cny.commission_by_party)}
        assert asdict(in_cny) == asdict(cny.reports.stats_scan(window))
    # /report (and its chart) is in the booking currency too: both orders count, one's money.
    for services, sales in ((cny, 10_000), (usd, 2_000)):
        report = services.reports.group_report(-100, None)
        assert report is not None
        assert (report.total_orders, report.total_sales, report.total_commission) == (2, sales, sales // 10)
        assert sum(report.by_party.values()) == sales // 10
    cny.db.dispose()
    usd.db.dispose()


def test_rollups_stay_exact_while_writers_and_stats_run_together(db_url: str) -> None:
    """Click batches and orders from several threads while /stats compacts (PostgreSQL folds
    per-transaction rows then): nothing lost, nothing counted twice, no deadlock."""
    clock = Clock()
    s = make_services(db_url, clock)
    random_writes(s, clock, random.Random(9), 4)
    link_ids = []
    with s.db.transaction() as session:
        post = session.scalars(select(Post.code).where(Post.status == "sent")).first()
    for member in range(4):
        link_ids.append(s.tracking.resolve(tap(s, post, 200 + member, "w")).link_id)
    start = s.now()

    def writer(k: int) -> None:
        rng = random.Random(k)
        for n in range(12):
            records = [ClickRecord(id=new_code(), link_id=link_ids[k],
                                   at=start - timedelta(days=rng.uniform(0, 3)),
                                   is_bot=rng.random() < 0.3, ip_hash=None, user_agent=None,
                                   referrer=None) for _ in range(5)]
            s.tracking.save_clicks(records, orders=s.orders, promoters=s.promoters)
            for state in ("pending", "confirmed") if n % 2 else ("pending", "cancelled"):
                s.orders.ingest(OrderReport(order_id=f"w{k}-{n}", click_id=records[0].id,
                                            amount=1000 + n, status=state, commission=None,
                                            currency="CNY", ts=start - timedelta(days=n % 3)),
                                source="csv", promoters=s.promoters)

    def reader() -> None:
        for _ in range(15):
            s.reports.stats(timedelta(days=2))

    errors = failures(together([*(lambda k=k: writer(k) for k in range(4)), reader], timeout=120))
    assert not errors, errors
    assert_rollups_equal_scan(s, clock)
    s.db.dispose()


# --- Any sequence of writes, through the services or by an operator's SQL -----------------
#
# One database per backend for the whole run: after every sequence (and whenever Hypothesis
# asks) /stats from the rollups must equal the full scan. Times are drawn at UTC midnights and
# whole hours, half past, a microsecond either side, exactly a window's length back, or
# anywhere; the clock moves to such edges too. Orders are booked in CNY or, by a second
# configuration on the same database, in USD (an operator who changed
# [commission].currency), so money in two currencies sits side by side. Every trigger of
# migrations 0008/0011 has a rule that needs it; on PostgreSQL a session in another time
# zone writes too.

EDGES = ("midnight", "midnight+1us", "midnight-1us", "hour", "hour+1us", "hour-1us", "half past",
         "slice", "slice+1us", "slice-1us", "slice+5min", "window edge", "anywhere")
UPDATES = ("click bot flip", "click move", "tap move", "post flip", "post move", "order move",
           "order amount", "entry amount", "entry bucket", "entry currency")
DELETES = ("click delete", "tap delete", "post delete", "order delete", "entry delete")
US = timedelta(microseconds=1)


def instant(now: datetime, days_back: int, edge: str, seconds: float) -> datetime:
    """A time ``days_back`` days before today (UTC): at a midnight, a whole hour, half past,
    a 10-minute slice's start or middle, a microsecond either side, exactly a window's length
    before now, or anywhere."""
    midnight = datetime.combine(now.date(), time(), tzinfo=UTC) - timedelta(days=days_back)
    hour = midnight + timedelta(hours=int(seconds // 3600))
    piece = midnight + timedelta(minutes=int(seconds // 600) * 10)
    return {"midnight": midnight, "midnight+1us": midnight + US, "midnight-1us": midnight - US,
            "hour": hour, "hour+1us": hour + US, "hour-1us": hour - US,
            "half past": hour + timedelta(minutes=30), "slice": piece, "slice+1us": piece + US,
            "slice-1us": piece - US, "slice+5min": piece + timedelta(minutes=5),
            "window edge": now - timedelta(days=days_back),
            "anywhere": midnight + timedelta(seconds=seconds)}[edge]


Instant = tuple[int, str, float]
instants = st.tuples(st.sampled_from([0, 1, 2, 6, 7, 8, 29, 30, 31]) | st.integers(-1, 40),
                     st.sampled_from(EDGES), st.floats(0, 86399.999999))
LIVES = [("pending",), ("confirmed",), ("pending", "confirmed")]


@dataclass
class World:
    s: Any  # booking in CNY
    usd: Any  # the same database booking in USD
    clock: Clock
    links: list[int]
    group: int
    orders: list[OrderReport] = dataclass_field(default_factory=list)
    buffered: list[ClickRecord] = dataclass_field(default_factory=list)
    clicks: list[str] = dataclass_field(default_factory=list)

    def save(self, records: list[ClickRecord]) -> None:
        self.s.tracking.save_clicks(records, orders=self.s.orders, promoters=self.s.promoters)


def new_world(url: str) -> World:
    """Every row deleted (the rollups last, so nothing is left in them), then a catalog, a
    promoter and her inviter, a group with three cards, and nine members' links."""
    db = Database.from_url(url)
    with db.engine.begin() as conn:
        rollups = [StatsDay.__table__, StatsSlice.__table__]
        for table in [t for t in reversed(Base.metadata.sorted_tables) if t not in rollups] + rollups:
            conn.execute(table.delete())
    db.dispose()
    clock = Clock()
    commission = {"min_payout": "0.01", "settle_after_days": 2}
    s = make_services(url, clock, commission={**commission, "rates": {"USD": "7.10"}})
    usd = make_services(url, clock, commission={**commission, "currency": "USD",
                                                "rates": {"CNY": "0.1408"}})
    s.catalog.import_feed(FEED, filename="feed.csv")
    register(s, 1, "Pat")
    register(s, 2, "Mo", inviter=1)
    group = add_group(s, -10, "G", 2)
    posts = [add_post(s, group, sku) for sku in product_ids(s).values()]
    links = [s.tracking.resolve(tap(s, post, 100 + member, "m")).link_id
             for post in posts for member in range(3)]
    return World(s, usd, clock, links, group)


class Writes(RuleBasedStateMachine):
    """Each sequence starts from an emptied database, so a failure shrinks to its own steps."""

    url: str
    postgres: bool

    def __init__(self) -> None:
        super().__init__()
        self.w = new_world(self.url)

    def check(self) -> None:
        for services in (self.w.s, self.w.usd):
            for window in WINDOWS:
                fast, scan = services.reports.stats(window), services.reports.stats_scan(window)
                assert asdict(fast) == asdict(scan), (window, services.config.commission.currency)

    @rule(when=st.lists(instants, min_size=1, max_size=4),
          bots=st.lists(st.booleans(), min_size=4, max_size=4), link=st.integers(0, 8), late=st.booleans())
    def clicks(self, when: list[Instant], bots: list[bool], link: int, late: bool) -> None:
        now = self.w.clock()
        records = [ClickRecord(id=new_code(), link_id=self.w.links[link], at=instant(now, *t), is_bot=bot,
                               ip_hash=None, user_agent=None, referrer=None)
                   for t, bot in zip(when, bots[:len(when)], strict=True)]
        self.w.clicks.extend(r.id for r in records)
        if late:  # written later: orders reported meanwhile are attributed when they are
            self.w.buffered.extend(records)
        else:
            self.w.save(records)

    @rule()
    def late_clicks_arrive(self) -> None:
        self.w.save(self.w.buffered)
        self.w.buffered.clear()

    @precondition(lambda self: self.w.clicks)
    @rule(click=st.integers(0), life=st.sampled_from(LIVES), when=instants, amount=st.integers(1, 300_000),
          share=st.none() | st.integers(0, 25), currency=st.sampled_from(["CNY", "USD"]),
          in_usd=st.booleans())
    def order(self, click: int, life: tuple[str, ...], when: Instant, amount: int, share: int | None,
              currency: str, in_usd: bool) -> None:
        report = OrderReport(order_id=f"o{len(self.w.orders)}", amount=amount, status="pending",
                             click_id=self.w.clicks[click % len(self.w.clicks)], currency=currency,
                             ts=instant(self.w.clock(), *when),
                             commission=None if share is None else amount * share // 100)
        self.w.orders.append(report)
        for state in life:
            self.ingest(replace(report, status=state), in_usd)

    def ingest(self, report: OrderReport, in_usd: bool) -> None:
        services = self.w.usd if in_usd else self.w.s
        services.orders.ingest(report, source="csv", promoters=services.promoters)

    @precondition(lambda self: self.w.orders)
    @rule(pick=st.integers(0), status=st.sampled_from(["confirmed", "refunded", "cancelled"]),
          in_usd=st.booleans())
    def order_changes(self, pick: int, status: str, in_usd: bool) -> None:
        report = self.w.orders[pick % len(self.w.orders)]
        self.ingest(replace(report, status=status), in_usd)  # a 409 is fine too

    @rule(sku=st.integers(0, 2))
    def card_posted(self, sku: int) -> None:
        add_post(self.w.s, self.w.group, sorted(product_ids(self.w.s).values())[sku])

    @rule(pay=st.booleans())
    def settle_and_pay(self, pay: bool) -> None:
        self.w.s.orders.settle()
        for user in (1, 2) if pay else ():
            balance = self.w.s.orders.payable(user)
            if balance > 0:
                try:
                    self.w.s.orders.payout(user_id=user, amount_text=str(Decimal(balance) / 100),
                                           admin_id=1)
                except ServiceError:
                    pass  # an operator's SQL may have left entries no payout can cover

    @rule(to=st.sampled_from(["midnight", "midnight-1us", "midnight+1us", "hour", "hour-1us", "hour+1us",
                              "half past", "slice", "slice+5min", "hours", "days"]),
          hours=st.floats(0.01, 30))
    def time_passes(self, to: str, hours: float) -> None:
        """The clock moves on, often to where a window's first day, hour or slice has an edge."""
        now = self.w.clock()
        midnight = datetime.combine(now.date() + timedelta(days=1), time(), tzinfo=UTC)
        hour = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        piece = now.replace(minute=now.minute // 10 * 10, second=0, microsecond=0) + timedelta(minutes=10)
        self.w.clock.set({"midnight": midnight, "midnight-1us": midnight - US, "midnight+1us": midnight + US,
                          "hour": hour, "hour-1us": hour - US, "hour+1us": hour + US,
                          "half past": hour + timedelta(minutes=30), "slice": piece,
                          "slice+5min": piece + timedelta(minutes=5),
                          "hours": now + timedelta(hours=hours), "days": now + timedelta(days=3)}[to])

    @rule(what=st.sampled_from(UPDATES), pick=st.integers(0), when=instants)
    def operator_update(self, what: str, pick: int, when: Instant) -> None:
        self.operator_sql(what, pick, when)

    @rule(what=st.sampled_from(DELETES), pick=st.integers(0))
    def operator_delete(self, what: str, pick: int) -> None:
        self.operator_sql(what, pick, (0, "anywhere", 0.0))

    def operator_sql(self, what: str, pick: int, when: Instant) -> None:
        """A direct write by an operator: the triggers keep the rollups whoever writes."""
        at = instant(self.w.clock(), *when)
        table = {"click": Click, "tap": Tap, "post": Post, "order": Order,
                 "entry": LedgerEntry}[what.split()[0]]
        candidates = select(table.id)
        if what == "post delete":  # a post nobody tapped
            candidates = candidates.where(~Post.id.in_(select(Link.post_id).where(Link.post_id.is_not(None))))
        change = {
            "click bot flip": {"is_bot": ~Click.is_bot}, "click move": {"created_at": at},
            "tap move": {"created_at": at}, "post move": {"created_at": at},
            "post flip": {"status": case((Post.status == "sent", "failed"), else_="sent")},
            "order move": {"ordered_at": at}, "order amount": {"amount": Order.amount + 1 + pick % 1000},
            "entry amount": {"amount": LedgerEntry.amount - 1 - pick % 1000},
            "entry bucket": {"bucket": case((LedgerEntry.bucket == "reversed", "pending"), else_="reversed")},
            "entry currency": {"currency": case((LedgerEntry.currency == "CNY", "USD"), else_="CNY")},
        }.get(what)
        with self.w.s.db.transaction() as session:
            rows = session.scalars(candidates.order_by(table.id)).all()
            if not rows:
                return
            target = table.id == rows[pick % len(rows)]
            if change is not None:
                session.execute(update(table).where(target).values(change))
                return
            if what == "order delete":  # with its events and ledger entries
                for child in (OrderEvent, LedgerEntry):
                    session.execute(delete(child).where(child.order_id == rows[pick % len(rows)]))
            session.execute(delete(table).where(target))

    @precondition(lambda self: self.postgres)
    @rule(when=instants, zone=st.sampled_from(["Asia/Shanghai", "America/Los_Angeles", "Pacific/Kiritimati"]))
    def click_from_another_time_zone(self, when: Instant, zone: str) -> None:
        """A session whose TimeZone is not UTC writes a local wall-clock time: the rollup's day
        and hour are still UTC ones (a ``::date`` in the trigger would take the local day)."""
        local = instant(self.w.clock(), *when).astimezone(ZoneInfo(zone)).replace(tzinfo=None)
        with self.w.s.db.engine.begin() as conn:
            conn.execute(text("SELECT set_config('TimeZone', :zone, true)"), {"zone": zone})
            conn.execute(text("INSERT INTO clicks (id, link_id, created_at, is_bot) "
                              "VALUES (:id, :link, CAST(:at AS timestamp), false)"),
                         {"id": new_code(), "link": self.w.links[0], "at": local.isoformat()})

    @rule()
    def figures(self) -> None:
        self.check()

    def teardown(self) -> None:
        try:
            self.check()
        finally:
            self.w.s.db.dispose()
            self.w.usd.db.dispose()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_rollups_equal_the_scan_after_any_writes(kind: str, tmp_path: Path) -> None:
    Writes.url, Writes.postgres = make_database_url(kind, tmp_path), kind == "postgres"
    run_state_machine_as_test(Writes, settings=settings(max_examples=30, stateful_step_count=25,
                                                        deadline=None))


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_each_kind_of_operator_write_keeps_the_rollups(kind: str, tmp_path: Path) -> None:
    """The same rules, without chance: every update and delete an operator might run, each
    followed by the comparison, so a missing trigger cannot go unnoticed in an unlucky draw."""
    Writes.url, Writes.postgres = make_database_url(kind, tmp_path), kind == "postgres"
    machine = Writes()
    for n in range(6):
        machine.clicks(when=[(n, "anywhere", 3600.0 * n)], bots=[n % 3 == 0] * 4, link=n, late=False)
        machine.order(click=n, life=("pending", "confirmed") if n % 2 else ("pending",),
                      when=(n, "half past", 1800.0 * n), amount=10_000 + n, share=10,
                      currency="CNY", in_usd=False)
    machine.card_posted(0)
    machine.check()
    for what in UPDATES + DELETES:
        machine.operator_sql(what, 1, (3, "slice+5min", 7200.0))
        machine.check()
    machine.teardown()
