"""The feed's fields and the checks of one row: raw values in, a ProductRow or every problem out."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from urllib.parse import urlsplit

from bot.domain.money import CURRENCY_EXPONENTS

FIELDS = (
    "merchant", "sku", "title", "url", "price", "original_price", "commission_rate",
    "category", "image_url", "starts_at", "ends_at", "stock", "featured", "currency", "active",
)
REQUIRED = FIELDS[:6]

MAX_LENGTHS = {"merchant": 64, "sku": 64, "title": 512, "category": 64, "url": 2048,
               "image_url": 2048}
# Whole currency units; 12 digits keeps any amount far inside a 64-bit column.
MAX_INTEGER_DIGITS = 12


@dataclass(frozen=True, slots=True)
class ProductRow:
    """One valid feed row; amounts in minor units of ``currency``, times aware UTC."""

    merchant: str
    sku: str
    title: str
    url: str
    price: int
    original_price: int
    commission_rate: Decimal
    category: str = ""
    image_url: str = ""
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    stock: int | None = None
    featured: bool = False
    currency: str = "CNY"
    # False ends the deal: the feed said ``active = false`` or its ``ends_at`` has passed.
    active: bool = True


@dataclass(frozen=True, slots=True)
class RowError:
    """A rejected row: where it is (CSV line or JSON item number) and why."""

    line: int
    reason: str
    unit: str = "line"

    def __str__(self) -> str:
        return f"{self.unit} {self.line}: {self.reason}"


def normalize_category(value: str) -> str:
    """A category as stored: lower-case, inner whitespace as ``-`` (``/categories`` must match)."""
    return "-".join(value.lower().split())


class FeedError(ValueError):
    """The whole file is unusable; the message is one line."""


def json_kind(value: object) -> str:
    """What a JSON value is, for a reason: ``a list``, ``null``, ``a number``…"""
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"


# A digit is required somewhere: "." alone is not a number.
_DECIMAL = re.compile(r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+")
_RATE = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(%)?")
# scheme://host then a path, query, fragment or the end; anything else goes through urlsplit.
_PLAIN_URL = re.compile(r"https?://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?"
                        r"(?:[/?#]|$)", re.IGNORECASE)
_WHOLE = re.compile(r"[0-9]{1,12}")
_URL_BAD_CHAR = re.compile(r"[\x00-\x20\x7f-\x9f\ud800-\udfff]|\s")
_FLAGS = {"": False, "0": False, "false": False, "no": False,
          "1": True, "true": True, "yes": True}
# Invisible or line-breaking characters that make two keys look alike or break a database.
_KEY_BAD = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_TITLE_BAD = frozenset({"Cc", "Cs"})
_ONE_DAY = timedelta(days=1)
_ZERO = Decimal(0)


def _show(text: str) -> str:
    """A value quoted for a reason, cropped so one bad cell cannot flood the report."""
    return repr(text if len(text) <= 40 else text[:40] + "…")


def _bad_char(text: str, categories: frozenset[str]) -> str | None:
    if text.isprintable():
        return None
    for ch in text:
        if unicodedata.category(ch) in categories:
            return f"U+{ord(ch):04X}"
    return None



def _bounded(name: str, value: str, bad_chars: frozenset[str], what: str,
             problems: list[str]) -> str:
    """``value`` as is, with a problem added when it is too long or holds a ``bad_chars`` character."""
    if len(value) > MAX_LENGTHS[name]:
        problems.append(f"{name} is longer than {MAX_LENGTHS[name]} characters")
    bad = _bad_char(value, bad_chars)
    if bad:
        problems.append(f"{name} contains {what} ({bad})")
    return value

class Validator:
    """Turns one row of raw values into a ProductRow, or a reason listing its problems."""

    def __init__(self, default_currency: str, now: datetime | None, default_tz: tzinfo) -> None:
        self.default_currency = default_currency
        # A naive "now" would make every comparison with the aware times raise TypeError.
        self.now = now.replace(tzinfo=default_tz) if now and now.tzinfo is None else now
        self.default_tz = default_tz

    def row(self, values: Mapping[str, object]) -> ProductRow | str:
        if "" in values:  # a structural problem found by the reader
            return str(values[""])
        problems: list[str] = []
        text = {name: value.strip() if type(value) is str else self._text(name, value, problems)
                for name in FIELDS for value in (values.get(name),)}
        for name in REQUIRED:
            if not text[name] and not any(p.startswith(name + " ") for p in problems):
                problems.append(f"{name} is required")

        merchant = self._key("merchant", text["merchant"], problems)
        sku = self._key("sku", text["sku"], problems)
        title = self._title(text["title"], problems)
        url = self._url("url", text["url"], problems)
        image_url = self._url("image_url", text["image_url"], problems)
        category = self._category(text["category"], problems)

        currency = text["currency"].upper() or self.default_currency
        price = original = None
        if currency not in CURRENCY_EXPONENTS:
            problems.append(f"currency {_show(text['currency'])} is not a known currency code")
        else:
            price = self._amount("price", text["price"], currency, problems)
            original = self._amount("original_price", text["original_price"], currency,
                                    problems)
            if price is not None and original is not None and original < price:
                problems.append(f"original_price {text['original_price']} is less than price "
                                f"{text['price']}")
        rate = self._rate(text["commission_rate"], problems)
        starts_at = self._time("starts_at", text["starts_at"], False, problems)
        ends_at = self._time("ends_at", text["ends_at"], True, problems)
        if starts_at and ends_at and ends_at <= starts_at:
            problems.append("ends_at must be after starts_at")
        # A past end is how a feed ends a deal: the row is accepted and the product goes inactive.
        ended = bool(ends_at and self.now is not None and ends_at <= self.now)
        active = _FLAGS.get(text["active"].lower() or "true")
        if active is None:
            problems.append(f"active must be true/false, 1/0 or yes/no, got {_show(text['active'])}")
        stock = self._stock(text["stock"], problems)
        featured = _FLAGS.get(text["featured"].lower())
        if featured is None:
            problems.append(f"featured must be true/false, 1/0 or yes/no, got "
                            f"{_show(text['featured'])}")

        if problems or price is None or original is None or rate is None:
            return "; ".join(problems)
        return ProductRow(
            merchant=merchant, sku=sku, title=title, url=url, price=price,
            original_price=original, commission_rate=rate, category=category,
            image_url=image_url, starts_at=starts_at, ends_at=ends_at, stock=stock,
            featured=bool(featured), currency=currency, active=bool(active) and not ended,
        )

    @staticmethod
    def _text(name: str, value: object, problems: list[str]) -> str:
        """A raw CSV cell or JSON value as stripped text."""
        if value is None:
            return ""
        if isinstance(value, str):
            return value.strip()
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, Decimal):
            # Plain notation keeps 1E+2 usable as 100; an absurd exponent stays as is and fails.
            return format(value, "f") if value.is_finite() and abs(value.adjusted()) < 30 \
                else str(value)
        problems.append(f"{name} must be a string or a number, not {json_kind(value)}")
        return ""

    @staticmethod
    def _key(name: str, value: str, problems: list[str]) -> str:
        return _bounded(name, value, _KEY_BAD, "a control or invisible character", problems)

    @staticmethod
    def _title(value: str, problems: list[str]) -> str:
        # Line breaks and tabs in a title come from spreadsheets; a card wants one line.
        return _bounded("title", " ".join(value.split()), _TITLE_BAD, "a control character",
                        problems)

    @staticmethod
    def _category(value: str, problems: list[str]) -> str:
        return _bounded("category", normalize_category(value), _KEY_BAD,
                        "a control or invisible character", problems)

    @staticmethod
    def _url(name: str, value: str, problems: list[str]) -> str:
        if not value or _PLAIN_URL.match(value) and not _URL_BAD_CHAR.search(value) \
                and len(value) <= MAX_LENGTHS[name]:
            return value  # the common case, without urlsplit's cost
        if len(value) > MAX_LENGTHS[name]:
            problems.append(f"{name} is longer than {MAX_LENGTHS[name]} characters")
            return value
        if _URL_BAD_CHAR.search(value):
            problems.append(f"{name} contains a space or control character")
            return value
        try:
            parts = urlsplit(value)
            host = parts.hostname
        except ValueError:
            host = None
        if host is None or parts.scheme.lower() not in ("http", "https"):
            problems.append(f"{name} must be an http(s) URL with a host, got {_show(value)}")
        return value

    @staticmethod
    def _decimal(name: str, value: str, problems: list[str]) -> Decimal | None:
        if value.startswith("-") and _DECIMAL.fullmatch(value[1:].strip()):
            problems.append(f"{name} cannot be negative, got {_show(value)}")
            return None
        if not _DECIMAL.fullmatch(value):
            problems.append(f"{name} must be a decimal number like 39.00, got {_show(value)}")
            return None
        plain = value.replace(",", "")
        if len(plain.partition(".")[0].lstrip("0")) > MAX_INTEGER_DIGITS:
            problems.append(f"{name} is too large")
            return None
        return Decimal(plain)

    def _amount(self, name: str, value: str, currency: str, problems: list[str]) -> int | None:
        if not value:
            return None  # reported as required
        number = self._decimal(name, value, problems)
        if number is None:
            return None
        if number <= 0:
            problems.append(f"{name} must be greater than 0, got {_show(value)}")
            return None
        digits = CURRENCY_EXPONENTS[currency]
        scaled = number.scaleb(digits)
        if scaled != scaled.to_integral_value():
            problems.append(
                f"{name} {value} must be a whole number for {currency}" if digits == 0
                else f"{name} {value} has more than {digits} decimal places for {currency}"
            )
            return None
        return int(scaled)  # exact: integral, and at most 12 + exponent digits

    @staticmethod
    def _rate(value: str, problems: list[str]) -> Decimal | None:
        if not value:
            return _ZERO
        match = _RATE.fullmatch(value)
        if value.startswith("-") and _RATE.fullmatch(value[1:].strip()):
            problems.append(f"commission_rate cannot be negative, got {_show(value)}; write 0 for none")
            return None
        if not match or len(value) > 24:
            problems.append(f"commission_rate must be a fraction like 0.12 or a percentage like "
                            f"12%, got {_show(value)}")
            return None
        rate = Decimal(match.group(1))
        percent = match.group(2) is not None
        if percent:
            rate = rate.scaleb(-2)
        if rate > 1:
            limit = "100%" if percent else "1"
            problems.append(f"commission_rate {value} is more than {limit}; write 12% or 0.12")
            return None
        return rate

    def _time(self, name: str, value: str, end: bool, problems: list[str]) -> datetime | None:
        if not value:
            return None
        try:
            if len(value) > 40:
                raise ValueError(value)
            if len(value) <= 10:  # date-only forms: 2024-05-01, 20240501, 2024-W18-3
                day = date.fromisoformat(value)
                # A date-only end means "through that day", the way people write deal dates.
                moment = datetime.combine(day + _ONE_DAY if end else day, time())
            else:
                moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=self.default_tz)
            return moment.astimezone(UTC)
        except (ValueError, OverflowError):
            problems.append(f"{name} must be an ISO 8601 date or time like "
                            f"2024-05-01T09:00+08:00, got {_show(value)}")
            return None

    @staticmethod
    def _stock(value: str, problems: list[str]) -> int | None:
        if not value:
            return None
        if not _WHOLE.fullmatch(value):
            problems.append(f"stock must be a whole number ≥ 0 (empty means unlimited), got "
                            f"{_show(value)}")
            return None
        return int(value)
