"""JSON feeds: literal numbers, item numbers, chunk boundaries, plus a fuzz of random JSON."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.feed import FIELDS, FeedError, RowError
from tests.support.feed import CELL, GOOD, check_never_crashes, only_error, parse_feed


def test_json_feed_numbers_nulls_booleans_and_item_numbers() -> None:
    items = [
        {"merchant": "m", "sku": 1001, "title": "T", "url": "http://h.example", "price": 39.9,
         "original_price": 50, "commission_rate": "12%", "featured": True, "stock": 3,
         "ends_at": None, "extra": [1]},
        7,
        {"merchant": "m", "sku": "x", "title": "T", "url": "http://h.example", "price": 1e400,
         "original_price": [1]},
        {"merchant": "m", "sku": "1001", "title": "T", "url": "http://h.example", "price": "1",
         "original_price": "1"},
    ]
    text = json.dumps(items).replace("Infinity", "1e400")
    result = parse_feed(text.encode(), filename="feed.json", default_currency="CNY")
    assert result.format == "json"
    ((number, product),) = result.rows
    assert number == 1
    assert (product.sku, product.price, product.original_price, product.stock) == (
        "1001", 3990, 5000, 3)
    assert product.commission_rate == Decimal("0.12")
    assert product.featured is True
    assert result.ignored_columns == ["extra"]
    assert result.errors == [
        RowError(2, "item is a number, not an object", "item"),
        RowError(3, "original_price must be a string or a number, not a list; "
                 "price must be a decimal number like 39.00, got '1E+400'", "item"),
        RowError(4, "duplicate of item 1 (merchant 'm', sku '1001')", "item"),
    ]
    assert str(result.errors[0]) == "item 2: item is a number, not an object"


def test_json_float_is_taken_by_its_literal_text() -> None:
    data = b'[{"merchant":"m","sku":"s","title":"t","url":"http://h","price":0.1,' \
           b'"original_price":0.30000000000000004}]'
    error = only_error(parse_feed(data, filename="f.json", default_currency="CNY"))
    assert error.reason == "original_price 0.30000000000000004 has more than 2 decimal places " \
                           "for CNY"


def test_json_missing_key_is_required_error() -> None:
    data = b'[{"merchant":"m","sku":"s","title":"t","url":"http://h","price":"1"}]'
    error = only_error(parse_feed(data, filename="f.json", default_currency="CNY"))
    assert error == RowError(1, "original_price is required", "item")


def test_json_items_spanning_read_chunks() -> None:
    item = {**GOOD, "price": 12345, "original_price": 20000, "title": "x" * 500}
    items = [{**item, "sku": f"S{i}"} for i in range(2000)]
    data = json.dumps(items, indent=1).encode()
    result = parse_feed(data, filename="f.json", default_currency="CNY")
    assert result.errors == []
    assert [n for n, _ in result.rows] == list(range(1, 2001))
    assert all(row.price == 1234500 for _, row in result.rows)


_json_value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), CELL),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(items=st.lists(st.one_of(
    st.fixed_dictionaries({}, optional={name: _json_value for name in FIELDS}), _json_value,
), max_size=5))
def test_fuzz_random_json(items: list[object]) -> None:
    data = json.dumps(items).encode("utf-8", "surrogatepass")
    check_never_crashes(data, "f.json")


@pytest.mark.parametrize(("data", "line"), [
    (b'[{"a": 1},\n {"b": 2,,}]', 2),
    (b'[\n{"a": 1},\n\n{"b":\n 2,,}]', 5),
    (b'[{"a": "x"}\n\n {"b": 2}]', 3),
])
def test_a_syntax_error_names_its_own_line(data: bytes, line: int) -> None:
    with pytest.raises(FeedError, match=f"^invalid JSON at line {line}: "):
        parse_feed(data, filename="f.json", default_currency="CNY")
