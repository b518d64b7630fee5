"""Operator views for the command line: groups, balances owed, exports, a user by id or @name.

Exports stream rows (``yield_per``) so a year of clicks never sits in memory; every amount
leaves as a decimal string in its own currency, never a float.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, case, func, select

from bot.domain.money import to_decimal
from bot.services.base import Service, ServiceError
from bot.services.orders import due_orders
from bot.storage.models import Click, Group, LedgerEntry, Link, Merchant, Order, Product, User

EXPORTS = ("orders", "clicks", "ledger", "products")
_STREAM = 2000


@dataclass(frozen=True)
class GroupRow:
    """One line of ``kocbot groups``."""

    chat_id: int
    title: str
    owner_id: int | None
    owner: str
    bot_id: int | None
    schedule: str
    timezone: str
    paused: bool
    active: bool
    last_post_at: datetime | None


@dataclass(frozen=True)
class BalanceRow:
    """One person's money in one currency: settled (payable now), pending, already paid."""

    user_id: int
    username: str
    name: str
    currency: str
    settled: int
    pending: int
    paid: int


@dataclass(frozen=True)
class LedgerSum:
    """``report --format csv``: one person's (or the platform's) total in one bucket."""

    user_id: int | None
    name: str
    party: str
    bucket: str
    currency: str
    amount: int


@dataclass(frozen=True)
class LedgerLine:
    """``report --format csv``: one ledger entry, with the merchant's order id."""

    user_id: int | None
    name: str
    party: str
    bucket: str
    currency: str
    amount: int
    order_id: str
    payout_id: int | None
    event: str
    created_at: datetime


@dataclass(frozen=True)
class Export:
    """A table to print: its column names and a stream of rows of plain values."""

    columns: tuple[str, ...]
    rows: Iterator[tuple[object, ...]]


class OperatorService(Service):
    """Read-only views over the whole deployment, for whoever runs it."""

    def groups(self, *, owner: int | None = None) -> list[GroupRow]:
        """Every group the bot is in (or was), optionally one owner's, newest first."""
        query = (select(Group, User.username, User.first_name)
                 .outerjoin(User, User.id == Group.owner_id).order_by(Group.created_at.desc(), Group.id))
        if owner is not None:
            query = query.where(Group.owner_id == owner)
        with self.db.transaction() as session:
            return [GroupRow(chat_id=g.chat_id, title=g.title, owner_id=g.owner_id,
                             owner=_who(username, name), bot_id=g.bot_id, schedule=g.times,
                             timezone=g.timezone, paused=g.paused, active=g.active,
                             last_post_at=g.last_post_at)
                    for g, username, name in session.execute(query)]

    def balances(self, *, minimum: int = 0) -> list[BalanceRow]:
        """Who is owed what, per currency, most settled first; ``minimum`` applies to settled."""
        # As of now, like /commission and /payout: confirmed money whose hold has ended is
        # payable even before the settle job books the move.
        cutoff = self.now() - timedelta(days=self.config.commission.settle_after_days)
        bucket_now = case((and_(LedgerEntry.bucket == "confirmed", due_orders(cutoff)), "payable"),
                          else_=LedgerEntry.bucket)
        with self.db.transaction() as session:
            sums: dict[tuple[int, str], dict[str, int]] = {}
            for user_id, currency, bucket, total in session.execute(
                select(LedgerEntry.user_id, LedgerEntry.currency, bucket_now,
                       func.sum(LedgerEntry.amount))
                .outerjoin(Order, Order.id == LedgerEntry.order_id)
                .where(LedgerEntry.user_id.is_not(None))
                .group_by(LedgerEntry.user_id, LedgerEntry.currency, bucket_now)
            ):
                if user_id is not None:  # the WHERE says so; the column is nullable
                    sums.setdefault((user_id, currency), {})[bucket] = int(total or 0)
            people = {uid: (username, name) for uid, username, name in session.execute(
                select(User.id, User.username, User.first_name)
                .where(User.id.in_({uid for uid, _ in sums} or {0})))}
        rows = []
        for (uid, currency), b in sums.items():
            row = BalanceRow(user_id=uid, username=people.get(uid, (None, ""))[0] or "",
                             name=people.get(uid, (None, ""))[1] or "", currency=currency,
                             settled=b.get("payable", 0),
                             pending=b.get("pending", 0) + b.get("confirmed", 0), paid=b.get("paid", 0))
            if row.settled >= minimum and (row.settled or row.pending or row.paid):
                rows.append(row)
        return sorted(rows, key=lambda r: (-r.settled, -r.pending, r.user_id, r.currency))

    def ledger(self, *, promoter: int | None = None, group: int | None = None,
               window: timedelta | None = None) -> tuple[list[LedgerSum], list[LedgerLine]]:
        """Ledger sums and entries limited to a person, a group's orders and a time window.

        The sums are over exactly the entries returned, so the two always reconcile.
        """
        where = []
        if promoter is not None:
            where.append(LedgerEntry.user_id == promoter)
        if window is not None:
            where.append(LedgerEntry.created_at >= self.now() - window)
        with self.db.transaction() as session:
            if group is not None:
                group_pk = session.scalar(select(Group.id).where(Group.chat_id == group))
                if group_pk is None:
                    raise ServiceError("no_group", group=group)
                # A payout is not a group's; a group's rows are its orders' entries.
                where.append(LedgerEntry.order_id.in_(select(Order.id).where(Order.group_id == group_pk)))
            sums = [LedgerSum(uid, name or "", party, bucket, cur, int(total))
                    for uid, name, party, bucket, cur, total in session.execute(
                        select(LedgerEntry.user_id, User.first_name, LedgerEntry.party, LedgerEntry.bucket,
                               LedgerEntry.currency, func.sum(LedgerEntry.amount))
                        .outerjoin(User, User.id == LedgerEntry.user_id).where(*where)
                        .group_by(LedgerEntry.user_id, User.first_name, LedgerEntry.party,
                                  LedgerEntry.bucket, LedgerEntry.currency)
                        .order_by(LedgerEntry.user_id, LedgerEntry.party, LedgerEntry.bucket))]
            # The merchant's order id, not our row id: that is what a promoter can check.
            lines = [LedgerLine(e.user_id, name or "", e.party, e.bucket, e.currency, e.amount,
                                order_id or "", e.payout_id, e.event, e.created_at)
                     for e, order_id, name in session.execute(
                         select(LedgerEntry, Order.order_id, User.first_name)
                         .outerjoin(Order, Order.id == LedgerEntry.order_id)
                         .outerjoin(User, User.id == LedgerEntry.user_id)
                         .where(*where).order_by(LedgerEntry.id))]
        return sums, lines

    def find_user(self, text: str) -> int:
        """A user id from ``12345`` or ``@username`` (case-insensitive); ServiceError otherwise."""
        value = text.strip()
        if value.lstrip("-").isdigit():
            return int(value)
        name = value.removeprefix("@")
        if not name:
            raise ServiceError("not_a_user_ref", text=repr(text))
        with self.db.transaction() as session:
            ids = session.scalars(select(User.id).where(func.lower(User.username) == name.lower())).all()
        if not ids:
            raise ServiceError("unknown_username", name=name)
        if len(ids) > 1:
            raise ServiceError("ambiguous_username", name=name, count=len(ids))
        return ids[0]

    def export(self, kind: str, *, window: timedelta | None = None, group: int | None = None) -> Export:
        """Rows of one table, newest last, limited to ``window`` and one group's chat id."""
        if kind not in EXPORTS:
            raise ServiceError("cannot_export", kind=repr(kind), choices=", ".join(EXPORTS))
        if group is not None and kind == "products":
            raise ServiceError("products_no_group")
        since = None if window is None else self.now() - window
        group_pk = None
        if group is not None:
            with self.db.transaction() as session:
                group_pk = session.scalar(select(Group.id).where(Group.chat_id == group))
            if group_pk is None:
                raise ServiceError("no_group", group=group)
        export: Callable[[datetime | None, int | None], Export] = getattr(self, f"_export_{kind}")
        return export(since, group_pk)

    def _stream(self, query: Select[*tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        with self.db.transaction() as session:
            for row in session.execute(query.execution_options(yield_per=_STREAM)):
                yield tuple(row)

    def _export_orders(self, since: datetime | None, group_pk: int | None) -> Export:
        query = (select(Order, Merchant.name, Group.chat_id)
                 .outerjoin(Product, Product.id == Order.product_id)
                 .outerjoin(Merchant, Merchant.id == Product.merchant_id)
                 .outerjoin(Group, Group.id == Order.group_id).order_by(Order.id))
        if since is not None:
            query = query.where(Order.updated_at >= since)
        if group_pk is not None:
            query = query.where(Order.group_id == group_pk)

        def rows() -> Iterator[tuple[object, ...]]:
            for o, merchant, chat_id in self._stream(query):
                yield (o.order_id, merchant or "", o.click_id or "", o.status,
                       to_decimal(o.amount, o.currency), to_decimal(o.pool, o.currency), o.currency,
                       chat_id or "", o.promoter_id or "",
                       _iso(o.ordered_at), _iso(o.confirmed_at), _iso(o.settled_at), _iso(o.updated_at))

        return Export(("order_id", "merchant", "click_id", "status", "amount", "commission", "currency",
                       "group_chat_id", "promoter_id", "ordered_at", "confirmed_at", "settled_at",
                       "updated_at"), rows())

    def _export_clicks(self, since: datetime | None, group_pk: int | None) -> Export:
        query = (select(Click.id, Click.created_at, Click.is_bot, Link.code, Link.user_id, Link.promoter_id,
                        Group.chat_id, Product.sku)
                 .join(Link, Link.id == Click.link_id).join(Product, Product.id == Link.product_id)
                 .outerjoin(Group, Group.id == Link.group_id).order_by(Click.created_at, Click.id))
        if since is not None:
            query = query.where(Click.created_at >= since)
        if group_pk is not None:
            query = query.where(Link.group_id == group_pk)

        def rows() -> Iterator[tuple[object, ...]]:
            for cid, at, is_bot, code, member, promoter, chat_id, sku in self._stream(query):
                yield (cid, _iso(at), "true" if is_bot else "false", code, member, promoter or "",
                       chat_id or "", sku)

        return Export(("click_id", "created_at", "is_bot", "link_code", "member_id", "promoter_id",
                       "group_chat_id", "sku"), rows())

    def _export_ledger(self, since: datetime | None, group_pk: int | None) -> Export:
        query = (select(LedgerEntry, Order.order_id).outerjoin(Order, Order.id == LedgerEntry.order_id)
                 .order_by(LedgerEntry.id))
        if since is not None:
            query = query.where(LedgerEntry.created_at >= since)
        if group_pk is not None:
            query = query.where(Order.group_id == group_pk)

        def rows() -> Iterator[tuple[object, ...]]:
            for e, order_id in self._stream(query):
                yield (e.id, _iso(e.created_at), e.event, e.party, e.user_id or "", e.bucket,
                       to_decimal(e.amount, e.currency), e.currency, order_id or "", e.payout_id or "")

        return Export(("entry_id", "created_at", "event", "party", "user_id", "bucket", "amount", "currency",
                       "order_id", "payout_id"), rows())

    def _export_products(self, since: datetime | None, group_pk: int | None) -> Export:
        query = (select(Product, Merchant.name).join(Merchant, Merchant.id == Product.merchant_id)
                 .order_by(Product.id))
        if since is not None:
            query = query.where(Product.updated_at >= since)

        def rows() -> Iterator[tuple[object, ...]]:
            for p, merchant in self._stream(query):
                yield (merchant, p.sku, p.title, p.url, to_decimal(p.price, p.currency),
                       to_decimal(p.original_price, p.currency), p.commission_rate, p.category, p.image_url,
                       _iso(p.starts_at), _iso(p.ends_at), "" if p.stock is None else p.stock,
                       "true" if p.featured else "false", p.currency, "true" if p.active else "false",
                       _iso(p.updated_at))

        # The feed's own column names, so an export can be edited and imported back.
        return Export(("merchant", "sku", "title", "url", "price", "original_price", "commission_rate",
                       "category", "image_url", "starts_at", "ends_at", "stock", "featured", "currency",
                       "active", "updated_at"), rows())


def _who(username: str | None, name: str | None) -> str:
    return f"@{username}" if username else (name or "")


def _iso(moment: datetime | None) -> str:
    return moment.isoformat() if moment else ""
