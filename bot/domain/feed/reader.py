"""Reading a feed: format detection, decoding, CSV rows and JSON items, streamed one by one."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from pathlib import PurePath
from typing import BinaryIO

from bot.domain.feed.fields import FIELDS, REQUIRED, FeedError, ProductRow, RowError, Validator, json_kind
from bot.domain.feed.jsonstream import CHUNK, json_items
from bot.domain.money import CURRENCY_EXPONENTS


def iter_feed(
    stream: BinaryIO,
    *,
    filename: str,
    default_currency: str,
    now: datetime | None = None,
    default_tz: tzinfo = UTC,
) -> Iterator[tuple[int, ProductRow | RowError]]:
    """Stream (line, row-or-error) pairs with the rules of the package's docstring; may raise FeedError."""
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
        self._validator = Validator(default_currency, now, default_tz)
        self.format = ""
        self.encoding = "utf-8"
        self.ignored_columns: list[str] = []

    def __iter__(self) -> Iterator[tuple[int, ProductRow | RowError]]:
        prefix = self._stream.read(CHUNK)
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
        for number, item in json_items(text):
            if not isinstance(item, dict):
                yield number, {"": f"item is {json_kind(item)}, not an object"}
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
