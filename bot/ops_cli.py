"""Operator views on the command line: ``groups``, ``balances``, ``export``, ``payout``.

The SQL lives in bot/services/operator.py; this module parses and prints. It imports the
services only inside the handlers, so building the parser stays cheap.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, TextIO

from bot.config import Config
from bot.domain.money import format_money, parse_amount

if TYPE_CHECKING:
    from bot.services.operator import Export

# The tables ``export`` knows; bot/services/operator.py has the same tuple (a test checks).
EXPORTS = ("orders", "clicks", "ledger", "products")

# The admin id a payout recorded from the command line carries (Telegram ids are positive).
CLI_ADMIN_ID = 0


def add_parsers(add: Callable[..., argparse.ArgumentParser]) -> None:
    """Register this module's subcommands with bot/cli.py's ``add``."""
    groups = add("groups", "bot.ops_cli:groups_cmd",
                 "list the groups: id, title, owner, bot, schedule, paused, last post")
    groups.add_argument("--owner", type=int, help="only this owner's groups (a user id)")
    balances = add("balances", "bot.ops_cli:balances_cmd",
                   "who is owed what: settled (payable now) and pending")
    balances.add_argument("--min", default="0", metavar="AMOUNT",
                          help="only people whose settled balance is at least AMOUNT (e.g. 10.00)")
    export = add("export", "bot.ops_cli:export_cmd",
                 "write orders, clicks, ledger entries or products to stdout")
    export.add_argument("table", choices=EXPORTS)
    export.add_argument("--since", default="all", help="7d, 30d, any Nd, or all (default)")
    export.add_argument("--group", type=int, help="one group's chat id (not for products)")
    export.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    payout = add("payout", "bot.ops_cli:payout_cmd", "record a payout, with the same rules as /payout")
    payout.add_argument("user", help="user id or @username")
    payout.add_argument("amount", help="amount in [commission].currency, e.g. 50 or 50.00")
    payout.add_argument("--note", default="",
                        help="kept with the payout (e.g. the transfer reference; 200 characters)")


def groups_cmd(args: argparse.Namespace, config: Config) -> int:
    """Print every group as a tab-separated table."""
    from bot.commands import services_for

    rows = services_for(config).operator.groups(owner=args.owner)
    out = sys.stdout
    print("chat_id\ttitle\towner\tbot\tschedule\tpaused\tlast_post", file=out)
    for g in rows:
        owner = f"{g.owner_id} {g.owner}".strip() if g.owner_id else "-"
        state = "yes" if g.paused else ("left" if not g.active else "no")
        last = g.last_post_at.strftime("%Y-%m-%d %H:%M UTC") if g.last_post_at else "-"
        print(f"{g.chat_id}\t{_cell(g.title)}\t{_cell(owner)}\t{g.bot_id or '-'}\t{g.schedule} {g.timezone}\t"
              f"{state}\t{last}", file=out)
    if not rows:
        print("no groups" + (f" owned by {args.owner}" if args.owner is not None else ""), file=sys.stderr)
    return 0


def balances_cmd(args: argparse.Namespace, config: Config) -> int:
    """Print balances owed, most settled first."""
    from bot.commands import services_for

    currency = config.commission.currency
    try:
        minimum = parse_amount(args.min, currency, allow_zero=True)
    except ValueError as exc:
        print(f"kocbot: --min: {exc}", file=sys.stderr)
        return 2
    rows = services_for(config).operator.balances(minimum=minimum)
    print("user_id\tusername\tname\tsettled\tpending\tpaid", file=sys.stdout)
    for r in rows:
        print(f"{r.user_id}\t{'@' + r.username if r.username else '-'}\t{_cell(r.name) or '-'}\t"
              f"{format_money(r.settled, r.currency)}\t{format_money(r.pending, r.currency)}\t"
              f"{format_money(r.paid, r.currency)}", file=sys.stdout)
    return 0


def _cell(text: str) -> str:
    """One table cell: a tab or line break in a chat title or a name would break the columns."""
    return " ".join(text.split())


def export_cmd(args: argparse.Namespace, config: Config) -> int:
    """Stream one table as CSV or JSON lines."""
    from bot.commands import services_for
    from bot.services.base import ServiceError
    from bot.services.reports import parse_since

    try:
        window = parse_since(args.since)
    except ValueError as exc:
        print(f"kocbot: --since: {exc}", file=sys.stderr)
        return 2
    try:
        table = services_for(config).operator.export(args.table, window=window, group=args.group)
        write_table(table, fmt=args.format, out=sys.stdout)
    except ServiceError as exc:
        print(f"kocbot: {exc}", file=sys.stderr)
        return 2
    return 0


def write_table(table: Export, *, fmt: str, out: TextIO) -> None:
    """CSV with a header row, or one JSON object per line with amounts as decimal strings."""
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(table.columns)
        writer.writerows(table.rows)
        return
    for row in table.rows:
        record = {name: (str(v) if isinstance(v, Decimal) else v) for name, v in zip(table.columns, row,
                                                                                   strict=True)}
        out.write(json.dumps(record, ensure_ascii=False) + "\n")


def payout_cmd(args: argparse.Namespace, config: Config) -> int:
    """Record a payout through the same service as /payout."""
    import logging

    from bot.commands import services_for
    from bot.services.base import ServiceError

    services = services_for(config)
    try:
        user_id = services.operator.find_user(args.user)
        done = services.orders.payout(user_id=user_id, amount_text=args.amount, admin_id=CLI_ADMIN_ID,
                                      note=args.note)
    except ServiceError as exc:
        print(f"kocbot: {exc}", file=sys.stderr)
        return 1
    logging.getLogger("kocbot.payout").info("payout %s recorded from the command line: %s", done.id,
                                            done.note, extra={"user": user_id})
    print(f"paid {format_money(done.amount, done.currency)} to {user_id} (payout {done.id})"
          + (f": {args.note}" if args.note else ""))
    return 0

