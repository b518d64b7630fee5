"""Orders and money: attribute a reported order, split its commission, book the ledger,
settle, and pay out. The ledger is append-only: every change is a new entry."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.domain.ledger import Move, moves_for, reattribute_moves, transition
from bot.domain.money import convert, format_money, parse_amount
from bot.domain.postback import OrderReport
from bot.domain.split import Share, commission_pool, split_commission
from bot.services.base import Service, ServiceError, in_chunks
from bot.services.promoters import PromoterService
from bot.storage import locks
from bot.storage.models import (
    Click,
    LedgerEntry,
    Link,
    Merchant,
    Order,
    OrderEvent,
    Payout,
    Product,
    User,
)

log = logging.getLogger(__name__)
HELD = ("pending", "confirmed", "payable", "paid")


@dataclass(frozen=True)
class Ingested:
    """The outcome of one order report, mapped to an HTTP status by the web layer."""

    status: int  # 200 applied or repeated, 202 unattributed, 400 currency, 409 illegal change
    reason: str
    order_id: str
    created: bool = False  # this report created the order (the import summary counts new ones)


def due_orders(cutoff: datetime) -> ColumnElement[bool]:
    """Orders whose confirmed money ended its hold by ``cutoff`` but is not yet booked
    ``payable``: every reader that shows balances "as of now" counts it as payable."""
    return and_(Order.status == "confirmed", Order.settled_at.is_(None),
                Order.confirmed_at <= cutoff)


class OrderService(Service):
    """The money path after the click."""

    def _holdings(self, session: Session, order_pk: int) -> dict[tuple[str, int | None, str], int]:
        rows = session.execute(
            select(LedgerEntry.party, LedgerEntry.user_id, LedgerEntry.bucket,
                   func.sum(LedgerEntry.amount))
            .where(LedgerEntry.order_id == order_pk)
            .group_by(LedgerEntry.party, LedgerEntry.user_id, LedgerEntry.bucket)
        )
        return {(p, u, b): int(a) for p, u, b, a in rows if a}

    def _resplit(self, session: Session, order: Order, pool: int, promoter_id: int | None,
                 event: str, promoters: PromoterService) -> None:
        """Take each account's holding out of the bucket of the order's state and book the split
        of ``pool`` there instead (a late click's attribution, a final commission)."""
        held = [Move(party, user_id, bucket, amount)
                for (party, user_id, bucket), amount in self._holdings(session, order.id).items()
                if bucket == order.status]
        shares = self._split(session, pool, promoter_id, promoters)
        self._book(session, order, reattribute_moves(held, shares, order.status), event)

    def _book(self, session: Session, order: Order, moves: list[Move], event: str,
              payout_id: int | None = None) -> None:
        now = self.now()
        for move in moves:
            if move.amount:
                session.add(LedgerEntry(order_id=order.id, payout_id=payout_id, event=event,
                                        party=move.party, user_id=move.user_id, bucket=move.bucket,
                                        amount=move.amount, currency=order.currency, created_at=now))

    def _split(self, session: Session, pool: int, promoter_id: int | None,
               promoters: PromoterService) -> list[Share]:
        c = self.config.commission
        uplines = promoters.uplines(session, promoter_id) if promoter_id is not None else []
        return split_commission(pool, promoter_id=promoter_id, uplines=uplines,
                                platform_cut=c.platform_cut, mentor_override=c.mentor_override,
                                partner_override=c.partner_override)

    def ingest(self, report: OrderReport, *, source: str, promoters: PromoterService) -> Ingested:
        """Apply one order report idempotently; the whole change is one transaction.

        The order row is locked (``SELECT … FOR UPDATE``; on SQLite this transaction begins
        ``IMMEDIATE``) before its state and holdings are read, so reports of one order apply
        one at a time, in any process."""
        try:
            return self._ingest(report, source, promoters)
        except IntegrityError:
            # Two first reports of one order at once: the other created it; now it is a change.
            return self._ingest(report, source, promoters)

    def _ingest(self, report: OrderReport, source: str, promoters: PromoterService) -> Ingested:
        booking = self._booking(report)
        if isinstance(booking, Ingested):
            return booking
        with self.db.transaction(immediate=True) as session:
            link, product, promoter_id = self._attribution(session, report.click_id, promoters)
            if link is None and report.click_id and locks.unknown_click(session):
                # The click may sit in a batch that was committing (another web process):
                # the batches in flight have finished now; look again (storage/locks.py).
                link, product, promoter_id = self._attribution(session, report.click_id, promoters)
            merchant = self._merchant(session, product) or report.merchant
            order = session.scalars(
                select(Order).where(Order.merchant == merchant, Order.order_id == report.order_id)
                .with_for_update()
            ).first()
            if order is None and merchant != report.merchant:
                # Stored before its click was known, under the report's merchant (or none).
                order = session.scalars(
                    select(Order).where(Order.merchant == report.merchant,
                                        Order.order_id == report.order_id,
                                        Order.click_id == report.click_id)
                    .with_for_update()
                ).first()
            if order is None and link is None and not report.merchant:
                # Unknown click, no merchant named: the one order with this id, if only one
                # merchant has it (a mismatched click_id is then a 409, not a second order).
                same = session.scalars(select(Order.id).where(Order.order_id == report.order_id)
                                       .limit(2)).all()
                if len(same) == 1:
                    order = session.scalars(select(Order).where(Order.id == same[0])
                                            .with_for_update()).one()
            if order is None:
                return self._create(session, report, booking, merchant, source, promoters,
                                    (link, product, promoter_id))
            if order.click_id != report.click_id:
                return Ingested(409, f"click_id differs from the one order {order.order_id} was "
                                     "first reported with", order.order_id)
            verdict = transition(order.status, report.status)
            if verdict == "noop":
                return Ingested(200, "repeated report, no change", order.order_id)
            if verdict == "late":
                # The order already went past this state; the report is stale, not wrong.
                return Ingested(200, f"repeated report, no change (late {report.status}, order is "
                                     f"{order.status})", order.order_id)
            if verdict == "illegal":
                return Ingested(409, f"illegal change {order.status} → {report.status}", order.order_id)
            if order.status == "pending" and report.status == "confirmed":
                self._reprice(session, order, booking, promoters)
            self._move(session, order, report.status)
            session.add(OrderEvent(order_id=order.id, status=report.status, source=source,
                                   payload=_payload(report), created_at=self.now()))
            promoters.refresh_chain(session, order.promoter_id)
            return Ingested(200, f"{report.status}", order.order_id)

    def _reprice(self, session: Session, order: Order, booking: tuple[int, int | None, Decimal],
                 promoters: PromoterService) -> None:
        """A confirmation that names the final commission (JD's ``actualFee`` after its
        ``estimateFee``) re-splits the pending money to it before it moves on, so nobody is
        paid an estimate. A confirmation without a commission keeps the pool as booked."""
        amount, commission, _rate = booking
        if commission is None or commission == order.pool:
            return
        self._resplit(session, order, commission, order.promoter_id, "adjust", promoters)
        log.info("order commission adjusted at confirmation",
                 extra={"order": order.order_id, "from": order.pool, "to": commission})
        order.pool, order.amount = commission, amount

    def _booking(self, report: OrderReport) -> tuple[int, int | None, Decimal] | Ingested:
        """The report's amount and commission in the booking currency, and the rate used."""
        c = self.config.commission
        if report.currency == c.currency:
            return report.amount, report.commission, Decimal(1)
        rate = c.rates.get(report.currency)
        if rate is None:
            return Ingested(400, f"currency {report.currency} is not {c.currency} and has no "
                                 "rate in [commission.rates]", report.order_id)
        amount = convert(report.amount, report.currency, c.currency, rate)
        if amount <= 0:
            return Ingested(400, f"amount converts to less than the smallest unit of {c.currency}",
                            report.order_id)
        commission = (None if report.commission is None
                      else convert(report.commission, report.currency, c.currency, rate))
        return amount, commission, rate

    def _merchant(self, session: Session, product: Product | None) -> str:
        if product is None:
            return ""
        return session.scalar(select(Merchant.name).where(Merchant.id == product.merchant_id)) or ""

    def _create(self, session: Session, report: OrderReport,
                booking: tuple[int, int | None, Decimal], merchant: str, source: str,
                promoters: PromoterService,
                attribution: tuple[Link | None, Product | None, int | None]) -> Ingested:
        if transition(None, report.status) != "apply":
            return Ingested(409, f"a new order cannot start as {report.status}", report.order_id)
        link, product, promoter_id = attribution
        amount, commission, rate = booking
        if commission is not None:
            pool = commission
        elif product is not None:
            pool = commission_pool(amount, product.commission_rate)
        else:
            pool = 0  # nothing to split until the network tells us the commission
        now = self.now()
        order = Order(merchant=merchant, order_id=report.order_id, click_id=report.click_id,
                      amount=amount, pool=pool, currency=self.config.commission.currency,
                      original_amount=report.amount, original_currency=report.currency, rate=rate,
                      status=report.status, ordered_at=report.ts or now,
                      confirmed_at=now if report.status == "confirmed" else None,
                      settled_at=None, created_at=now, updated_at=now)
        _attach(order, link, product, promoter_id)
        session.add(order)
        session.flush()  # a second first report of this order fails here: IntegrityError
        shares = self._split(session, pool, promoter_id, promoters)
        self._book(session, order, moves_for(None, report.status, shares), report.status)
        session.add(OrderEvent(order_id=order.id, status=report.status, source=source,
                               payload=_payload(report), created_at=now))
        if report.status != "pending":
            promoters.refresh_chain(session, promoter_id)
        if link is None:
            return Ingested(202, "unknown click_id: stored as unattributed", report.order_id)
        return Ingested(200, report.status, report.order_id, created=True)

    def _attribution(self, session: Session, click_id: str | None, promoters: PromoterService,
                     ) -> tuple[Link | None, Product | None, int | None]:
        """The link, product and promoter behind a click id (Nones for an unknown click)."""
        click = session.get(Click, click_id) if click_id else None
        link = session.get(Link, click.link_id) if click is not None else None
        if link is None:
            return None, None, None
        product = session.get(Product, link.product_id)
        promoter_id = link.promoter_id
        if promoter_id is None and self.config.commission.self_purchase:
            # Self-purchase: a registered buyer with no other referrer is their own promoter.
            if promoters.is_registered(session, link.user_id):
                promoter_id = link.user_id
        return link, product, promoter_id

    def attribute_late(self, session: Session, click_ids: list[str],
                       promoters: PromoterService) -> int:
        """Attribute orders that were reported before their click was written.

        A web process buffers clicks for a fraction of a second, so in a deployment with
        several web processes a postback can name a click another process has not written
        yet; the order is then stored unattributed, all commission to the platform. When the
        click is written (in the same transaction as this call), an order whose money still
        sits in ``pending`` or unsettled ``confirmed`` is handed to its promoter and upline.
        Settled, cancelled and refunded orders stay as they are. Returns how many moved."""
        ids = sorted(pk for chunk in in_chunks(click_ids)
                     for pk in session.scalars(select(Order.id).where(Order.click_id.in_(chunk),
                                                                      Order.link_id.is_(None))))
        # Locked in id order, like settle and payout, so two of them never deadlock.
        orders = [order for chunk in in_chunks(ids) for order in session.scalars(
            select(Order).where(Order.id.in_(chunk)).order_by(Order.id).with_for_update())]
        moved = 0
        cutoff = self._settle_cutoff()
        for order in orders:
            if order.link_id is not None or order.status not in ("pending", "confirmed"):
                continue
            if order.settled_at is not None or (order.status == "confirmed"
                                                and order.confirmed_at is not None
                                                and order.confirmed_at <= cutoff):
                continue  # payable money (as of now) stays where it is
            link, product, promoter_id = self._attribution(session, order.click_id, promoters)
            if link is None:
                continue
            if product is not None and not self._network_set_commission(session, order):
                order.pool = commission_pool(order.amount, product.commission_rate)
            self._resplit(session, order, order.pool, promoter_id, "attribute", promoters)
            _attach(order, link, product, promoter_id)
            order.merchant = self._merchant(session, product) or order.merchant
            order.updated_at = self.now()
            moved += 1
            log.info("order attributed late", extra={"order": order.order_id, "user": promoter_id})
        return moved

    def _network_set_commission(self, session: Session, order: Order) -> bool:
        """Whether the report that created ``order`` named its commission."""
        first = session.scalars(select(OrderEvent.payload).where(OrderEvent.order_id == order.id)
                                .order_by(OrderEvent.id).limit(1)).first()
        return first is not None and json.loads(first).get("commission") is not None

    def _move(self, session: Session, order: Order, new: str) -> None:
        holdings = self._holdings(session, order.id)
        old = order.status
        moves: list[Move] = []
        for (party, user_id, bucket), amount in holdings.items():
            if bucket == "reversed" or amount == 0:
                continue
            share = Share(party=party, user_id=user_id, amount=amount)
            if old == "confirmed" and new == "refunded":
                moves += moves_for(old, new, [share], money_bucket=bucket)
            elif bucket == "pending":
                moves += moves_for(old, new, [share])
        self._book(session, order, moves, new)
        order.status = new
        order.updated_at = self.now()
        if new == "confirmed":
            order.confirmed_at = self.now()

    def _settle_cutoff(self) -> datetime:
        """Money confirmed at or before this moment has ended its hold: it is payable now."""
        return self.now() - timedelta(days=self.config.commission.settle_after_days)

    def _due(self) -> ColumnElement[bool]:
        """The condition of an order whose confirmed money is payable as of now but not yet
        moved to ``payable`` in the ledger."""
        return due_orders(self._settle_cutoff())

    def _settle_locked(self, session: Session, orders: list[Order]) -> int:
        """Book ``confirmed`` → ``payable`` for locked orders that are due."""
        cutoff = self._settle_cutoff()
        count = 0
        for order in orders:
            if order.status != "confirmed" or order.settled_at is not None \
                    or order.confirmed_at is None or order.confirmed_at > cutoff:
                continue
            moves = []
            for (party, user_id, bucket), amount in self._holdings(session, order.id).items():
                if bucket == "confirmed" and amount:
                    moves += [Move(party, user_id, "confirmed", -amount),
                              Move(party, user_id, "payable", amount)]
            self._book(session, order, moves, "settle")
            order.settled_at = self.now()
            count += 1
        return count

    def settle(self) -> int:
        """Book confirmed commission as payable once ``settle_after_days`` have passed.

        Balances already count such money as payable the moment its hold ends (the read
        side compares ``confirmed_at``); this books the move so the ledger says so too.
        Each order is locked first, so a refund racing it finds the money where it is."""
        with self.db.transaction(immediate=True) as session:
            orders = list(session.scalars(select(Order).where(self._due())
                                          .order_by(Order.id).with_for_update()))
            return self._settle_locked(session, orders)

    def payable(self, user_id: int) -> int:
        """``payable_balance`` read in a transaction of its own."""
        with self.db.transaction() as session:
            return self.payable_balance(session, user_id)

    def payable_balance(self, session: Session, user_id: int) -> int:
        """What ``user_id`` may be paid now, in the booking currency: money in ``payable`` plus
        confirmed money whose hold has ended (not booked by a settle yet)."""
        currency = self.config.commission.currency
        booked = session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0))
            .where(LedgerEntry.user_id == user_id, LedgerEntry.bucket == "payable",
                   LedgerEntry.currency == currency)
        ) or 0
        due = session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0))
            .join(Order, Order.id == LedgerEntry.order_id)
            .where(LedgerEntry.user_id == user_id, LedgerEntry.bucket == "confirmed",
                   LedgerEntry.currency == currency, self._due())
        ) or 0
        return int(booked) + int(due)

    def payout(self, *, user_id: int, amount_text: str, admin_id: int, note: str = "") -> Payout:
        """Pay a promoter from their settled balance, covering entries oldest first.

        Every order holding the user's confirmed or payable money is locked (in id order)
        first; due ones are settled in the same transaction, so a concurrent refund, settle
        or payout waits and then sees the result."""
        currency = self.config.commission.currency
        try:
            amount = parse_amount(amount_text, currency)
        except ValueError as exc:
            raise ServiceError("bad_amount", reason=str(exc)) from None
        minimum = parse_amount(str(self.config.commission.min_payout), currency, allow_zero=True)
        if amount < minimum:
            raise ServiceError("min_payout", amount=format_money(minimum, currency))
        with self.db.transaction(immediate=True) as session:
            if session.get(User, user_id) is None:
                raise ServiceError("no_user", user_id=user_id)
            held = select(LedgerEntry.order_id).where(
                LedgerEntry.user_id == user_id, LedgerEntry.bucket.in_(("confirmed", "payable")),
                LedgerEntry.currency == currency)
            orders = list(session.scalars(select(Order).where(Order.id.in_(held))
                                          .order_by(Order.id).with_for_update()))
            self._settle_locked(session, orders)
            balance = self.payable_balance(session, user_id)
            if amount > balance:
                raise ServiceError("balance_too_low", balance=format_money(balance, currency))
            payout = Payout(user_id=user_id, amount=amount, currency=currency, admin_id=admin_id,
                            note=note[:200], created_at=self.now())
            session.add(payout)
            session.flush()
            self._cover(session, payout, user_id, amount)
            return payout

    def _cover(self, session: Session, payout: Payout, user_id: int, amount: int) -> None:
        # Payable money always belongs to an order; the column is nullable for other buckets.
        per_order: dict[tuple[int | None, str], int] = defaultdict(int)
        rows = session.execute(
            select(LedgerEntry.order_id, LedgerEntry.party, func.sum(LedgerEntry.amount))
            .where(LedgerEntry.user_id == user_id, LedgerEntry.bucket == "payable",
                   LedgerEntry.currency == payout.currency)
            .group_by(LedgerEntry.order_id, LedgerEntry.party).order_by(LedgerEntry.order_id)
        )
        for order_id, party, total in rows:
            per_order[(order_id, party)] = int(total)
        left = amount
        for (order_id, party), available in per_order.items():
            if left <= 0:
                break
            if available <= 0:
                continue
            take = min(available, left)
            order = session.get_one(Order, order_id)
            self._book(session, order, [Move(party, user_id, "payable", -take),
                                        Move(party, user_id, "paid", take)], "payout", payout.id)
            left -= take
        if left > 0:
            raise ServiceError("balance_changed")


def _attach(order: Order, link: Link | None, product: Product | None,
            promoter_id: int | None) -> None:
    """Point ``order`` at the link, group, buyer, product and promoter its click leads to."""
    order.link_id = link.id if link else None
    order.group_id = link.group_id if link else None
    order.buyer_id = link.user_id if link else None
    order.product_id = product.id if product else None
    order.promoter_id = promoter_id


def _payload(report: OrderReport) -> str:
    return json.dumps({
        "order_id": report.order_id, "click_id": report.click_id, "amount": report.amount,
        "status": report.status, "commission": report.commission, "currency": report.currency,
        "ts": report.ts.isoformat() if report.ts else None, "merchant": report.merchant,
    }, sort_keys=True)


def rate_text(rate: Decimal) -> str:
    """``Decimal("0.1")`` → ``10%``."""
    return f"{(rate * 100).normalize():f}%"
