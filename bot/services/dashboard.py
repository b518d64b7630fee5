"""Read-only figures the mini app shows beyond the chat commands: a promoter's dashboard (their
/commission figures and commission per day, read from the earning_days sums), their payouts,
and who is owed what. Every figure is a sum over the ledger, exact to the cent."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, literal, select, text, union_all
from sqlalchemy.orm import Session

from bot.services.base import Service
from bot.services.orders import due_orders
from bot.services.readcache import ReadCache, ledger_stamp
from bot.services.reports import EARNING
from bot.storage import locks
from bot.storage.models import ActivityCount, EarningDay, Group, LedgerEntry, Order, Payout, User

FOLD = text(
    "WITH moved AS (DELETE FROM earning_days WHERE slot <> 0"
    " RETURNING user_id, currency, bucket, group_id, day, amount)"
    " INSERT INTO earning_days (user_id, currency, bucket, group_id, day, slot, amount)"
    " SELECT user_id, currency, bucket, group_id, day, 0, sum(amount) FROM moved"
    " GROUP BY user_id, currency, bucket, group_id, day"
    " ON CONFLICT (user_id, currency, bucket, group_id, day, slot)"
    " DO UPDATE SET amount = earning_days.amount + excluded.amount")
FOLD_COUNTS = text(
    "WITH moved AS (DELETE FROM activity_counts WHERE slot <> 0 RETURNING user_id, metric, n)"
    " INSERT INTO activity_counts (user_id, metric, slot, n)"
    " SELECT user_id, metric, 0, sum(n) FROM moved GROUP BY user_id, metric"
    " ON CONFLICT (user_id, metric, slot) DO UPDATE SET n = activity_counts.n + excluded.n")


@dataclass(frozen=True)
class PayoutRow:
    amount: int
    currency: str
    created_at: datetime


@dataclass(frozen=True)
class Owed:
    """One person's balances for the admin view (minor units)."""

    user_id: int
    name: str
    username: str | None
    payable: int
    confirmed: int
    pending: int


@dataclass(frozen=True)
class Summary:
    """A promoter's dashboard figures (minor units of the booking currency; ``series`` sums
    every currency, as ``daily_commission`` does)."""

    buckets: dict[str, int]
    last_7_days: int
    last_30_days: int
    per_group: list[tuple[str, int]]
    series: list[tuple[date, int]]


@dataclass
class _Sums:
    buckets: dict[str, int] = field(default_factory=dict)
    per_group: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    per_day: dict[date, int] = field(default_factory=lambda: defaultdict(int))  # booking currency
    chart: dict[date, int] = field(default_factory=lambda: defaultdict(int))  # every currency
    titles: dict[int, str] = field(default_factory=dict)
    windows: list[int] = field(default_factory=list)


class DashboardService(Service):
    """Figures for the promoter dashboard and the admin balances view."""

    def __init__(self, **deps) -> None:  # type: ignore[no-untyped-def]
        super().__init__(**deps)
        self._cache = ReadCache()

    def summary(self, user_id: int, *, days: int = 30) -> Summary:
        """The promoter's dashboard as of now, from the earning_days sums (a few rows per day)
        instead of every ledger entry: the /commission money figures and the commission per day
        of the last ``days`` days (clicks and orders: ``activity``).

        Equal to ``ReportService.commission`` and ``daily_commission`` (the entry-by-entry
        reads) by construction: the sums hold every entry by its order's UTC day and group;
        what the clock alone changes is read from the rows it concerns: the confirmed money
        whose hold has ended (orders due for settling, a short list the settle job empties)
        and the part of each window's first day before or after its edge (from that day's
        orders, whichever part is smaller)."""
        now = self.now().astimezone(UTC)
        first = now.date() - timedelta(days=days - 1)
        windows = [now - timedelta(days=7), now - timedelta(days=30)]
        with self.db.transaction() as session:
            sums = self._sums(session, user_id, now, min(first, windows[1].date()), windows)
        per_group = sorted(((gid, amount) for gid, amount in sums.per_group.items() if amount),
                           key=lambda item: (-item[1], item[0]))
        return Summary(
            buckets=sums.buckets, last_7_days=sums.windows[0], last_30_days=sums.windows[1],
            per_group=[(sums.titles.get(gid) or "—", amount) for gid, amount in per_group],
            series=[(first + timedelta(days=n), sums.chart.get(first + timedelta(days=n), 0))
                    for n in range(days)])

    def activity(self, user_id: int) -> tuple[int, int]:
        """Human clicks on the person's links and their live (pending or confirmed) orders,
        from the counts the triggers keep (migration 0010)."""
        with self.db.transaction() as session:
            counts = dict(session.execute(
                select(ActivityCount.metric, func.sum(ActivityCount.n))
                .where(ActivityCount.user_id == user_id).group_by(ActivityCount.metric)).all())
        return int(counts.get("clicks") or 0), int(counts.get("orders") or 0)

    def balances(self, user_id: int) -> dict[str, int]:
        """The person's balance per bucket as of now, in the booking currency (non-zero only)."""
        now = self.now().astimezone(UTC)
        with self.db.transaction() as session:
            return self._sums(session, user_id, now, now.date() + timedelta(days=1), []).buckets

    def _sums(self, session: Session, user_id: int, now: datetime, low: date,
              windows: list[datetime]) -> _Sums:
        """Buckets as of now, earnings per group (and the groups' titles), per day from
        ``low`` on, and earnings on orders placed since each of ``windows``: two statements."""
        currency = self.config.commission.currency
        sums = _Sums()
        buckets: dict[str, int] = defaultdict(int)
        recent = case((EarningDay.day >= low, EarningDay.day))
        for cur, bucket, group_id, title, day, amount in session.execute(
            select(EarningDay.currency, EarningDay.bucket, EarningDay.group_id, Group.title, recent,
                   func.sum(EarningDay.amount))
            .outerjoin(Group, Group.id == EarningDay.group_id)
            .where(EarningDay.user_id == user_id)
            .group_by(EarningDay.currency, EarningDay.bucket, EarningDay.group_id, Group.title, recent)
        ):
            amount = int(amount or 0)
            earning = bucket in EARNING
            if day is not None and not isinstance(day, date):
                day = date.fromisoformat(str(day))
            if earning and day is not None:
                sums.chart[day] += amount
            if cur != currency:
                continue
            buckets[bucket] += amount
            if earning:
                if group_id:
                    sums.per_group[group_id] += amount
                    sums.titles[group_id] = title
                if day is not None:
                    sums.per_day[day] += amount
        # What the clock alone changes, in one statement: the confirmed money whose hold has
        # ended (payable as of now, not yet settled), and each window's first-day part.
        parts = [self._due(user_id, now)]
        plans = []
        for n, since in enumerate(windows):
            edge = since.date()
            start = datetime.combine(edge, time(), tzinfo=UTC)
            end = start + timedelta(days=1)
            whole = sum(a for d, a in sums.per_day.items() if d > edge)
            if since - start > end - since:  # scan the smaller part of the first day
                plans.append((whole, 1))
                parts.append(self._between(f"w{n}", user_id, since, end))
            else:
                plans.append((whole + sums.per_day.get(edge, 0), -1))
                parts.append(self._between(f"w{n}", user_id, start, since))
        found = {key: int(value or 0) for key, value in session.execute(union_all(*parts))}
        if found.get("due"):
            buckets["confirmed"] -= found["due"]
            buckets["payable"] += found["due"]
        sums.windows = [whole + sign * found.get(f"w{n}", 0) for n, (whole, sign) in enumerate(plans)]
        sums.buckets = {b: a for b, a in buckets.items() if a}
        return sums

    def _due(self, user_id: int, now: datetime) -> Select[str, int]:
        """The person's confirmed money on orders due for settling (their hold has ended)."""
        hold = timedelta(days=self.config.commission.settle_after_days)
        return (select(literal("due"), func.coalesce(func.sum(LedgerEntry.amount), 0))
                .select_from(Order).join(LedgerEntry, LedgerEntry.order_id == Order.id)
                .where(due_orders(now - hold), LedgerEntry.user_id == user_id,
                       LedgerEntry.bucket == "confirmed",
                       LedgerEntry.currency == self.config.commission.currency))

    def _between(self, key: str, user_id: int, low: datetime, high: datetime) -> Select[str, int]:
        """The person's earnings on orders placed in [low, high), found from those orders."""
        orders = select(Order.id).where(Order.ordered_at >= low, Order.ordered_at < high)
        return (select(literal(key), func.coalesce(func.sum(LedgerEntry.amount), 0))
                .where(LedgerEntry.order_id.in_(orders), LedgerEntry.user_id == user_id,
                       LedgerEntry.bucket.in_(EARNING),
                       LedgerEntry.currency == self.config.commission.currency))

    def compact_earnings(self) -> None:
        """Fold committed per-transaction earning_days and activity_counts rows into slot 0
        (PostgreSQL).

        Only rows committed before this statement are moved, and exactly the rows deleted are
        summed, so a writer in flight is neither lost nor counted twice; an advisory lock keeps
        two folds apart."""
        if self.db.engine.dialect.name != "postgresql":
            return
        with self.db.transaction() as session:
            locks.hold(session, locks.EARNINGS_FOLD)
            session.execute(FOLD)
            session.execute(FOLD_COUNTS)

    def daily_commission(self, user_id: int, *, days: int = 30) -> list[tuple[date, int]]:
        """Commission earned per day of order over the last ``days`` days, zero days included."""
        now = self.now()
        today = now.date()
        first = today - timedelta(days=days - 1)
        start = datetime.combine(first, datetime.min.time(), tzinfo=now.tzinfo)
        # The series changes with a new ledger row or a new day, nothing else (an order's
        # day and group never change): kept until then, keyed on the ledger's row count.
        midnight = datetime.combine(today, datetime.min.time(), tzinfo=now.tzinfo)
        with self.db.transaction() as session:
            stamp = ledger_stamp(session, user_id)  # first: see readcache's docstring
            kept = self._cache.get((user_id, days, now.tzinfo), stamp, now)
            if kept is not None:
                return list(kept)
            series = self._daily(session, user_id, first, start, days)
        self._cache.put((user_id, days, now.tzinfo), stamp, midnight, midnight + timedelta(days=1),
                        tuple(series))
        return series

    @staticmethod
    def _daily(session: Session, user_id: int, first: date, start: datetime,
               days: int) -> list[tuple[date, int]]:
        per_day: dict[date, int] = defaultdict(int)
        for day, amount in session.execute(
            select(func.date(Order.ordered_at), func.sum(LedgerEntry.amount))
            .join(Order, Order.id == LedgerEntry.order_id)
            .where(LedgerEntry.user_id == user_id, LedgerEntry.bucket.in_(EARNING),
                   Order.ordered_at >= start)
            .group_by(func.date(Order.ordered_at))
        ):
            d = day if isinstance(day, date) else date.fromisoformat(str(day))
            per_day[d] += int(amount or 0)
        return [(first + timedelta(days=n), per_day.get(first + timedelta(days=n), 0))
                for n in range(days)]

    def payouts(self, user_id: int, *, limit: int = 20) -> list[PayoutRow]:
        """The person's latest payouts, newest first."""
        with self.db.transaction() as session:
            return [PayoutRow(amount=a, currency=c, created_at=t) for a, c, t in session.execute(
                select(Payout.amount, Payout.currency, Payout.created_at)
                .where(Payout.user_id == user_id)
                .order_by(Payout.created_at.desc(), Payout.id.desc()).limit(limit))]

    def owed(self, *, limit: int = 50) -> list[Owed]:
        """People with money in pending, confirmed or payable, most payable first."""
        def bucket(name: str) -> ColumnElement[Any]:
            return func.sum(case((LedgerEntry.bucket == name, LedgerEntry.amount), else_=0))

        with self.db.transaction() as session:
            rows = session.execute(
                select(LedgerEntry.user_id, User.first_name, User.username, bucket("payable"),
                       bucket("confirmed"), bucket("pending"))
                .join(User, User.id == LedgerEntry.user_id)
                .where(LedgerEntry.bucket.in_(("payable", "confirmed", "pending")))
                .group_by(LedgerEntry.user_id, User.first_name, User.username)
            ).all()
        owed = [Owed(user_id=uid, name=name or str(uid), username=username, payable=int(p or 0),
                     confirmed=int(c or 0), pending=int(q or 0))
                for uid, name, username, p, c, q in rows if p or c or q]
        owed.sort(key=lambda o: (-o.payable, -o.confirmed, o.user_id))
        return owed[:limit]
