"""Read-only figures the mini app shows beyond the chat commands: a promoter's commission per
day, their payouts, and who is owed what. Every figure is a sum over the ledger."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from bot.services.base import Service
from bot.services.readcache import ReadCache, ledger_stamp
from bot.services.reports import EARNING
from bot.storage.models import LedgerEntry, Order, Payout, User


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


class DashboardService(Service):
    """Figures for the promoter dashboard and the admin balances view."""

    def __init__(self, **deps) -> None:  # type: ignore[no-untyped-def]
        super().__init__(**deps)
        self._cache = ReadCache()

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
