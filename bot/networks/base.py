"""The connector interface: what every affiliate network module provides.

A connector has four jobs and nothing else: products in (``products``), links out
(``promotion_link``), orders in (``order_rows``) and a ``check``. It speaks its network's
protocol and returns plain values; it knows nothing of Telegram or of the database.
Booking, caching and cursors live in bot/networks/sync.py, the same for every network.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.domain.feed import ProductRow, RowError


class NetworkError(Exception):
    """A network call failed; the message is one line without secrets.

    ``transient`` failures (rate limits, busy or unreachable servers) are worth retrying
    later; the others (bad credentials, a refused request) need the operator."""

    def __init__(self, reason: str, *, transient: bool = False, code: str = "") -> None:
        super().__init__(reason)
        self.transient = transient
        self.code = code  # the network's own error code, when it gave one


@dataclass(frozen=True)
class ProductPage:
    """One page of the network's goods, already mapped to catalog rows."""

    rows: list[ProductRow | RowError]
    extras: dict[str, dict[str, str]]  # sku → material_url, coupon_url, shop_name, shop_id
    has_more: bool


@dataclass(frozen=True)
class OrderRow:
    """One order row as the network reports it, in kocbot's terms."""

    row_key: str  # unique per network: the row's identity (JD: orderId-skuId)
    sub_id: str  # the sub-id we put into the member's promotion link ("" if none)
    amount: int  # minor units
    commission: int  # minor units: the commission the network pays us for this row
    status: str | None  # pending / confirmed / cancelled / refunded; None: not ours to book
    currency: str
    ordered_at: datetime | None
    modified_at: datetime | None


@dataclass(frozen=True)
class OrderPage:
    rows: list[OrderRow]
    has_more: bool


@dataclass(frozen=True)
class CheckLine:
    """One line of ``kocbot networks check``."""

    what: str
    ok: bool
    detail: str


class Connector(Protocol):
    """One affiliate network."""

    name: str  # also the catalog merchant of its products
    max_window: timedelta  # the longest order-row window the API accepts
    order_page_size: int

    async def products(self, page: int, keyword: str = "") -> ProductPage:
        """One page of goods (pages count from 1)."""
        ...

    async def promotion_link(self, *, material_url: str, sub_id: str, coupon_url: str = "") -> str:
        """A promotion link for ``material_url`` whose orders will carry ``sub_id``."""
        ...

    async def order_rows(self, start: datetime, end: datetime, page: int) -> OrderPage:
        """Order rows modified in [start, end] (at most ``max_window``), one page."""
        ...

    async def check(self) -> list[CheckLine]:
        """Whether the credentials and the API answer: one line each."""
        ...

    async def aclose(self) -> None:
        """Release the HTTP client."""
        ...
