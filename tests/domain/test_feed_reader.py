"""Reading a feed: format detection, delimiters, encodings, line numbers, duplicates, whole-file
errors and streaming, plus a fuzz of random bytes and CSV."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.feed import FIELDS, FeedError, FeedReader, ProductRow, RowError, iter_feed
from tests.support.feed import HEADER, ROW, check_never_crashes, csv_row, parse_csv, parse_feed, quote


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


def test_json_is_sniffed_without_an_extension_and_bom_is_accepted() -> None:
    data = "\ufeff \n [ ]".encode()
    result = parse_feed(data, filename="upload", default_currency="CNY")
    assert (result.format, result.total) == ("json", 0)


def test_csv_is_sniffed_without_an_extension() -> None:
    result = parse_feed((HEADER + "\n" + csv_row()).encode(), filename="", default_currency="CNY")
    assert (result.format, len(result.rows)) == ("csv", 1)


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


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=400), filename=st.sampled_from(["f.csv", "f.json", "f", ""]))
def test_fuzz_random_bytes(data: bytes, filename: str) -> None:
    check_never_crashes(data, filename)


@settings(max_examples=300, deadline=None)
@given(header=st.permutations(list(FIELDS) + ["extra"]), rows=st.lists(ROW, max_size=6))
def test_fuzz_random_csv(header: list[str], rows: list[dict[str, str]]) -> None:
    lines = [",".join(header)]
    for row in rows:
        lines.append(",".join(quote(row.get(name, "")) for name in header))
    data = "\n".join(lines).encode("utf-8", "surrogatepass")
    check_never_crashes(data, "f.csv")
