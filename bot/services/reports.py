"""Reports: a promoter's earnings, a group's per-member figures, and platform totals.

Every figure here is a sum over the ledger or over raw rows, so reports reconcile with the
ledger to the cent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select, text
from sqlalchemy.orm import InstrumentedAttribute, Session

from bot.services.base import Service
from bot.services.orders import due_orders
from bot.services.readcache import ReadCache, earliest, ledger_stamp
from bot.storage import locks
from bot.storage.base import Base
from bot.storage.models import Click, Group, LedgerEntry, Link, Order, Post, StatsDay, StatsSlice, Tap, User

BUCKETS = ("pending", "confirmed", "payable", "paid", "reversed")
SLICE_MINUTES = 10  # the stats_slices granularity (migration 0011)
EARNING = ("pending", "confirmed", "payable", "paid")


@dataclass
class Earnings:
    """``/commission``: one person's money and activity."""

    buckets: dict[str, int] = field(default_factory=dict)
    clicks: int = 0
    unique_clicks: int = 0
    orders: int = 0
    last_7_days: int = 0
    last_30_days: int = 0
    per_group: list[tuple[str, int]] = field(default_factory=list)

    @property
    def confirmed_total(self) -> int:
        """Confirmed, whether already payable or still settling."""
        return self.buckets.get("confirmed", 0) + self.buckets.get("payable", 0)


@dataclass
class MemberRow:
    user_id: int
    name: str
    clicks: int = 0
    unique_clicks: int = 0
    orders: int = 0
    sales: int = 0
    commission: int = 0


@dataclass
class GroupReport:
    """``/report``: per-member figures for one group, plus the split by party."""

    title: str
    rows: list[MemberRow]
    by_party: dict[str, int]
    clicks_per_day: list[tuple[date, int]]
    total_clicks: int
    total_orders: int
    total_sales: int
    total_commission: int


@dataclass
class Money:
    """GMV and earnings by party in one currency."""

    gmv: int = 0
    commission_by_party: dict[str, int] = field(default_factory=dict)


@dataclass
class Stats:
    """Platform totals. ``gmv`` and ``commission_by_party`` are in the booking currency
    (``currency``); money booked in any other currency is in ``other_currencies``, never added
    to them."""

    groups: int
    active_groups: int
    promoters: int
    posts: int
    taps: int
    clicks: int
    bot_hits: int
    orders: int
    gmv: int
    commission_by_party: dict[str, int]
    currency: str = ""
    other_currencies: dict[str, Money] = field(default_factory=dict)


def parse_since(text: str | None) -> timedelta | None:
    """``7d`` / ``30d`` / ``all`` → a window; ValueError for anything else."""
    value = (text or "30d").strip().lower()
    if value == "all":
        return None
    if value.endswith("d") and value[:-1].isdigit() and 0 < int(value[:-1]) <= 3650:
        return timedelta(days=int(value[:-1]))
    raise ValueError(f"{text!r} is not 7d, 30d or all")


class ReportService(Service):
    """Read-only figures."""

    def _since(self, window: timedelta | None) -> datetime | None:
        return None if window is None else self.now() - window

    def __init__(self, **deps) -> None:  # type: ignore[no-untyped-def]
        super().__init__(**deps)
        # /commission and the dashboard read the same person's figures again and again while
        # nothing changes; a new ledger row or click, or the clock crossing an edge, recomputes.
        self._cache = ReadCache()

    def commission(self, user_id: int) -> Earnings:
        """A person's earnings by bucket, activity on their links, recent and per-group earnings."""
        now = self.now()
        with self.db.transaction() as session:
            result = Earnings()
            stamp = ledger_stamp(session, user_id)  # first: see readcache's docstring
            ledger = self._cache.get(("ledger", user_id), stamp, now)
            if ledger is None:
                ledger, until = self._ledger_figures(session, user_id, now)
                self._cache.put(("ledger", user_id), stamp, now, until, ledger)
            buckets, result.last_7_days, result.last_30_days, per_group = ledger
            result.buckets = dict(buckets)
            titles = dict(session.execute(
                select(Group.id, Group.title).where(Group.id.in_([g for g, _ in per_group] or [0]))).all())
            result.per_group = [(titles.get(gid) or "—", amount) for gid, amount in per_group]
            result.clicks, result.unique_clicks = self._clicks_and_unique(session, user_id)
            result.orders = session.scalar(
                select(func.count(Order.id)).where(Order.promoter_id == user_id,
                                                   Order.status.in_(("pending", "confirmed")))
            ) or 0
            return result

    def _ledger_figures(self, session: Session, user_id: int, now: datetime):  # type: ignore[no-untyped-def]
        """(buckets, last 7 days, last 30 days, [(group id, amount)]) as of ``now``, and the
        first moment at which the clock alone would change them (None: none ahead)."""
        def when(condition: ColumnElement[bool],
                 value: Any = LedgerEntry.amount) -> ColumnElement[Any]:
            return func.sum(case((condition, value), else_=0))

        def first(condition: ColumnElement[bool], value: Any) -> ColumnElement[Any]:
            return func.min(case((condition, value)))

        hold = timedelta(days=self.config.commission.settle_after_days)
        week, month = now - timedelta(days=7), now - timedelta(days=30)
        # Payable as of now: confirmed money whose hold has ended counts as payable even
        # before the settle job books the move (the ledger gets the same figure then).
        unsettled = and_(Order.status == "confirmed", Order.settled_at.is_(None))
        due = due_orders(now - hold)
        buckets: dict[str, int] = {}
        d7 = d30 = 0
        per_group: dict[int, int] = defaultdict(int)
        edges: list[datetime | None] = []
        # One pass over the person's entries gives buckets, 7/30 days and per group: at
        # scale the entry look-ups, not the arithmetic, are the cost. The pass groups by the
        # stored bucket and group only (a cheap key: SQLite sorts to group) and sums the due
        # part and the windows alongside; the bucket "as of now" and the earning filter are
        # applied here. It also finds the next moment an entry becomes due or leaves a
        # window. Balances are per currency; these are in the booking currency, the one
        # /payout pays in.
        for (bucket, group_id, count, total, due_count, due_total, in7, in30, next_due, oldest7,
             oldest30) in session.execute(
            select(LedgerEntry.bucket, Order.group_id, func.count(), func.sum(LedgerEntry.amount),
                   when(due, 1), when(due), when(Order.ordered_at >= week),
                   when(Order.ordered_at >= month),
                   first(and_(unsettled, Order.confirmed_at > now - hold), Order.confirmed_at),
                   first(Order.ordered_at >= week, Order.ordered_at),
                   first(Order.ordered_at >= month, Order.ordered_at))
            .outerjoin(Order, Order.id == LedgerEntry.order_id)
            .where(LedgerEntry.user_id == user_id,
                   LedgerEntry.currency == self.config.commission.currency)
            .group_by(LedgerEntry.bucket, Order.group_id)
        ):
            total, due_total = int(total or 0), int(due_total or 0)
            parts = [(bucket, count, total)]
            if bucket == "confirmed":
                parts = [("confirmed", count - due_count, total - due_total),
                         ("payable", due_count, due_total)]
                edges.append(next_due + hold if next_due is not None else None)
            for name, n, amount in parts:
                if n:  # a bucket is listed when it has entries, as when grouped by it
                    buckets[name] = buckets.get(name, 0) + amount
            if bucket in EARNING:
                d7 += int(in7 or 0)
                d30 += int(in30 or 0)
                # an entry leaves a window just after ordered_at + its length
                edges.append(oldest7 + timedelta(days=7, microseconds=1) if oldest7 else None)
                edges.append(oldest30 + timedelta(days=30, microseconds=1) if oldest30 else None)
                if group_id is not None:
                    per_group[group_id] += total
        groups = [(gid, amount) for gid, amount in
                  sorted(per_group.items(), key=lambda item: (-item[1], item[0])) if amount]
        return (buckets, d7, d30, groups), earliest(*edges)

    def _clicks_and_unique(self, session: Session, user_id: int) -> tuple[int, int]:
        """Human clicks and unique clickers (per member per link per day) on the person's
        links. Clicks are append-only, so their count stamps the unique figure."""
        people = and_(Link.promoter_id == user_id, Click.is_bot.is_(False))
        clicks = session.scalar(select(func.count()).select_from(Link)
                                .join(Click, Click.link_id == Link.id).where(people)) or 0
        unique = self._cache.get(("unique", user_id), clicks, self.now())
        if unique is None:
            day = func.date(Click.created_at)
            # Joined rather than IN (subquery): the links drive the clicks index directly.
            inner = (select(Click.link_id).select_from(Link).join(Click, Click.link_id == Link.id)
                     .where(people).group_by(Click.link_id, day).subquery())
            unique = session.scalar(select(func.count()).select_from(inner)) or 0
            self._cache.put(("unique", user_id), clicks, datetime.min.replace(tzinfo=UTC), None, unique)
        return int(clicks), int(unique)

    def group_report(self, chat_id: int, window: timedelta | None) -> GroupReport | None:
        """Per-member clicks, orders, sales and commission generated in one group."""
        since = self._since(window)
        with self.db.transaction() as session:
            group = session.scalars(select(Group).where(Group.chat_id == chat_id)).first()
            if group is None:
                return None
            rows: dict[int, MemberRow] = {}
            names = dict(session.execute(select(User.id, User.first_name)
                                         .join(Link, Link.user_id == User.id)
                                         .where(Link.group_id == group.id)).all())

            def row(uid: int) -> MemberRow:
                if uid not in rows:
                    rows[uid] = MemberRow(user_id=uid, name=names.get(uid) or str(uid))
                return rows[uid]

            click_filter = [Link.group_id == group.id, Click.is_bot.is_(False)]
            if since is not None:
                click_filter.append(Click.created_at >= since)
            # One pass over the group's clicks, counted per member, link and day, gives the
            # clicks, the unique clickers and the clicks per day (each was a scan before).
            day = func.date(Click.created_at)
            per_day: dict[date, int] = defaultdict(int)
            for uid, d, count in session.execute(
                select(Link.user_id, day, func.count()).join(Link, Link.id == Click.link_id)
                .where(*click_filter).group_by(Link.user_id, Click.link_id, day)
            ):
                r = row(uid)
                r.clicks += count
                r.unique_clicks += 1
                per_day[d if isinstance(d, date) else date.fromisoformat(str(d))] += count
            order_filter = [Order.group_id == group.id, Order.status.in_(("pending", "confirmed"))]
            if since is not None:
                order_filter.append(Order.ordered_at >= since)
            # Money in the booking currency only, as /commission and the report's text and chart
            # label it; orders booked in another currency count as orders, their money is not added.
            booking = self.config.commission.currency

            def booked(value: Any) -> ColumnElement[Any]:
                return func.sum(case((Order.currency == booking, value), else_=0))

            for uid, count, sales, pool in session.execute(
                select(Order.buyer_id, func.count(Order.id), booked(Order.amount), booked(Order.pool))
                .where(*order_filter).group_by(Order.buyer_id)
            ):
                if uid is not None:
                    r = row(uid)
                    r.orders, r.sales, r.commission = count, int(sales or 0), int(pool or 0)
            party_filter = [Order.group_id == group.id, LedgerEntry.bucket.in_(EARNING),
                            LedgerEntry.currency == booking]
            if since is not None:
                party_filter.append(Order.ordered_at >= since)
            by_party = {party: int(amount) for party, amount in session.execute(
                select(LedgerEntry.party, func.sum(LedgerEntry.amount))
                .join(Order, Order.id == LedgerEntry.order_id).where(*party_filter)
                .group_by(LedgerEntry.party)
            ) if amount}
            ordered = sorted(rows.values(), key=lambda r: (-r.commission, -r.clicks, r.user_id))
            return GroupReport(
                title=group.title, rows=ordered, by_party=by_party,
                clicks_per_day=sorted(per_day.items()),
                total_clicks=sum(r.clicks for r in ordered),
                total_orders=sum(r.orders for r in ordered),
                total_sales=sum(r.sales for r in ordered),
                total_commission=sum(r.commission for r in ordered),
            )

    def stats(self, window: timedelta | None) -> Stats:
        """Platform totals for /stats from the rollups; at most five minutes of rows are scanned.

        Equal to ``stats_scan`` (the full scan) by construction: the rollups hold every row's
        contribution by its UTC day and 10-minute slice. A window takes the whole days after
        its first day (``stats_days``), that day's whole slices after the one it starts in
        (``stats_slices``), and part of that slice's rows, scanned.
        """
        since = self._since(window)
        self.compact_rollups()
        with self.db.transaction() as session:
            days = select(StatsDay.metric, func.sum(StatsDay.n)).group_by(StatsDay.metric)
            queries = [days]
            edge: tuple[datetime, datetime, int] | None = None
            if since is not None:
                since = since.astimezone(UTC)
                minute = since.hour * 60 + since.minute // SLICE_MINUTES * SLICE_MINUTES
                start = datetime.combine(since.date(), time(), tzinfo=UTC) + timedelta(minutes=minute)
                end = start + timedelta(minutes=SLICE_MINUTES)
                slices = (select(StatsSlice.metric, func.sum(StatsSlice.n))
                          .where(StatsSlice.day == since.date()).group_by(StatsSlice.metric))
                # Scan the smaller part of the window's first slice: after `since` (added to
                # the later slices) or before it (taken from the whole slice).
                if since - start > end - since:
                    slices, edge = slices.where(StatsSlice.minute > minute), (since, end, 1)
                else:
                    slices, edge = slices.where(StatsSlice.minute >= minute), (start, since, -1)
                queries = [days.where(StatsDay.day > since.date()), slices]
            totals: dict[str, int] = defaultdict(int)
            for query in queries:
                for metric, n in session.execute(query):
                    totals[metric] += int(n or 0)
            if edge is not None:
                low, high, sign = edge
                for metric, n in self._scan(session, low, high).items():
                    totals[metric] += sign * n
            return self._stats_from(session, totals)

    def stats_scan(self, window: timedelta | None) -> Stats:
        """Platform totals for /stats by scanning every row in the window (the reference)."""
        since = self._since(window)
        with self.db.transaction() as session:
            return self._stats_from(session, self._scan(session, since, None))

    def compact_rollups(self) -> None:
        """Fold committed per-transaction rollup rows into one row per key (PostgreSQL).

        Only rows committed before each statement are moved, and exactly the rows deleted are
        summed, so a writer in flight is neither lost nor counted twice. An advisory lock keeps
        two compactions from meeting on the same folded rows.
        """
        if self.db.engine.dialect.name != "postgresql":
            return
        with self.db.transaction() as session:
            locks.hold(session, locks.STATS_FOLD)
            for table, keys in (("stats_days", "day, metric"), ("stats_slices", "day, minute, metric")):
                session.execute(text(
                    f"WITH moved AS (DELETE FROM {table} WHERE slot <> 0 RETURNING {keys}, n)"  # noqa: S608
                    f" INSERT INTO {table} ({keys}, slot, n)"
                    f" SELECT {keys}, 0, sum(n) FROM moved GROUP BY {keys}"
                    f" ON CONFLICT ({keys}, slot) DO UPDATE SET n = {table}.n + excluded.n"))

    def _scan(self, session: Session, since: datetime | None, until: datetime | None) -> dict[str, int]:
        """The rollup metrics of the rows with since <= time < until, counted from the rows."""

        def when(column: InstrumentedAttribute[datetime]) -> list[ColumnElement[bool]]:
            return ([] if since is None else [column >= since]) + ([] if until is None else [column < until])

        count = self._counter(session)
        # Clicks are the biggest table: people and bots in one pass, not two.
        people, bots = session.execute(
            select(func.count(case((Click.is_bot.is_(False), 1))),
                   func.count(case((Click.is_bot.is_(True), 1))))
            .where(*when(Click.created_at))).one()
        totals = {"clicks": int(people or 0), "bot_hits": int(bots or 0), "orders": 0,
                  "posts": count(Post, Post.status == "sent", *when(Post.created_at)),
                  "taps": count(Tap, *when(Tap.created_at))}
        # Money per currency, as the rollups keep it (migration 0011).
        for currency, orders, gmv in session.execute(
            select(Order.currency, func.count(), func.sum(Order.amount))
            .where(Order.status.in_(("pending", "confirmed")), *when(Order.ordered_at))
            .group_by(Order.currency)
        ):
            totals["orders"] += int(orders or 0)
            totals[f"gmv:{currency}"] = int(gmv or 0)
        for party, currency, amount in session.execute(
            select(LedgerEntry.party, LedgerEntry.currency, func.sum(LedgerEntry.amount))
            .join(Order, Order.id == LedgerEntry.order_id)
            .where(LedgerEntry.bucket.in_(EARNING), *when(Order.ordered_at))
            .group_by(LedgerEntry.party, LedgerEntry.currency)
        ):
            totals[f"earn:{party}:{currency}"] = int(amount or 0)
        return totals

    @staticmethod
    def _counter(session: Session) -> Callable[..., int]:
        """``count(model, *where)``: how many rows of ``model`` match."""
        def count(model: type[Base], *where: ColumnElement[bool]) -> int:
            return session.scalar(select(func.count()).select_from(model).where(*where)) or 0
        return count

    def _stats_from(self, session: Session, totals: dict[str, int]) -> Stats:
        count = self._counter(session)
        money: dict[str, Money] = defaultdict(Money)
        for metric, n in sorted(totals.items()):
            if n and metric.startswith("gmv:"):
                money[metric.removeprefix("gmv:")].gmv = n
            elif n and metric.startswith("earn:"):
                party, _, currency = metric.removeprefix("earn:").rpartition(":")
                money[currency].commission_by_party[party] = n
        booking = self.config.commission.currency
        here = money.pop(booking, Money())
        return Stats(
            groups=count(Group),
            active_groups=count(Group, Group.active.is_(True), Group.claimed.is_(True)),
            promoters=count(User, User.registered_at.is_not(None)),
            posts=totals.get("posts", 0),
            taps=totals.get("taps", 0),
            clicks=totals.get("clicks", 0),
            bot_hits=totals.get("bot_hits", 0),
            orders=totals.get("orders", 0),
            gmv=here.gmv,
            commission_by_party=here.commission_by_party,
            currency=booking,
            other_currencies=dict(sorted(money.items())),
        )
