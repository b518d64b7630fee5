"""JD Union (京东联盟): goods in, promotion links out, order rows in, and a check.

The API methods used, with the limits this connector keeps to:

- ``jd.union.open.goods.query`` (``goodsReqDTO``): goods by keyword, ``pageIndex`` from 1,
  at most ``GOODS_PAGE`` items a page;
- ``jd.union.open.promotion.bysubunionid.get`` (``promotionCodeReq``): a short link for a
  product URL (``materialId``) carrying our ``subUnionId`` (letters, digits, ``_`` and
  ``-``, at most 80), which every order row bought through it reports back;
- ``jd.union.open.order.row.query`` (``orderReq``): order rows by modification time
  (``type`` 3), ``startTime``..``endTime`` at most one hour apart, ``pageIndex`` from 1,
  at most ``ORDER_PAGE`` rows a page, ``hasMore`` while there are more.

A row is one (orderId, skuId). Its ``validCode`` maps onto kocbot's order states:

=====================================================  ============================
validCode                                              kocbot state
=====================================================  ============================
15 awaiting payment, 16 paid, 24 deposit paid          pending
17 completed (buyer confirmed receipt)                 confirmed
17 with every unit returned (skuReturnNum ≥ skuNum)    refunded
2 split, 3 cancelled, 4–14, 19–23, 25–28 (invalid or   cancelled; refunded when the
violating orders)                                      row had been completed
-1 unknown, anything else                              not booked (logged)
=====================================================  ============================

The commission is the row's ``actualFee`` once it is completed, else its ``estimateFee``;
the amount is its commissionable price (``actualCosPrice``/``estimateCosPrice``), or price
× quantity when that is 0.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from bot.config import JdSettings
from bot.domain.feed import ProductRow, RowError
from bot.domain.feed.fields import Validator
from bot.networks.base import CheckLine, NetworkError, OrderPage, OrderRow, ProductPage
from bot.networks.jd_api import CREDENTIAL_CODES, JdGateway, beijing, parse_beijing

log = logging.getLogger(__name__)

NAME = "jd"
GOODS_PAGE = 30
ORDER_PAGE = 200
MAX_WINDOW = timedelta(hours=1)
PENDING_CODES = {15, 16, 24}
CONFIRMED_CODE = 17
INVALID_CODES = {2, 3, *range(4, 15), *range(19, 24), *range(25, 29)}


def row_status(row: dict[str, Any]) -> str | None:
    """validCode (and returns) → pending / confirmed / cancelled / refunded, or None."""
    code = _int(row.get("validCode"))
    if code in PENDING_CODES:
        return "pending"
    if code == CONFIRMED_CODE:
        quantity, returned = _int(row.get("skuNum")), _int(row.get("skuReturnNum"))
        return "refunded" if quantity and returned is not None and returned >= quantity else "confirmed"
    if code in INVALID_CODES:
        return "refunded" if row.get("finishTime") else "cancelled"
    return None


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError, InvalidOperation):
        return None


def _fen(value: Any) -> int:
    """A yuan amount from the API (Decimal, int or string) in fen; 0 when absent or bad."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return 0
    if not amount.is_finite() or amount < 0:
        return 0
    return int((amount * 100).quantize(Decimal(1)))


class JdConnector:
    """The JD Union connector (see the module docstring for the API it speaks)."""

    name = NAME
    max_window = MAX_WINDOW
    order_page_size = ORDER_PAGE

    def __init__(self, settings: JdSettings, *, keywords: tuple[str, ...] = ("",),
                 now: Callable[[], datetime] | None = None, timeout: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self.keywords = keywords
        self.now = now or (lambda: datetime.now(UTC))
        self.gateway = JdGateway(api_url=settings.api_url, app_key=settings.app_key,
                                 app_secret=settings.app_secret, timeout=timeout, transport=transport)
        self.validator = Validator("CNY", None, UTC)

    async def aclose(self) -> None:
        await self.gateway.aclose()

    # -- products in ------------------------------------------------------------------------
    async def products(self, page: int, keyword: str = "") -> ProductPage:
        """One page of ``jd.union.open.goods.query``, as catalog rows of merchant ``jd``."""
        request: dict[str, Any] = {"pageIndex": page, "pageSize": GOODS_PAGE}
        if keyword:
            request["keyword"] = keyword
        result = await self.gateway.call("jd.union.open.goods.query", {"goodsReqDTO": request},
                                         self.now())
        data = result.get("data") or []
        if not isinstance(data, list):
            raise NetworkError("JD goods query: data is not a list")
        rows: list[ProductRow | RowError] = []
        extras: dict[str, dict[str, str]] = {}
        for index, item in enumerate(data, start=1):
            position = (page - 1) * GOODS_PAGE + index
            if not isinstance(item, dict):
                rows.append(RowError(position, "not an object", "item"))
                continue
            row, extra = self._goods_row(item)
            rows.append(row if isinstance(row, ProductRow) else RowError(position, row, "item"))
            if isinstance(row, ProductRow):
                extras[row.sku] = extra
        total = _int(result.get("totalCount")) or 0
        has_more = bool(data) and page * GOODS_PAGE < total
        return ProductPage(rows=rows, extras=extras, has_more=has_more)

    def _goods_row(self, item: dict[str, Any]) -> tuple[ProductRow | str, dict[str, str]]:
        price_info = item.get("priceInfo") or {}
        commission = item.get("commissionInfo") or {}
        images = (item.get("imageInfo") or {}).get("imageList") or [{}]
        category = item.get("categoryInfo") or {}
        shop = item.get("shopInfo") or {}
        coupons = (item.get("couponInfo") or {}).get("couponList") or []
        if not all(isinstance(x, dict) for x in (price_info, commission, category, shop)):
            return "malformed item", {}
        url = str(item.get("materialUrl") or "")
        if url and not url.startswith(("http://", "https://")):
            url = "https://" + url  # the goods query gives item.jd.com/… without a scheme
        price = price_info.get("price")
        # The coupon price is what a member pays with the best coupon: that is the deal.
        deal = price_info.get("lowestCouponPrice") or price_info.get("lowestPrice") or price
        try:
            rate = Decimal(str(commission.get("commissionShare"))) / 100
        except (InvalidOperation, ValueError):
            rate = Decimal(-1)
        image = images[0].get("url", "") if isinstance(images[0], dict) else ""
        row = self.validator.row({
            "merchant": NAME, "sku": str(item.get("skuId") or ""), "title": str(item.get("skuName") or ""),
            "url": url, "price": str(deal or ""), "original_price": str(price or ""),
            "commission_rate": str(rate) if Decimal(0) <= rate <= 1 else "bad",
            "category": str(category.get("cid3Name") or category.get("cid1Name") or ""),
            "image_url": str(image or ""), "currency": "CNY",
        })
        best = next((c for c in coupons if isinstance(c, dict) and c.get("isBest") == 1), None)
        extra = {"material_url": url, "coupon_url": str((best or {}).get("link") or ""),
                 "shop_name": str(shop.get("shopName") or "")[:128],
                 "shop_id": str(shop.get("shopId") or "")[:32]}
        return row, extra

    # -- links out --------------------------------------------------------------------------
    async def promotion_link(self, *, material_url: str, sub_id: str, coupon_url: str = "") -> str:
        """A short promotion link (chainType 2) whose orders report ``sub_id``."""
        request: dict[str, Any] = {"materialId": material_url, "subUnionId": sub_id, "chainType": 2}
        if coupon_url:
            request["couponUrl"] = coupon_url
        result = await self.gateway.call("jd.union.open.promotion.bysubunionid.get",
                                         {"promotionCodeReq": request}, self.now())
        data = result.get("data") or {}
        url = data.get("shortURL") or data.get("clickURL") if isinstance(data, dict) else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise NetworkError("JD promotion link: no URL in the answer")
        return url

    # -- orders in --------------------------------------------------------------------------
    async def order_rows(self, start: datetime, end: datetime, page: int) -> OrderPage:
        """Rows modified in [start, end] (one hour at most), one page of ``ORDER_PAGE``."""
        if end - start > MAX_WINDOW or end < start:
            raise ValueError(f"an order window is at most {MAX_WINDOW}, got {end - start}")
        request = {"pageIndex": page, "pageSize": ORDER_PAGE, "type": 3,
                   "startTime": beijing(start), "endTime": beijing(end)}
        result = await self.gateway.call("jd.union.open.order.row.query", {"orderReq": request},
                                         self.now())
        data = result.get("data") or []
        if not isinstance(data, list):
            raise NetworkError("JD order rows: data is not a list")
        rows = []
        for item in data:
            row = _order_row(item)
            if row is None:
                log.warning("JD order row skipped: malformed", extra={"network": NAME})
                continue
            site = str(item.get("siteId") or "")
            if self.settings.site_id and site and site != self.settings.site_id:
                continue  # another site (app) of the same JD Union account: not ours
            rows.append(row)
        return OrderPage(rows=rows, has_more=bool(result.get("hasMore")) and bool(data))

    # -- check ------------------------------------------------------------------------------
    async def check(self) -> list[CheckLine]:
        """Credentials (present, accepted by the gateway) and the order API, one line each."""
        s = self.settings
        missing = [k for k in ("app_key", "app_secret", "union_id") if not getattr(s, k)]
        if missing:
            return [CheckLine("credentials", False, f"missing networks.jd.{', networks.jd.'.join(missing)}")]
        lines = []
        end = self.now()
        try:
            await self.order_rows(end - timedelta(minutes=1), end, 1)
        except NetworkError as exc:
            text = str(exc)
            if exc.code in CREDENTIAL_CODES:
                return [CheckLine("credentials", False, text), CheckLine("API", False, "not tried")]
            lines.append(CheckLine("credentials", True, f"app_key {s.app_key[:4]}…, union_id "
                                                        f"{s.union_id} (not verified: no answer)"))
            lines.append(CheckLine("API", False, f"{s.api_url}: {text}"))
            return lines
        return [CheckLine("credentials", True, f"app_key {s.app_key[:4]}…, union_id {s.union_id}"),
                CheckLine("API", True, f"{s.api_url}: order rows answer")]


def _order_row(item: Any) -> OrderRow | None:
    """One order-row object as an OrderRow; None when it lacks its identity."""
    if not isinstance(item, dict):
        return None
    order_id, sku_id = _int(item.get("orderId")), _int(item.get("skuId"))
    if not order_id or not sku_id:
        return None
    status = row_status(item)
    completed = status in ("confirmed", "refunded") and _int(item.get("validCode")) == CONFIRMED_CODE
    base = item.get("actualCosPrice") if completed else item.get("estimateCosPrice")
    amount = _fen(base) or _fen(item.get("estimateCosPrice"))
    if not amount:
        amount = _fen(Decimal(str(item.get("price") or 0)) * (_int(item.get("skuNum")) or 1))
    fee = _fen(item.get("actualFee") if completed else item.get("estimateFee"))
    if status == "refunded" or not fee:
        fee = _fen(item.get("estimateFee")) or fee  # a refunded row's actualFee drops to 0
    return OrderRow(
        row_key=f"{order_id}-{sku_id}", sub_id=str(item.get("subUnionId") or "")[:80],
        amount=amount, commission=min(fee, amount), status=status, currency="CNY",
        ordered_at=parse_beijing(str(item.get("orderTime") or "")),
        modified_at=parse_beijing(str(item.get("modifyTime") or "")))
