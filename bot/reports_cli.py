"""``kocbot report``: the same figures as the chat commands, as text or CSV."""

from __future__ import annotations

import csv
import sys
from datetime import timedelta
from typing import TextIO

from bot.domain.money import format_money, to_decimal
from bot.services.base import ServiceError
from bot.services.container import Services


def print_report(services: Services, *, group: int | None, promoter: int | None,
                 window: timedelta | None, fmt: str, out: TextIO) -> int:
    """Print one report; returns the exit code."""
    cur = services.config.commission.currency
    if fmt == "csv":
        return _ledger_csv(services, promoter=promoter, group=group, window=window, out=out)
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
    for other, money in s.other_currencies.items():  # never added to the booking currency's
        print(f"booked in {other} (not in the figures above): GMV {format_money(money.gmv, other)}", file=out)
        for party, amount in sorted(money.commission_by_party.items()):
            print(f"  {party}: {format_money(amount, other)}", file=out)
    return 0


def _ledger_csv(services: Services, *, promoter: int | None, group: int | None,
                window: timedelta | None, out: TextIO) -> int:
    """Balances per person and bucket, then every ledger entry, within --group and --since.

    The balance rows sum exactly the entry rows printed below them, so the file reconciles.
    """
    try:
        balances, entries = services.operator.ledger(promoter=promoter, group=group, window=window)
    except ServiceError as exc:
        print(f"kocbot: {exc}", file=sys.stderr)
        return 1
    writer = csv.writer(out)
    writer.writerow(["section", "user_id", "name", "party", "bucket", "amount", "currency",
                     "order_id", "payout_id", "event", "created_at"])
    for b in balances:
        writer.writerow(["balance", b.user_id or "", b.name, b.party, b.bucket,
                         to_decimal(b.amount, b.currency), b.currency, "", "", "", ""])
    for e in entries:
        writer.writerow(["entry", e.user_id or "", e.name, e.party, e.bucket,
                         to_decimal(e.amount, e.currency), e.currency, e.order_id, e.payout_id or "",
                         e.event, e.created_at.isoformat()])
    return 0
