"""Running a connector against the database: products into the catalog, cached promotion
links, and order rows through the same ``OrderService.ingest`` as postbacks.

The order poller keeps a cursor (the start of the next window) in ``network_cursors`` and
moves it only after a whole window, every page of it, has been booked. A poller that dies
mid-window leaves the cursor where it was; the next run polls that window again from page
1, and booking is idempotent (the order is keyed by its row, a repeated state is a no-op),
so nothing is missed and nothing is booked twice. A lease on the cursor row keeps two
pollers from walking the same windows at once; if a lease outlives its poller (a crash),
it expires, or, on the same host, is taken over as soon as its process is gone.

Blocking database work runs through ``_db``: inline on SQLite (one writer anyway), in a
worker thread on PostgreSQL, so the event loop that also serves the bot never waits on it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, Result, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.domain.feed import ProductRow, RowError
from bot.domain.postback import OrderReport
from bot.networks.base import Connector, NetworkError, OrderRow
from bot.services.container import Services
from bot.services.feed_import import FeedWriter, ImportResult
from bot.services.orders import Ingested
from bot.storage.models import (
    Click,
    Link,
    NetworkCursor,
    NetworkLink,
    NetworkOrder,
    NetworkProduct,
    Product,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
SUB_PREFIX = "kb"  # our subUnionIds: "kb" + the member's link code; other tools' ids are not ours
MAX_PRODUCT_PAGES = 200


@dataclass
class PollSummary:
    """What one order poll did."""

    windows: int = 0
    rows: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    skipped: int = 0
    stopped: str = ""  # why the poll stopped early, if it did

    def __str__(self) -> str:
        done = ", ".join(f"{n} {k}" for k, n in sorted(self.outcomes.items())) or "none booked"
        text = f"orders: {self.windows} windows, {self.rows} rows ({done}; {self.skipped} skipped)"
        return text + (f"; stopped: {self.stopped}" if self.stopped else "")


class NetworkSync:
    """One connector, one database: products, links and order rows."""

    def __init__(self, *, connector: Connector, services: Services, lease: timedelta = timedelta(minutes=5),
                 lag: timedelta = timedelta(minutes=2), lookback: timedelta = timedelta(days=1),
                 retries: int = 3, backoff: float = 1.0, page_pause: float = 0.2) -> None:
        self.connector = connector
        self.services = services
        self.db = services.db
        self.network = connector.name
        self.lease = lease
        self.lag = lag  # rows of the last minutes may still be arriving at the network
        self.lookback = lookback  # the first run starts this far back
        self.retries = retries
        self.backoff = backoff
        self.page_pause = page_pause  # seconds between pages: stays under per-second call limits
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._links: dict[int, str] = {}

    async def _db(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await self.db.run(fn, *args, **kwargs)  # the one rule: bot/storage/db.py

    async def _api(self, call: Callable[[], Any]) -> Any:
        """A connector call, retried with backoff while the network says "later"."""
        for attempt in range(self.retries + 1):
            try:
                return await call()
            except NetworkError as exc:
                if not exc.transient or attempt == self.retries:
                    raise
                await asyncio.sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable")

    # -- products ---------------------------------------------------------------------------
    async def import_products(self, keywords: tuple[str, ...] = ("",)) -> ImportResult:
        """Every page of the network's goods into the catalog (a transaction per page)."""
        result = ImportResult()
        for keyword in keywords:
            for page in range(1, MAX_PRODUCT_PAGES + 1):
                got = await self._api(functools.partial(self.connector.products, page, keyword))
                await self._db(self._write_products, got.rows, got.extras, result)
                if not got.has_more:
                    break
                await asyncio.sleep(self.page_pause)
        self.services.catalog.invalidate()
        return result

    def _write_products(self, rows: list[ProductRow | RowError], extras: dict[str, dict[str, str]],
                        result: ImportResult) -> None:
        now = self.services.now()
        with self.db.transaction() as session:
            writer = FeedWriter(session, config=self.services.config, now=now)
            for row in rows:
                result.total += 1
                if isinstance(row, RowError):
                    result.errors.append(row)
                    continue
                writer.add(row, result)
            writer.flush()
            known = set(session.scalars(select(NetworkProduct.sku).where(
                NetworkProduct.network == self.network, NetworkProduct.sku.in_(list(extras) or [""]))))
            for sku, extra in extras.items():
                values = {**extra, "updated_at": now}
                if sku in known:
                    session.execute(update(NetworkProduct).where(NetworkProduct.network == self.network,
                                                                 NetworkProduct.sku == sku).values(**values))
                else:
                    session.execute(insert(NetworkProduct).values(network=self.network, sku=sku, **values))

    # -- links ------------------------------------------------------------------------------
    async def link_for(self, link_id: int) -> str:
        """The member's promotion link for one of our links: cached, else made now.

        Raises NetworkError when the network does not answer within the API timeout."""
        cached = self._links.get(link_id)
        if cached is not None:
            return cached
        known, material, coupon, sub_id = await self._db(self._link_inputs, link_id)
        if known:
            self._links[link_id] = known
            return known
        if not material:
            raise NetworkError(f"no {self.network} product behind this link")
        url = await self.connector.promotion_link(material_url=material, sub_id=sub_id, coupon_url=coupon)
        await self._db(self._store_link, link_id, sub_id, url)
        self._links[link_id] = url
        return url

    def _link_inputs(self, link_id: int) -> tuple[str | None, str, str, str]:
        with self.db.transaction() as session:
            known = session.scalar(select(NetworkLink.url).where(NetworkLink.network == self.network,
                                                                 NetworkLink.link_id == link_id))
            link = session.get(Link, link_id)
            if link is None:
                return known, "", "", ""
            product = session.get_one(Product, link.product_id)
            extra = session.scalars(select(NetworkProduct).where(NetworkProduct.network == self.network,
                                                                 NetworkProduct.sku == product.sku)).first()
            material = extra.material_url if extra else ""
            return known, material, extra.coupon_url if extra else "", SUB_PREFIX + link.code

    def _store_link(self, link_id: int, sub_id: str, url: str) -> None:
        try:
            with self.db.transaction() as session:
                session.add(NetworkLink(network=self.network, link_id=link_id, sub_id=sub_id, url=url,
                                        created_at=self.services.now()))
        except IntegrityError:
            pass  # another process made it at the same moment; either link carries the sub-id

    # -- orders -----------------------------------------------------------------------------
    async def poll_orders(self) -> PollSummary:
        """Walk the windows from the cursor up to now − lag, booking every row of every page."""
        summary = PollSummary()
        start = await self._db(self._claim)
        if start is None:
            summary.stopped = "another poller holds the lease"
            return summary
        try:
            horizon = self.services.now() - self.lag
            while start < horizon:
                end = min(start + self.connector.max_window, horizon)
                page = 1
                while True:
                    got = await self._api(functools.partial(self.connector.order_rows, start, end, page))
                    summary.rows += len(got.rows)
                    for row in got.rows:
                        outcome = await self._db(self.book, row)
                        if outcome is None:
                            summary.skipped += 1
                        else:
                            key = str(outcome.status)
                            summary.outcomes[key] = summary.outcomes.get(key, 0) + 1
                    if not got.has_more:
                        break
                    page += 1
                    await asyncio.sleep(self.page_pause)
                if not await self._db(self._advance, end):
                    summary.stopped = "the lease was taken over"
                    return summary
                summary.windows += 1
                start = end
        except NetworkError as exc:
            summary.stopped = str(exc)  # the cursor stays: the next poll retries this window
        finally:
            await self._db(self._release)
        return summary

    def book(self, row: OrderRow) -> Ingested | None:
        """Book one order row through ``OrderService.ingest``; None when it is not ours to book."""
        if row.status is None or row.amount <= 0:
            return None
        click_id = self._click_for(row)
        report = OrderReport(click_id=click_id, order_id=f"{self.network}-{row.row_key}"[:64],
                             amount=row.amount, status=row.status, commission=row.commission,
                             currency=row.currency, ts=row.ordered_at, merchant=self.network)
        outcome = self.services.orders.ingest(report, source=self.network,
                                              promoters=self.services.promoters)
        if outcome.status >= 400:
            log.warning("network order row refused", extra={"network": self.network,
                                                            "row": row.row_key, "reason": outcome.reason})
        return outcome

    def _click_for(self, row: OrderRow) -> str:
        """The click this row is booked with: chosen once, then the same on every poll."""
        with self.db.transaction() as session:
            chosen = session.scalar(select(NetworkOrder.click_id).where(
                NetworkOrder.network == self.network, NetworkOrder.row_key == row.row_key))
            if chosen is not None:
                return chosen
            click_id = None
            if row.sub_id.startswith(SUB_PREFIX):
                link_id = session.scalar(select(Link.id).where(Link.code == row.sub_id[len(SUB_PREFIX):]))
                if link_id is not None:
                    # The member's first click on the link: the one that led to the network.
                    click_id = session.scalar(select(Click.id).where(Click.link_id == link_id)
                                              .order_by(Click.is_bot, Click.created_at, Click.id).limit(1))
            click_id = click_id or f"{self.network}:{row.sub_id or '-'}"[:64]
            try:
                with session.begin_nested():
                    session.add(NetworkOrder(network=self.network, row_key=row.row_key, click_id=click_id,
                                             created_at=self.services.now()))
            except IntegrityError:
                return session.scalars(select(NetworkOrder.click_id).where(
                    NetworkOrder.network == self.network, NetworkOrder.row_key == row.row_key)).one()
            return click_id

    def _claim(self) -> datetime | None:
        """Take the cursor's lease; the cursor (start of the next window) or None if held."""
        now = self.services.now()
        with self.db.transaction() as session:
            cursor = session.get(NetworkCursor, self.network)
            if cursor is None:
                try:
                    with session.begin_nested():
                        session.add(NetworkCursor(network=self.network, cursor_at=now - self.lookback,
                                                  updated_at=now))
                except IntegrityError:
                    pass
        with self.db.transaction() as session:
            cursor = session.get_one(NetworkCursor, self.network)
            holder = cursor.lease_owner
            free = (holder is None or holder == self.owner or cursor.lease_until is None
                    or cursor.lease_until < now or _dead_here(holder))
            if not free:
                return None
            # Conditional: of two pollers that both saw the lease free, one UPDATE wins.
            won = _rowcount(session.execute(
                update(NetworkCursor).where(NetworkCursor.network == self.network,
                                            _same(NetworkCursor.lease_owner, holder))
                .values(lease_owner=self.owner, lease_until=now + self.lease, updated_at=now)))
            return cursor.cursor_at if won == 1 else None

    def _advance(self, end: datetime) -> bool:
        now = self.services.now()
        with self.db.transaction() as session:
            return _rowcount(session.execute(
                update(NetworkCursor).where(NetworkCursor.network == self.network,
                                            NetworkCursor.lease_owner == self.owner)
                .values(cursor_at=end, lease_until=now + self.lease, updated_at=now))) == 1

    def _release(self) -> None:
        with self.db.transaction() as session:
            session.execute(update(NetworkCursor).where(NetworkCursor.network == self.network,
                                                        NetworkCursor.lease_owner == self.owner)
                            .values(lease_owner=None, lease_until=None))

    # -- the loop ---------------------------------------------------------------------------
    async def run_once(self, keywords: tuple[str, ...] | None = None) -> str:
        """Products (when ``keywords`` are given), then orders; a one-line summary."""
        parts = []
        if keywords is not None:
            try:
                result = await self.import_products(keywords)
                parts.append(f"products: {result.total} items, {result.created} new, "
                             f"{result.updated} updated, {len(result.errors)} bad")
            except NetworkError as exc:
                parts.append(f"products: {exc}")
        parts.append(str(await self.poll_orders()))
        return "; ".join(parts)

    async def run_forever(self, stop: asyncio.Event, *, every: float,
                          keywords: tuple[str, ...] = ("",)) -> None:
        """Poll every ``every`` seconds until ``stop`` is set; a failed poll is logged, not fatal."""
        while not stop.is_set():
            try:
                log.info("network sync", extra={"network": self.network,
                                                "summary": await self.run_once(keywords)})
            except Exception:  # noqa: BLE001 - the next round tries again
                log.exception("network sync failed")
            try:
                await asyncio.wait_for(stop.wait(), timeout=every)
            except TimeoutError:
                pass


def _same(column: Any, value: str | None) -> Any:
    return column.is_(None) if value is None else column == value


def _dead_here(owner: str) -> bool:
    """True when ``owner`` was a process on this host that no longer exists."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE changed (its result is a cursor result, which counts them)."""
    return cast(CursorResult[Any], result).rowcount
