"""The checks of one feed row: every rule with its exact reason and line number, and the values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from bot.domain.feed import ProductRow, RowError
from tests.support.feed import HEADER, csv_row, only_error, parse_csv, parse_feed


def test_good_row_is_parsed_into_minor_units_and_fractions() -> None:
    result = parse_csv(csv_row(sku="A1"))
    assert result.errors == []
    assert result.total == 1
    assert result.rows == [(2, ProductRow(
        merchant="acme", sku="A1", title="Cup", url="https://shop.example/a1", price=3900,
        original_price=5900, commission_rate=Decimal("0.12"), category="home",
    ))]


def test_optional_fields_all_set() -> None:
    row = csv_row(image_url="http://img.example/1.png", starts_at="2024-05-01T09:00+08:00",
                  ends_at="2024-05-31", stock="7", featured="YES", currency="usd",
                  commission_rate="12.5%", category="  Home  Goods ", title=" A\n big\tcup ")
    ((line, product),) = parse_csv(row).rows
    assert line == 2
    assert product.image_url == "http://img.example/1.png"
    assert product.starts_at == datetime(2024, 5, 1, 1, 0, tzinfo=UTC)
    # A date-only end means through the end of that day.
    assert product.ends_at == datetime(2024, 6, 1, tzinfo=UTC)
    assert product.stock == 7
    assert product.featured is True
    assert product.currency == "USD"
    assert product.commission_rate == Decimal("0.125")
    assert product.category == "home-goods"
    assert product.title == "A big cup"


def test_a_decimal_comma_is_refused_not_guessed() -> None:
    result = parse_feed(b"merchant;sku;title;url;price;original_price\nm;s;t;http://h;1,50;2\n",
                        filename="f.csv", default_currency="CNY")
    assert result.errors == [
        RowError(2, "price must be a decimal number like 39.00, got '1,50'")]


def test_thousands_separators_are_accepted() -> None:
    ((_, product),) = parse_csv(csv_row(price="1,299.00", original_price="1,599")).rows
    assert (product.price, product.original_price) == (129900, 159900)


ROW_RULES = [
    ({"merchant": ""}, "merchant is required"),
    ({"sku": "  "}, "sku is required"),
    ({"title": ""}, "title is required"),
    ({"url": ""}, "url is required"),
    ({"price": ""}, "price is required"),
    ({"original_price": ""}, "original_price is required"),
    ({"merchant": "m" * 65}, "merchant is longer than 64 characters"),
    ({"sku": "s" * 65}, "sku is longer than 64 characters"),
    ({"sku": "a\x07b"}, "sku contains a control or invisible character (U+0007)"),
    ({"merchant": "ac\u200bme"}, "merchant contains a control or invisible character (U+200B)"),
    ({"title": "t" * 513}, "title is longer than 512 characters"),
    ({"title": "bad\x00title"}, "title contains a control character (U+0000)"),
    ({"category": "c" * 65}, "category is longer than 64 characters"),
    ({"url": "ftp://shop.example/a"},
     "url must be an http(s) URL with a host, got 'ftp://shop.example/a'"),
    ({"url": "https:///path"}, "url must be an http(s) URL with a host, got 'https:///path'"),
    ({"url": "shop.example/a"}, "url must be an http(s) URL with a host, got 'shop.example/a'"),
    ({"url": "http://[::1"}, "url must be an http(s) URL with a host, got 'http://[::1'"),
    ({"url": "http://h.example/a b"}, "url contains a space or control character"),
    ({"image_url": "data:image/png;base64,xx"},
     "image_url must be an http(s) URL with a host, got 'data:image/png;base64,xx'"),
    ({"price": "¥39"}, "price must be a decimal number like 39.00, got '¥39'"),
    ({"price": "-1"}, "price cannot be negative, got '-1'"),
    ({"price": "0.00"}, "price must be greater than 0, got '0.00'"),
    ({"price": "39.001"}, "price 39.001 has more than 2 decimal places for CNY"),
    ({"price": "1" * 13}, "price is too large"),
    ({"price": "1.5", "original_price": "2", "currency": "JPY"},
     "price 1.5 must be a whole number for JPY"),
    ({"original_price": "abc"}, "original_price must be a decimal number like 39.00, got 'abc'"),
    ({"original_price": "38.99"}, "original_price 38.99 is less than price 39.00"),
    ({"commission_rate": "12"}, "commission_rate 12 is more than 1; write 12% or 0.12"),
    ({"commission_rate": "120%"}, "commission_rate 120% is more than 100%; write 12% or 0.12"),
    ({"commission_rate": "-5%"}, "commission_rate cannot be negative, got '-5%'; write 0 for none"),
    ({"commission_rate": "-0.05"}, "commission_rate cannot be negative, got '-0.05'; write 0 for none"),
    ({"commission_rate": "twelve"},
     "commission_rate must be a fraction like 0.12 or a percentage like 12%, got 'twelve'"),
    ({"starts_at": "yesterday"},
     "starts_at must be an ISO 8601 date or time like 2024-05-01T09:00+08:00, got 'yesterday'"),
    ({"ends_at": "2024-13-01"},
     "ends_at must be an ISO 8601 date or time like 2024-05-01T09:00+08:00, got '2024-13-01'"),
    ({"starts_at": "2024-05-02", "ends_at": "2024-05-01T12:00Z"},
     "ends_at must be after starts_at"),
    ({"starts_at": "2024-05-01T10:00Z", "ends_at": "2024-05-01T10:00Z"},
     "ends_at must be after starts_at"),
    ({"stock": "-1"}, "stock must be a whole number ≥ 0 (empty means unlimited), got '-1'"),
    ({"stock": "2.5"}, "stock must be a whole number ≥ 0 (empty means unlimited), got '2.5'"),
    ({"featured": "maybe"}, "featured must be true/false, 1/0 or yes/no, got 'maybe'"),
    ({"currency": "XYZ"}, "currency 'XYZ' is not a known currency code"),
]


@pytest.mark.parametrize(("changes", "reason"), ROW_RULES)
def test_each_rule_reports_its_reason_and_line(changes: dict[str, str], reason: str) -> None:
    result = parse_csv(csv_row(sku="OK1"), csv_row(**{"sku": "BAD", **changes}))
    assert [line for line, _ in result.rows] == [2]
    assert result.errors == [RowError(3, reason)]
    assert str(result.errors[0]) == f"line 3: {reason}"
    assert result.total == 2


def test_all_problems_of_a_row_are_listed_together() -> None:
    error = only_error(parse_csv(csv_row(price="x", stock="-2", featured="?")))
    assert error.reason == (
        "price must be a decimal number like 39.00, got 'x'; "
        "stock must be a whole number ≥ 0 (empty means unlimited), got '-2'; "
        "featured must be true/false, 1/0 or yes/no, got '?'"
    )


def test_long_values_are_cropped_in_reasons() -> None:
    error = only_error(parse_csv(csv_row(price="9" * 5 + "x" * 100)))
    assert error.reason == f"price must be a decimal number like 39.00, got '{'9' * 5}{'x' * 35}…'"


@pytest.mark.parametrize(("text", "expected"), [
    ("true", True), ("False", False), ("1", True), ("0", False), ("yes", True), ("NO", False),
    ("", False),
])
def test_featured_values(text: str, expected: bool) -> None:
    ((_, product),) = parse_csv(csv_row(featured=text)).rows
    assert product.featured is expected


@pytest.mark.parametrize(("text", "expected"), [
    ("0.12", Decimal("0.12")), ("12%", Decimal("0.12")), ("12.5 %", Decimal("0.125")),
    ("0", Decimal(0)), ("1", Decimal(1)), ("100%", Decimal(1)), ("", Decimal(0)),
])
def test_commission_rate_values(text: str, expected: Decimal) -> None:
    ((_, product),) = parse_csv(csv_row(commission_rate=text)).rows
    assert product.commission_rate == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
    ("2024-05-01T09:30", datetime(2024, 5, 1, 9, 30, tzinfo=UTC)),
    ("2024-05-01 09:30:00Z", datetime(2024, 5, 1, 9, 30, tzinfo=UTC)),
    ("2024-05-01T09:30:00+08:00", datetime(2024, 5, 1, 1, 30, tzinfo=UTC)),
])
def test_times_are_aware_utc(text: str, expected: datetime) -> None:
    ((_, product),) = parse_csv(csv_row(starts_at=text)).rows
    assert product.starts_at == expected
    assert product.starts_at.tzinfo is UTC


def test_naive_times_use_the_default_time_zone() -> None:
    result = parse_csv(csv_row(starts_at="2024-05-01T09:00"),
                       default_tz=ZoneInfo("Asia/Shanghai"))
    assert result.rows[0][1].starts_at == datetime(2024, 5, 1, 1, 0, tzinfo=UTC)


def test_with_now_an_ended_row_is_accepted_and_ends_the_deal() -> None:
    now = datetime(2024, 6, 1, tzinfo=UTC)
    result = parse_csv(csv_row(sku="A", ends_at="2024-05-31T23:00Z"),
                       csv_row(sku="B", ends_at="2024-06-01"), now=now)
    assert result.errors == []
    assert [(row.sku, row.active) for _, row in result.rows] == [("A", False), ("B", True)]


@pytest.mark.parametrize(("value", "active"), [("", True), ("true", True), ("1", True), ("yes", True),
                                                ("false", False), ("FALSE", False), ("0", False),
                                                ("no", False)])
def test_active_column_ends_a_deal(value: str, active: bool) -> None:
    result = parse_csv(csv_row(active=value))
    assert [row.active for _, row in result.rows] == [active]


def test_active_column_rejects_other_words() -> None:
    result = parse_csv(csv_row(active="maybe"))
    assert result.errors == [RowError(2, "active must be true/false, 1/0 or yes/no, got 'maybe'")]


def test_empty_currency_uses_the_default_and_amounts_use_its_exponent() -> None:
    result = parse_feed((HEADER + "\n" + csv_row(price="3900", original_price="5900")).encode(),
                        filename="f.csv", default_currency="JPY")
    assert (result.rows[0][1].price, result.rows[0][1].currency) == (3900, "JPY")


def test_offsets_are_reported_in_utc_for_odd_zones() -> None:
    result = parse_csv(csv_row(starts_at="2024-05-01T00:00-05:30"))
    start = result.rows[0][1].starts_at
    assert start == datetime(2024, 5, 1, 0, 0, tzinfo=timezone(timedelta(hours=-5, minutes=-30)))
    assert start is not None and start.tzinfo is UTC
