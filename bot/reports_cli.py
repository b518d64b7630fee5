"""``kocbot report``: the same figures as the chat commands, as text or CSV."""

from __future__ import annotations

import csv
from datetime import timedelta
from typing import TextIO

from sqlalchemy import func, select

from bot.domain.money import format_money, to_decimal
from bot.services import Services
from bot.storage.models import LedgerEntry, Order, User


def print_report(services: Services, *, group: int | None, promoter: int | None,
                 window: timedelta | None, fmt: str, out: TextIO) -> int:
    """Print one report; returns the exit code."""
    cur = services.config.commission.currency
    if fmt == "csv":
        _ledger_csv(services, promoter=promoter, out=out)
        return 0
    if group is not None:
        data = services.reports.group_report(group, window)
        if data is None:
            print(f"no group {group}", file=out)
            return 1
        print(f"{data.title}: {data.total_clicks} clicks, {data.total_orders} orders, "
              f"sales {format_money(data.total_sales, cur)}, commission "
              f"{format_money(data.total_commission, cur)}", file=out)
        for r in data.rows:
            print(f"  {r.name} ({r.user_id}): clicks {r.clicks} (unique {r.unique_clicks}), orders "
                  f"{r.orders}, sales {format_money(r.sales, cur)}, commission "
                  f"{format_money(r.commission, cur)}", file=out)
        for party, amount in sorted(data.by_party.items()):
            print(f"  {party}: {format_money(amount, cur)}", file=out)
        return 0
    if promoter is not None:
        e = services.reports.commission(promoter)
        for bucket in ("pending", "confirmed", "payable", "paid", "reversed"):
            print(f"{bucket}: {format_money(e.buckets.get(bucket, 0), cur)}", file=out)
        print(f"clicks: {e.clicks} (unique {e.unique_clicks}), orders: {e.orders}", file=out)
        print(f"last 7 days: {format_money(e.last_7_days, cur)}, last 30 days: "
              f"{format_money(e.last_30_days, cur)}", file=out)
        return 0
    s = services.reports.stats(window)
    print(f"groups {s.groups} (active {s.active_groups}), promoters {s.promoters}, posts {s.posts}, "
          f"taps {s.taps}, clicks {s.clicks} (bot hits {s.bot_hits}), orders {s.orders}, "
          f"GMV {format_money(s.gmv, cur)}", file=out)
    for party, amount in sorted(s.commission_by_party.items()):
        print(f"  {party}: {format_money(amount, cur)}", file=out)
    return 0


def _ledger_csv(services: Services, *, promoter: int | None, out: TextIO) -> None:
    """Balances per person and bucket, then every ledger entry."""
    writer = csv.writer(out)
    writer.writerow(["section", "user_id", "name", "party", "bucket", "amount", "currency",
                     "order_id", "payout_id", "event", "created_at"])
    with services.db.transaction() as session:
        where = [] if promoter is None else [LedgerEntry.user_id == promoter]
        names = dict(session.execute(select(User.id, User.first_name)).all())
        for uid, party, bucket, cur, amount in session.execute(
            select(LedgerEntry.user_id, LedgerEntry.party, LedgerEntry.bucket, LedgerEntry.currency,
                   func.sum(LedgerEntry.amount)).where(*where)
            .group_by(LedgerEntry.user_id, LedgerEntry.party, LedgerEntry.bucket, LedgerEntry.currency)
            .order_by(LedgerEntry.user_id, LedgerEntry.party, LedgerEntry.bucket)
        ):
            writer.writerow(["balance", uid or "", names.get(uid, ""), party, bucket,
                             to_decimal(int(amount), cur), cur, "", "", "", ""])
        # The merchant's order id, not our row id: that is what a promoter can check.
        external = dict(session.execute(select(Order.id, Order.order_id)).all())
        for e in session.scalars(select(LedgerEntry).where(*where).order_by(LedgerEntry.id)):
            writer.writerow(["entry", e.user_id or "", names.get(e.user_id, ""), e.party, e.bucket,
                             to_decimal(e.amount, e.currency), e.currency, external.get(e.order_id, ""),
                             e.payout_id or "", e.event, e.created_at.isoformat()])
