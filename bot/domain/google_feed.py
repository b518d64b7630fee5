"""Google Merchant Center product feeds: the TSV and the RSS 2.0 XML (``g:`` namespace) formats.

Both are streamed: the TSV row by row, the XML item by item with defusedxml's ``iterparse``
(each finished ``<item>`` is dropped from the tree, so memory stays flat on any size). The
XML parser refuses a document type declaration outright, and with it every entity trick
(the "billion laughs" bomb, external entities, external DTDs): a product feed has no use
for any of them.

An item becomes the same ``ProductRow`` as a kocbot feed row, checked by the same rules
(bot/domain/feed/), so the catalog cannot tell where a product came from. The mapping:

==============================  ====================================================
Google attribute                kocbot field
==============================  ====================================================
``id``                          ``sku``
``title``, ``link``             ``title``, ``url``
``image_link``                  ``image_url``
``price`` ("39.00 CNY")         ``original_price`` and ``currency``; also ``price``
                                when there is no current sale price
``sale_price``                  ``price`` (must be in the currency of ``price``)
``sale_price_effective_date``   ``starts_at``/``ends_at`` of the sale ("start/end");
                                a sale that has ended is ignored (regular price)
``availability``                ``out_of_stock`` → ``stock = 0``; ``in_stock``,
                                ``preorder``, ``backorder`` → no stock limit
``product_type`` or             ``category``: the last ``>`` segment
``google_product_category``
==============================  ====================================================

``merchant`` and ``commission_rate`` come from the caller (``--merchant`` and that
merchant's ``commission_rate`` in config). A bad item is reported with its position: the
TSV line, or the XML item number counted from 1.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import BinaryIO

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, iterparse

from bot.domain.feed import FeedError, ProductRow, RowError
from bot.domain.feed.fields import Validator
from bot.domain.money import CURRENCY_EXPONENTS

GOOGLE_NS = "http://base.google.com/ns/1.0"
ATTRIBUTES = ("id", "title", "link", "image_link", "price", "sale_price", "availability",
              "product_type", "google_product_category", "sale_price_effective_date")
REQUIRED = ("id", "title", "link", "price")
AVAILABILITY = {"in_stock": None, "in stock": None, "preorder": None, "backorder": None,
                "out_of_stock": 0, "out of stock": 0}
# "39.00 CNY" as Google writes it; "CNY 39.00" too, as some exporters do.
_PRICE = re.compile(r"^([0-9][0-9.]*)\s*([A-Za-z]{3})$|^([A-Za-z]{3})\s*([0-9][0-9.]*)$")


def iter_google_feed(
    stream: BinaryIO, *, filename: str, merchant: str, commission_rate: Decimal,
    default_currency: str, now: datetime | None = None,
) -> Iterator[tuple[int, ProductRow | RowError]]:
    """Stream (position, row-or-error) pairs from a TSV or RSS feed; FeedError if unusable."""
    if default_currency not in CURRENCY_EXPONENTS:
        raise FeedError(f"unknown default currency {default_currency!r}")
    # peek() looks at the first bytes without consuming them (BytesIO has no peek of its own).
    buffered = stream if hasattr(stream, "peek") else io.BufferedReader(stream)  # type: ignore[type-var]
    start = buffered.peek(256)[:256].lstrip(b"\xef\xbb\xbf \t\r\n")
    is_xml = start.startswith(b"<") or filename.lower().endswith((".xml", ".rss"))
    mapper = _Mapper(merchant=merchant, rate=commission_rate, default_currency=default_currency,
                     now=now)
    items = _xml_items(buffered) if is_xml else _tsv_items(buffered)
    unit = "item" if is_xml else "line"
    seen: dict[str, int] = {}
    for position, values in items:
        result = mapper.row(values)
        if isinstance(result, ProductRow):
            first = seen.setdefault(result.sku, position)
            if first != position:
                result = f"duplicate of {unit} {first} (id {result.sku!r})"
        yield position, RowError(position, result, unit) if isinstance(result, str) else result


def _tsv_items(stream: BinaryIO) -> Iterator[tuple[int, dict[str, str]]]:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
    reader = csv.reader(text, delimiter="\t")
    try:
        header = next(reader, None)
        if not header:
            raise FeedError("empty file: expected a header row of Google attribute names")
        names = [name.strip().lower().removeprefix("g:") for name in header]
        missing = [name for name in REQUIRED if name not in names]
        if missing:
            raise FeedError(f"header lacks {', '.join(missing)} (found {', '.join(names)[:200]})")
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(names):
                yield reader.line_num, {"": f"{len(cells)} values for {len(names)} columns"}
                continue
            yield reader.line_num, {n: c for n, c in zip(names, cells, strict=True) if n in ATTRIBUTES}
    except UnicodeDecodeError as exc:
        raise FeedError(f"not UTF-8 text near line {reader.line_num + 1}: {exc.reason}") from None
    except csv.Error as exc:
        raise FeedError(f"line {reader.line_num}: {exc}") from None


def _xml_items(stream: BinaryIO) -> Iterator[tuple[int, dict[str, str]]]:
    number = 0
    stack = []
    try:
        # forbid_dtd: no DOCTYPE at all, hence no entity declarations to expand or fetch.
        for event, elem in iterparse(stream, events=("start", "end"), forbid_dtd=True,
                                     forbid_entities=True, forbid_external=True):
            if event == "start":
                stack.append(elem)
                continue
            stack.pop()
            if elem.tag not in _ITEM_TAGS:
                continue
            number += 1
            values: dict[str, str] = {}
            for child in elem:
                name = _TAG_NAMES.get(child.tag)
                # g:title wins over the plain RSS title when an item has both.
                if name is not None and (name not in values or child.tag[0] == "{"):
                    values[name] = "".join(child.itertext())
            if stack:
                stack[-1].remove(elem)  # the finished item leaves the tree: flat memory
            yield number, values
    except DefusedXmlException as exc:
        raise FeedError(f"refused: the XML declares a DTD or entities ({type(exc).__name__}); "
                        "a product feed needs neither") from None
    except ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        raise FeedError(f"malformed XML at line {line}, column {column} (after item {number})") from None
    if number == 0:
        raise FeedError("no <item> elements: expected an RSS 2.0 feed with g: attributes")


# Tag → attribute, for the plain RSS and the g: spelling of each (one dict look-up per child).
_TAG_NAMES = {**{name: name for name in ATTRIBUTES},
              **{f"{{{GOOGLE_NS}}}{name}": name for name in ATTRIBUTES}}
_ITEM_TAGS = frozenset({"item", f"{{{GOOGLE_NS}}}item"})


class _Mapper:
    """Google attributes → kocbot feed fields, then the feed's own validator."""

    def __init__(self, *, merchant: str, rate: Decimal, default_currency: str,
                 now: datetime | None) -> None:
        self.merchant = merchant
        self.rate = str(rate)
        self.default_currency = default_currency
        self.now = now
        self.validator = Validator(default_currency, now, UTC)

    def row(self, values: dict[str, str]) -> ProductRow | str:
        if "" in values:
            return values[""]
        text = {name: (values.get(name) or "").strip() for name in ATTRIBUTES}
        problems = [f"{name} is required" for name in REQUIRED if not text[name]]
        regular = self._price("price", text["price"], problems)
        sale = self._price("sale_price", text["sale_price"], problems) if text["sale_price"] else None
        starts = ends = ""
        if sale and regular and sale[1] != regular[1]:
            problems.append(f"sale_price currency {sale[1]} differs from price currency {regular[1]}")
        if sale and text["sale_price_effective_date"]:
            starts, ends = self._window(text["sale_price_effective_date"], problems)
            if ends and self.now is not None and _ended(ends, self.now):
                sale, starts, ends = None, "", ""  # the sale is over: the regular price applies
        stock: str = ""
        availability = text["availability"].lower()
        if availability:
            if availability not in AVAILABILITY:
                problems.append(f"availability {availability[:40]!r} is not in_stock, out_of_stock, "
                                "preorder or backorder")
            elif AVAILABILITY[availability] == 0:
                stock = "0"
        category = text["product_type"] or text["google_product_category"]
        category = category.split(">")[-1].strip()
        if problems:
            return "; ".join(problems)
        assert regular is not None
        result = self.validator.row({
            "merchant": self.merchant, "sku": text["id"], "title": text["title"],
            "url": text["link"], "price": (sale or regular)[0], "original_price": regular[0],
            "commission_rate": self.rate, "category": category, "image_url": text["image_link"],
            "starts_at": starts, "ends_at": ends, "stock": stock, "featured": "",
            "currency": regular[1],
        })
        if isinstance(result, str):
            # The feed validator names kocbot's fields; say the Google attribute instead.
            for ours, theirs in (("sku ", "id "), ("url ", "link "), ("image_url ", "image_link "),
                                 ("original_price ", "price "), ("ends_at ", "sale end "),
                                 ("starts_at ", "sale start ")):
                result = result.replace(ours, theirs)
            # price and original_price are both the Google price when there is no sale.
            result = "; ".join(dict.fromkeys(result.split("; ")))
        return result

    def _price(self, name: str, value: str, problems: list[str]) -> tuple[str, str] | None:
        if not value:
            return None
        match = _PRICE.match(value)
        if match is None:
            if re.fullmatch(r"[0-9][0-9.]*", value):
                return value, self.default_currency
            problems.append(f"{name} {value[:40]!r} is not an amount with a currency, e.g. '39.00 CNY'")
            return None
        amount, currency = (match[1], match[2].upper()) if match[1] else (match[4], match[3].upper())
        if currency not in CURRENCY_EXPONENTS:
            problems.append(f"{name} currency {currency!r} is not a known currency code")
            return None
        return amount, currency

    @staticmethod
    def _window(value: str, problems: list[str]) -> tuple[str, str]:
        parts = value.split("/")
        if len(parts) != 2 or not all(parts):
            problems.append(f"sale_price_effective_date {value[:60]!r} is not 'start/end'")
            return "", ""
        return parts[0].strip(), parts[1].strip()


def _ended(end: str, now: datetime) -> bool:
    try:
        moment = datetime.fromisoformat(end)
    except ValueError:
        return False  # the validator reports it
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment <= now
