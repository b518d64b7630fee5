"""Whole-feed parsing for tests and benches: every row of a feed in memory, with its errors.

The product reads feeds as a stream (``bot.domain.feed.FeedReader``); holding a whole feed is
only convenient for asserting on it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal

from hypothesis import strategies as st

from bot.domain.feed import FIELDS, FeedError, FeedReader, ProductRow, RowError


@dataclass
class FeedResult:
    """Every row of a feed: the valid ones with their line numbers, and the errors."""

    rows: list[tuple[int, ProductRow]]
    errors: list[RowError]
    total: int
    ignored_columns: list[str] = field(default_factory=list)
    format: str = "csv"


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


# -- building CSV feeds in tests

HEADER = ",".join(FIELDS)
GOOD = {
    "merchant": "acme", "sku": "A1", "title": "Cup", "url": "https://shop.example/a1",
    "price": "39.00", "original_price": "59.00", "commission_rate": "0.12",
    "category": "home", "image_url": "", "starts_at": "", "ends_at": "", "stock": "",
    "featured": "", "currency": "", "active": "",
}


def csv_row(**changes: str) -> str:
    """One CSV line of a good row, with ``changes`` applied."""
    values = {**GOOD, **changes}
    return ",".join(quote(values[name]) for name in FIELDS)


def quote(value: str) -> str:
    """A CSV cell, quoted when it needs to be."""
    if any(ch in value for ch in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value


def parse_csv(*rows: str, header: str = HEADER, **kwargs: object) -> FeedResult:
    """Parse a CSV feed of ``header`` and ``rows``."""
    text = "\n".join([header, *rows]) + "\n"
    return parse_feed(text.encode(), filename="feed.csv", default_currency="CNY", **kwargs)


def only_error(result: FeedResult) -> RowError:
    """The one error of a feed with no valid row."""
    assert result.rows == []
    assert len(result.errors) == 1
    return result.errors[0]


# -- fuzzing

CELL = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "0", "1", "-1", "1.5", "39.00", "12%", "1e5", "NaN", "yes", "http://h",
                     "https://x.example/p?q=1", "2024-05-01", "2024-05-01T09:00Z", "9" * 30,
                     "CNY", "JPY", "XYZ", "0.001", "1,000", "\x00", "\ud800"]),
)
ROW = st.fixed_dictionaries({}, optional={name: CELL for name in FIELDS})


def check_never_crashes(data: bytes, filename: str) -> None:
    """Any input gives a result or a one-line FeedError, and every accepted row is sane."""
    try:
        result = parse_feed(data, filename=filename, default_currency="CNY",
                            now=datetime(2024, 1, 1, tzinfo=UTC))
    except FeedError as exc:
        assert "\n" not in str(exc)
        return
    assert result.total == len(result.rows) + len(result.errors)
    for _, row in result.rows:
        assert isinstance(row.price, int) and row.price > 0
        assert row.original_price >= row.price
        assert Decimal(0) <= row.commission_rate <= 1
        assert row.starts_at is None or row.starts_at.utcoffset() == timedelta(0)
