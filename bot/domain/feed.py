"""Product feed parsing and validation: CSV or JSON bytes in, typed rows and per-row errors out.

The rules, as the ``/import`` command and ``kocbot products import`` report them:

* Format: ``.csv`` or ``.json`` by file name; any other name is sniffed (first non-blank
  byte ``[`` or ``{`` → JSON, else CSV). UTF-8, with or without a byte-order mark; a CSV
  whose first 64 KiB are not UTF-8 but are GB18030 (which includes GBK, what Excel saves
  in China) is read as GB18030, and ``FeedReader.encoding`` says so.
* CSV: the first non-blank row is the header. Column names are case-insensitive and may
  come in any order; a comma, semicolon or tab delimiter is detected from the header.
  Unknown columns are ignored (listed in ``ignored_columns``), a missing required column
  makes the whole file unusable (``FeedError``). Blank lines are skipped. A row with more
  non-empty values than the header has columns is an error (usually an unquoted comma);
  a short row means its trailing values are empty.
* JSON: a list of objects with the same field names. JSON numbers are taken by their
  literal text (``39.9`` is exactly 39.90), ``null`` is an empty value, ``featured`` may
  be a boolean.
* Where: ``RowError.line`` is the physical line on which a CSV row starts (the header
  is line 1). For JSON it is the 1-based position of the object in the list and
  ``RowError.unit`` is ``"item"``, because minified JSON has everything on one line.
* A row's ``reason`` lists every problem found in it, separated by ``"; "``, and each
  problem starts with the field name.
* Duplicates: the first valid row for a (merchant, sku) wins; a later one is an error
  ``"duplicate of line N"`` so that a file never silently updates a product twice.
* Values: text is stripped; a title's runs of whitespace become one space; a category is
  lower-cased with inner whitespace turned into ``-`` (group commands split on spaces).
  Amounts are integer minor units of the row's currency (empty → ``default_currency``).
  ``commission_rate`` is ``0.12`` or ``12%`` (empty → 0). Times are ISO 8601 dates or
  datetimes; naive ones are in ``default_tz`` (UTC unless given) and all come back as
  aware UTC; a date-only ``ends_at`` means the end of that day. With ``now``, a row that
  has already ended is accepted with ``active = False``: that is how a feed ends a deal.
  ``active`` (true/false, default true) may also end it explicitly.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from pathlib import PurePath
from typing import BinaryIO
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
_CHUNK = 1 << 16


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


@dataclass
class FeedResult:
    """Every row of a feed: the valid ones with their line numbers, and the errors."""

    rows: list[tuple[int, ProductRow]]
    errors: list[RowError]
    total: int
    ignored_columns: list[str] = field(default_factory=list)
    format: str = "csv"


def normalize_category(value: str) -> str:
    """A category as stored: lower-case, inner whitespace as ``-`` (``/categories`` must match)."""
    return "-".join(value.lower().split())


class FeedError(ValueError):
    """The whole file is unusable; the message is one line."""


# ---------------------------------------------------------------------------- public API


def parse_feed(
    data: bytes,
    *,
    filename: str,
    default_currency: str,
    now: datetime | None = None,
    default_tz: tzinfo = UTC,
) -> FeedResult:
    """Parse and validate a whole feed; raises only ``FeedError``, for an unusable file."""
    reader = FeedReader(io.BytesIO(data), filename=filename, default_currency=default_currency,
                        now=now, default_tz=default_tz)
    rows: list[tuple[int, ProductRow]] = []
    errors: list[RowError] = []
    for line, item in reader:
        if isinstance(item, RowError):
            errors.append(item)
        else:
            rows.append((line, item))
    return FeedResult(rows=rows, errors=errors, total=len(rows) + len(errors),
                      ignored_columns=list(reader.ignored_columns), format=reader.format)


def iter_feed(
    stream: BinaryIO,
    *,
    filename: str,
    default_currency: str,
    now: datetime | None = None,
    default_tz: tzinfo = UTC,
) -> Iterator[tuple[int, ProductRow | RowError]]:
    """Stream (line, row-or-error) pairs with the rules of ``parse_feed``; may raise FeedError."""
    return iter(FeedReader(stream, filename=filename, default_currency=default_currency,
                           now=now, default_tz=default_tz))


class FeedReader:
    """Single-use streaming reader; after iterating, ``ignored_columns`` and ``format`` are set."""

    def __init__(
        self,
        stream: BinaryIO,
        *,
        filename: str,
        default_currency: str,
        now: datetime | None = None,
        default_tz: tzinfo = UTC,
    ) -> None:
        if default_currency not in CURRENCY_EXPONENTS:
            raise FeedError(f"unknown default currency {default_currency!r}")
        self._stream = stream
        self._filename = filename or ""
        self._validator = _Validator(default_currency, now, default_tz)
        self.format = ""
        self.encoding = "utf-8"
        self.ignored_columns: list[str] = []

    def __iter__(self) -> Iterator[tuple[int, ProductRow | RowError]]:
        prefix = self._stream.read(_CHUNK)
        if not isinstance(prefix, bytes):
            raise FeedError("the feed must be read as bytes")
        self.format = _detect_format(self._filename, prefix)
        # Our own thin wrappers, so finishing (or abandoning) the walk never closes the caller's
        # stream; the decoder is strict, so a non-UTF-8 byte anywhere is a FeedError.
        if self.format == "csv" and _is_gb18030(prefix):
            self.encoding = "gb18030"
        raw = io.BufferedReader(_Prefixed(prefix, self._stream))
        text = io.TextIOWrapper(raw, encoding="gb18030" if self.encoding == "gb18030" else "utf-8-sig",
                                errors="strict", newline="")
        items = self._csv(text) if self.format == "csv" else self._json(text)
        seen: dict[str, int] = {}
        for line, values in items:
            result = self._validator.row(values)
            if isinstance(result, ProductRow):
                # merchant and sku carry no control characters, so NUL cannot be ambiguous.
                key = f"{result.merchant}\x00{result.sku}"
                first = seen.setdefault(key, line)
                if first != line:
                    result = f"duplicate of {self._unit} {first} (merchant {result.merchant!r}, "\
                             f"sku {result.sku!r})"
            if isinstance(result, str):
                yield line, RowError(line, result, self._unit)
            else:
                yield line, result

    def _not_text(self) -> str:
        if self.encoding == "gb18030":
            return "the file is neither UTF-8 nor GB18030/GBK text"
        return "the file is not UTF-8 text (save it as CSV UTF-8, or as GB18030/GBK)"

    @property
    def _unit(self) -> str:
        return "item" if self.format == "json" else "line"

    # -- CSV

    def _csv(self, text: io.TextIOWrapper) -> Iterator[tuple[int, dict[str, object]]]:
        """(start line, values) of every non-blank data row."""
        head: list[str] = []
        try:
            for line in text:
                head.append(line)
                if line.strip():
                    break
        except UnicodeDecodeError:
            raise FeedError(self._not_text()) from None
        if not head or not head[-1].strip():
            raise FeedError("the file is empty")
        delimiter = _pick_delimiter(head[-1])
        reader = csv.reader(_decoded(text, head), delimiter=delimiter)
        header: list[str] | None = None
        columns: dict[str, int] = {}
        end = 0
        try:
            for cells in reader:
                start, end = end + 1, reader.line_num
                if not cells or not any(cell.strip() for cell in cells):
                    continue
                if header is None:
                    header = cells
                    columns = self._read_header(header)
                    continue
                values: dict[str, object] = {
                    name: cells[index] if index < len(cells) else ""
                    for name, index in columns.items()
                }
                if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
                    values = {"": f"row has {len(cells)} values but the header has "
                                  f"{len(header)} columns (is a value with a comma unquoted?)"}
                yield start, values
        except csv.Error as exc:
            raise FeedError(f"CSV error at line {end + 1}: {exc}") from None
        except _BadText:
            raise FeedError(f"{self._not_text()} (line {end + 1})") from None

    def _read_header(self, header: list[str]) -> dict[str, int]:
        columns: dict[str, int] = {}
        for index, cell in enumerate(header):
            name = cell.strip().strip("\ufeff").lower().replace(" ", "_")
            if name in FIELDS:
                if name in columns:
                    raise FeedError(f"column {name!r} appears twice in the header")
                columns[name] = index
            elif name:
                self.ignored_columns.append(cell.strip())
        missing = [name for name in REQUIRED if name not in columns]
        if missing:
            raise FeedError(
                f"missing required column{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)}; the header row must name {', '.join(REQUIRED)}"
            )
        return columns

    # -- JSON

    def _json(self, text: io.TextIOWrapper) -> Iterator[tuple[int, dict[str, object]]]:
        """(item number, values) of every element of the top-level list."""
        ignored: set[str] = set()
        for number, item in _json_items(text):
            if not isinstance(item, dict):
                yield number, {"": f"item is {_json_kind(item)}, not an object"}
                continue
            values: dict[str, object] = {}
            for key, value in item.items():
                name = key.strip().lower().replace(" ", "_")
                if name in FIELDS:
                    values[name] = value
                elif name and key not in ignored and len(ignored) < 20:
                    # Capped: a feed with random keys must not grow this list without bound.
                    ignored.add(key)
                    self.ignored_columns.append(key)
            yield number, values


# ---------------------------------------------------------------------------- file handling


class _BadText(Exception):
    """A decoding failure inside the CSV line iterator (csv would hide the type otherwise)."""


def _decoded(text: io.TextIOWrapper, head: list[str]) -> Iterator[str]:
    yield from head
    try:
        yield from text
    except UnicodeDecodeError:
        raise _BadText from None


class _Prefixed(io.RawIOBase):
    """Bytes already read for sniffing, then the rest of the caller's stream."""

    def __init__(self, prefix: bytes, stream: BinaryIO) -> None:
        super().__init__()
        self._prefix = memoryview(prefix)
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._prefix:
            n = min(len(buffer), len(self._prefix))
            buffer[:n] = self._prefix[:n]
            self._prefix = self._prefix[n:]
            return n
        data = self._stream.read(len(buffer))
        if not data:
            return 0
        if not isinstance(data, bytes):
            raise FeedError("the feed must be read as bytes")
        buffer[: len(data)] = data
        return len(data)


def _is_gb18030(prefix: bytes) -> bool:
    """True when ``prefix`` is not UTF-8 but is GB18030 (a superset of GBK and GB2312).

    Valid UTF-8 with a multi-byte character is almost never valid-looking GBK by accident the
    other way round, so UTF-8 wins whenever it decodes. The prefix may end inside a character.
    """
    try:
        prefix.decode("utf-8")
        return False
    except UnicodeDecodeError as exc:
        if exc.start >= len(prefix) - 3 and exc.reason == "unexpected end of data":
            return False  # a UTF-8 character cut by the end of the prefix
    for cut in range(4):  # a GB18030 character is 1, 2 or 4 bytes; the prefix may cut one
        try:
            prefix[: len(prefix) - cut].decode("gb18030")
            return True
        except UnicodeDecodeError:
            continue
    return False


def _detect_format(filename: str, prefix: bytes) -> str:
    suffix = PurePath(filename).suffix.lower() if filename else ""
    if suffix in (".csv", ".json"):
        return suffix[1:]
    body = prefix.removeprefix(b"\xef\xbb\xbf").lstrip()
    return "json" if body[:1] in (b"[", b"{") else "csv"


def _pick_delimiter(header_line: str) -> str:
    """The delimiter that splits the header into the most known column names."""
    best, best_hits = ",", -1
    for delimiter in (",", ";", "\t"):
        names = (part.strip().strip('"').strip().lower() for part in header_line.split(delimiter))
        hits = sum(1 for name in names if name in FIELDS)
        if hits > best_hits:
            best, best_hits = delimiter, hits
    return best


_JSON_SPACE = re.compile(r"[ \t\n\r]*")


def _json_items(text: io.TextIOWrapper) -> Iterator[tuple[int, object]]:
    """Elements of a top-level JSON list, decoded one at a time so memory stays flat."""
    # Numbers keep their literal text; NaN/Infinity become Decimals that the checks reject.
    decoder = json.JSONDecoder(parse_float=Decimal, parse_constant=Decimal)
    buf, pos, eof, lines_before = "", 0, False, 0

    def more() -> bool:
        nonlocal buf, pos, eof, lines_before
        if eof:
            return False
        lines_before += buf.count("\n", 0, pos)
        buf = buf[pos:]
        pos = 0
        # Read at least as much as is buffered so one huge item costs O(n log n), not O(n²).
        try:
            chunk = text.read(max(_CHUNK, len(buf)))
        except UnicodeDecodeError:
            raise FeedError("the file is not UTF-8 text") from None
        if not chunk:
            eof = True
            return False
        buf += chunk
        return True

    def skip_space() -> str:
        nonlocal pos
        while True:
            pos = _JSON_SPACE.match(buf, pos).end()  # type: ignore[union-attr]
            if pos < len(buf) or not more():
                return buf[pos:pos + 1]

    first = skip_space()
    if not first:
        raise FeedError("the file is empty")
    if first == "{":
        raise FeedError("a JSON feed must be a list of objects, this file holds one object")
    if first != "[":
        raise FeedError("not a valid JSON feed: it must be a list of objects")
    pos += 1
    number = 0
    if skip_space() == "]":
        pos += 1
    else:
        while True:
            number += 1
            while True:
                try:
                    item, end = decoder.raw_decode(buf, pos)
                except RecursionError:
                    raise FeedError(f"invalid JSON: item {number} is nested too deeply") from None
                except json.JSONDecodeError as exc:
                    if more():
                        continue
                    line = lines_before + exc.lineno
                    raise FeedError(f"invalid JSON at line {line}: {exc.msg}") from None
                except ValueError:  # Python refuses integers with thousands of digits
                    raise FeedError(f"invalid JSON: a number in item {number} is too long") \
                        from None
                # A number at the very end of the buffer may continue in the next chunk.
                if end == len(buf) and more():
                    continue
                break
            pos = end
            yield number, item
            separator = skip_space()
            pos += 1
            if separator == "]":
                break
            if separator != ",":
                line = lines_before + buf.count("\n", 0, pos) + 1
                raise FeedError(f"invalid JSON at line {line}: expected ',' or ']' after "
                                f"item {number}")
            skip_space()
    if skip_space():
        raise FeedError("invalid JSON: extra data after the list")


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"


# ---------------------------------------------------------------------------- row checks


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


class _Validator:
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
        problems.append(f"{name} must be a string or a number, not {_json_kind(value)}")
        return ""

    @staticmethod
    def _key(name: str, value: str, problems: list[str]) -> str:
        if len(value) > MAX_LENGTHS[name]:
            problems.append(f"{name} is longer than {MAX_LENGTHS[name]} characters")
        bad = _bad_char(value, _KEY_BAD)
        if bad:
            problems.append(f"{name} contains a control or invisible character ({bad})")
        return value

    @staticmethod
    def _title(value: str, problems: list[str]) -> str:
        # Line breaks and tabs in a title come from spreadsheets; a card wants one line.
        title = " ".join(value.split())
        if len(title) > MAX_LENGTHS["title"]:
            problems.append(f"title is longer than {MAX_LENGTHS['title']} characters")
        bad = _bad_char(title, _TITLE_BAD)
        if bad:
            problems.append(f"title contains a control character ({bad})")
        return title

    @staticmethod
    def _category(value: str, problems: list[str]) -> str:
        category = normalize_category(value)
        if len(category) > MAX_LENGTHS["category"]:
            problems.append(f"category is longer than {MAX_LENGTHS['category']} characters")
        bad = _bad_char(category, _KEY_BAD)
        if bad:
            problems.append(f"category contains a control or invisible character ({bad})")
        return category

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
