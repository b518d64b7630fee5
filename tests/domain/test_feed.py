"""Product feed parsing: every rule with its exact reason and line number, plus a fuzz."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.feed import (
    FIELDS,
    FeedError,
    FeedReader,
    FeedResult,
    ProductRow,
    RowError,
    iter_feed,
    parse_feed,
)

HEADER = ",".join(FIELDS)
GOOD = {
    "merchant": "acme", "sku": "A1", "title": "Cup", "url": "https://shop.example/a1",
    "price": "39.00", "original_price": "59.00", "commission_rate": "0.12",
    "category": "home", "image_url": "", "starts_at": "", "ends_at": "", "stock": "",
    "featured": "", "currency": "", "active": "",
}


def csv_row(**changes: str) -> str:
    values = {**GOOD, **changes}
    return ",".join(_quote(values[name]) for name in FIELDS)


def _quote(value: str) -> str:
    if any(ch in value for ch in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value


def parse_csv(*rows: str, header: str = HEADER, **kwargs: object) -> FeedResult:
    text = "\n".join([header, *rows]) + "\n"
    return parse_feed(text.encode(), filename="feed.csv", default_currency="CNY", **kwargs)


def only_error(result: FeedResult) -> RowError:
    assert result.rows == []
    assert len(result.errors) == 1
    return result.errors[0]


# -- a good row


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


def test_columns_in_any_order_case_insensitive_and_extra_columns_ignored() -> None:
    header = "Price,SKU,Merchant,notes,Title,URL,Original Price"
    row = "1.50,B2,acme,whatever,Pen,http://x.example,2"
    result = parse_csv(row, header=header)
    ((_, product),) = result.rows
    assert (product.sku, product.price, product.original_price) == ("B2", 150, 200)
    assert result.ignored_columns == ["notes"]


@pytest.mark.parametrize("sep", [";", "\t"])
def test_semicolon_and_tab_delimiters_are_detected(sep: str) -> None:
    text = f"merchant{sep}sku{sep}title{sep}url{sep}price{sep}original_price\n" \
           f"acme{sep}S{sep}T, with comma{sep}http://h.example{sep}1.50{sep}2\n"
    result = parse_feed(text.encode(), filename="f.csv", default_currency="CNY")
    assert result.errors == []
    assert (result.rows[0][1].title, result.rows[0][1].price) == ("T, with comma", 150)


def test_a_decimal_comma_is_refused_not_guessed() -> None:
    result = parse_feed(b"merchant;sku;title;url;price;original_price\nm;s;t;http://h;1,50;2\n",
                        filename="f.csv", default_currency="CNY")
    assert result.errors == [
        RowError(2, "price must be a decimal number like 39.00, got '1,50'")]


def test_thousands_separators_are_accepted() -> None:
    ((_, product),) = parse_csv(csv_row(price="1,299.00", original_price="1,599")).rows
    assert (product.price, product.original_price) == (129900, 159900)


def test_bom_is_accepted() -> None:
    text = "\ufeff" + HEADER + "\r\n" + csv_row() + "\r\n"
    result = parse_feed(text.encode(), filename="feed.csv", default_currency="CNY")
    assert result.errors == []
    assert [line for line, _ in result.rows] == [2]


def test_blank_lines_are_skipped_but_counted_in_line_numbers() -> None:
    result = parse_csv("", csv_row(sku="A"), "", ",,,", csv_row(sku="B", price="x"))
    assert [line for line, _ in result.rows] == [3]
    assert result.errors == [
        RowError(6, "price must be a decimal number like 39.00, got 'x'"),
    ]
    assert result.total == 2


def test_multiline_values_report_the_line_where_the_row_starts() -> None:
    result = parse_csv(csv_row(sku="A", title="two\nlines"), csv_row(sku="B", price="0"))
    assert result.rows[0][0] == 2
    assert result.errors == [RowError(4, "price must be greater than 0, got '0'")]


def test_short_rows_have_empty_trailing_values_and_long_rows_are_errors() -> None:
    header = "merchant,sku,title,url,price,original_price,stock"
    result = parse_csv("m,s,t,http://h,1,2", "m,s2,t,http://h,1,2,3,,", "m,s3,t,http://h,1,2,3,4",
                       header=header)
    assert [(line, row.sku, row.stock) for line, row in result.rows] == [
        (2, "s", None), (3, "s2", 3)]
    assert result.errors == [RowError(
        4, "row has 8 values but the header has 7 columns (is a value with a comma unquoted?)")]


# -- every row rule: (changes, exact reason)

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


def test_gbk_csv_is_detected_and_read() -> None:
    text = HEADER + "\n" + csv_row(title="保温杯 Thermos 不锈钢", category="家居") + "\n"
    reader = FeedReader(io.BytesIO(text.encode("gbk")), filename="f.csv", default_currency="CNY")
    rows = list(reader)
    assert reader.encoding == "gb18030"
    assert [(r.title, r.category) for _, r in rows] == [("保温杯 Thermos 不锈钢", "家居")]


def test_utf8_cut_at_the_sniffing_window_stays_utf8() -> None:
    # A multi-byte character straddling the 64 KiB prefix must not look like GBK.
    before_title = len(csv_row(sku="Z", title="@").split("@")[0])
    head = HEADER + "\n"
    while len(head) + before_title + 400 < 65535:
        head += csv_row(sku=f"P{len(head)}", title="x" * 400) + "\n"
    pad = 65536 - 1 - len(head) - before_title  # 杯's first byte is the window's last byte
    assert 0 < pad < 512
    text = head + csv_row(sku="Z", title="y" * pad + "杯") + "\n"
    assert text.encode()[65535:65538] == "杯".encode()
    reader = FeedReader(io.BytesIO(text.encode("utf-8")), filename="f.csv", default_currency="CNY")
    rows = list(reader)
    assert reader.encoding == "utf-8"
    assert rows[-1][1].title.endswith("杯")


def test_empty_currency_uses_the_default_and_amounts_use_its_exponent() -> None:
    result = parse_feed((HEADER + "\n" + csv_row(price="3900", original_price="5900")).encode(),
                        filename="f.csv", default_currency="JPY")
    assert (result.rows[0][1].price, result.rows[0][1].currency) == (3900, "JPY")


def test_duplicate_merchant_and_sku_is_an_error_on_the_later_row() -> None:
    result = parse_csv(csv_row(sku="A", price="1"), csv_row(sku="B"), csv_row(sku="A", price="2"))
    assert [(line, row.price) for line, row in result.rows] == [(2, 100), (3, 3900)]
    assert result.errors == [RowError(4, "duplicate of line 2 (merchant 'acme', sku 'A')")]


def test_a_bad_row_does_not_claim_its_key() -> None:
    result = parse_csv(csv_row(sku="A", price="x"), csv_row(sku="A"))
    assert [line for line, _ in result.rows] == [3]


def test_same_sku_of_another_merchant_is_not_a_duplicate() -> None:
    result = parse_csv(csv_row(sku="A"), csv_row(sku="A", merchant="other"))
    assert len(result.rows) == 2


# -- whole-file errors


@pytest.mark.parametrize(("data", "filename", "message"), [
    (b"", "f.csv", "the file is empty"),
    (b"\xef\xbb\xbf \n\n", "f.csv", "the file is empty"),
    (b"\xff\xfe\x00m", "f.csv", "the file is not UTF-8 text (save it as CSV UTF-8, or as GB18030/GBK)"),
    (b"merchant,sku,title\nm,s,t\n", "f.csv",
     "missing required columns url, price, original_price; the header row must name "
     "merchant, sku, title, url, price, original_price"),
    (b"merchant,sku,title,url,price,original_price,price\n", "f.csv",
     "column 'price' appears twice in the header"),
    (b'{"merchant": "m"}', "f.json", "a JSON feed must be a list of objects, this file holds "
     "one object"),
    (b'"merchant"', "f.json", "not a valid JSON feed: it must be a list of objects"),
    (b"[{}, {]", "f.json", "invalid JSON at line 1: Expecting property name enclosed in "
     "double quotes"),
    (b"[{},\n{}\n{}]", "f.json", "invalid JSON at line 3: expected ',' or ']' after item 2"),
    (b"[{}] []", "f.json", "invalid JSON: extra data after the list"),
    (b"[" * 100_000, "f.json", "invalid JSON: item 1 is nested too deeply"),
])
def test_unusable_files_raise_feed_error(data: bytes, filename: str, message: str) -> None:
    with pytest.raises(FeedError) as caught:
        parse_feed(data, filename=filename, default_currency="CNY")
    assert str(caught.value) == message


def test_non_utf8_later_in_a_big_file_is_a_feed_error() -> None:
    rows = "\n".join(csv_row(sku=f"S{i}") for i in range(3000))
    data = (HEADER + "\n" + rows + "\n").encode() + b"m,\xff\n"
    with pytest.raises(FeedError, match="not UTF-8"):
        parse_feed(data, filename="f.csv", default_currency="CNY")


def test_unknown_default_currency_is_a_feed_error() -> None:
    with pytest.raises(FeedError, match="unknown default currency"):
        parse_feed(b"", filename="f.csv", default_currency="XXX")


def test_runaway_quote_is_a_feed_error_with_the_line() -> None:
    data = (HEADER + "\n" + csv_row() + "\n" + 'm,"' + "x" * 200_000 + "\n").encode()
    with pytest.raises(FeedError, match="^CSV error at line 3: field larger than field limit"):
        parse_feed(data, filename="f.csv", default_currency="CNY")


# -- JSON


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


def test_json_is_sniffed_without_an_extension_and_bom_is_accepted() -> None:
    data = "\ufeff \n [ ]".encode()
    result = parse_feed(data, filename="upload", default_currency="CNY")
    assert (result.format, result.total) == ("json", 0)


def test_csv_is_sniffed_without_an_extension() -> None:
    result = parse_feed((HEADER + "\n" + csv_row()).encode(), filename="", default_currency="CNY")
    assert (result.format, len(result.rows)) == ("csv", 1)


def test_json_items_spanning_read_chunks() -> None:
    item = {**GOOD, "price": 12345, "original_price": 20000, "title": "x" * 500}
    items = [{**item, "sku": f"S{i}"} for i in range(2000)]
    data = json.dumps(items, indent=1).encode()
    result = parse_feed(data, filename="f.json", default_currency="CNY")
    assert result.errors == []
    assert [n for n, _ in result.rows] == list(range(1, 2001))
    assert all(row.price == 1234500 for _, row in result.rows)


# -- streaming


def test_iter_feed_streams_the_same_results_and_leaves_the_stream_open() -> None:
    text = "\n".join([HEADER, csv_row(sku="A"), csv_row(sku="B", stock="x"), csv_row(sku="A")])
    stream = io.BytesIO(text.encode())
    items = list(iter_feed(stream, filename="f.csv", default_currency="CNY"))
    assert [line for line, _ in items] == [2, 3, 4]
    assert isinstance(items[0][1], ProductRow)
    assert isinstance(items[1][1], RowError)
    assert items[2][1] == RowError(4, "duplicate of line 2 (merchant 'acme', sku 'A')")
    assert not stream.closed


def test_iter_feed_over_many_rows_matches_parse_feed() -> None:
    text = "\n".join([HEADER] + [csv_row(sku=f"S{i}", stock=str(i % 5)) for i in range(5000)])
    streamed = list(iter_feed(io.BytesIO(text.encode()), filename="f.csv", default_currency="CNY"))
    whole = parse_feed(text.encode(), filename="f.csv", default_currency="CNY")
    assert [(n, r) for n, r in streamed] == whole.rows


# -- fuzz: any input gives a result or a FeedError, never anything else


def _check_never_crashes(data: bytes, filename: str) -> None:
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


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=400), filename=st.sampled_from(["f.csv", "f.json", "f", ""]))
def test_fuzz_random_bytes(data: bytes, filename: str) -> None:
    _check_never_crashes(data, filename)


_cell = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "0", "1", "-1", "1.5", "39.00", "12%", "1e5", "NaN", "yes", "http://h",
                     "https://x.example/p?q=1", "2024-05-01", "2024-05-01T09:00Z", "9" * 30,
                     "CNY", "JPY", "XYZ", "0.001", "1,000", "\x00", "\ud800"]),
)
_row = st.fixed_dictionaries({}, optional={name: _cell for name in FIELDS})


@settings(max_examples=300, deadline=None)
@given(header=st.permutations(list(FIELDS) + ["extra"]), rows=st.lists(_row, max_size=6))
def test_fuzz_random_csv(header: list[str], rows: list[dict[str, str]]) -> None:
    lines = [",".join(header)]
    for row in rows:
        lines.append(",".join(_quote(row.get(name, "")) for name in header))
    data = "\n".join(lines).encode("utf-8", "surrogatepass")
    _check_never_crashes(data, "f.csv")


_json_value = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), _cell),
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
    _check_never_crashes(data, "f.json")


def test_offsets_are_reported_in_utc_for_odd_zones() -> None:
    result = parse_csv(csv_row(starts_at="2024-05-01T00:00-05:30"))
    start = result.rows[0][1].starts_at
    assert start == datetime(2024, 5, 1, 0, 0, tzinfo=timezone(timedelta(hours=-5, minutes=-30)))
    assert start is not None and start.tzinfo is UTC
