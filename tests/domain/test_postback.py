import hashlib
import hmac
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.postback import (
    OPTIONAL,
    REQUIRED,
    ROW_COLUMNS,
    OrderReport,
    PostbackError,
    parse_report,
    parse_report_row,
    sign,
    verify,
)

SECRET = "s3cret"
GOOD = {"click_id": "c-123", "order_id": "O-1", "amount": "39.00", "status": "pending"}


def test_sign_matches_the_documented_recipe() -> None:
    fields = {**GOOD, "sig": "ignored"}
    message = "amount=39.00&click_id=c-123&order_id=O-1&status=pending"
    expected = hmac.new(SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()
    assert sign(fields, SECRET) == expected


def test_verify() -> None:
    fields = {**GOOD, "sig": sign(GOOD, SECRET)}
    assert verify(fields, SECRET)
    assert verify({**fields, "sig": fields["sig"].upper()}, SECRET)
    assert not verify({**fields, "amount": "390.00"}, SECRET)
    assert not verify(fields, "other")
    assert not verify(fields, "")
    assert not verify(GOOD, SECRET)
    assert not verify({**GOOD, "sig": ""}, SECRET)
    assert not verify({**GOOD, "sig": "签名"}, SECRET)
    with pytest.raises(ValueError):
        sign(GOOD, "")


def test_parse_minimal_report() -> None:
    report = parse_report({**GOOD, "sig": "x"}, default_currency="CNY")
    assert report == OrderReport(
        click_id="c-123",
        order_id="O-1",
        amount=3900,
        status="pending",
        commission=None,
        currency="CNY",
        ts=None,
    )


def test_parse_full_report() -> None:
    report = parse_report(
        {
            **GOOD,
            "status": " Confirmed ",
            "commission": "3.90",
            "currency": "usd",
            "ts": "2024-05-01T20:00:00+08:00",
        },
        default_currency="CNY",
    )
    assert report.status == "confirmed"
    assert report.commission == 390
    assert report.currency == "USD"
    assert report.ts == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert report.ts.tzinfo is UTC


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        ("1714564800", datetime(2024, 5, 1, 12, 0, tzinfo=UTC)),
        ("1714564800.25", datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=UTC)),
        ("2024-05-01T12:00:00Z", datetime(2024, 5, 1, 12, 0, tzinfo=UTC)),
        ("2024-05-01 12:00:00", datetime(2024, 5, 1, 12, 0, tzinfo=UTC)),
        ("2024-05-01", datetime(2024, 5, 1, tzinfo=UTC)),
    ],
)
def test_timestamps(ts: str, expected: datetime) -> None:
    assert parse_report({**GOOD, "ts": ts}, default_currency="CNY").ts == expected


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"click_id": ""}, "missing click_id"),
        ({"status": "shipped"}, "status"),
        ({"amount": "0"}, "amount"),
        ({"amount": "-1"}, "amount"),
        ({"amount": "1.001"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"amount": "1e999999"}, "amount"),
        ({"amount": "1e-999999999"}, "amount"),
        ({"amount": "1e30"}, "amount: too large"),
        ({"commission": "40.00"}, "commission"),
        ({"commission": "-1"}, "commission"),
        ({"currency": "XXX"}, "currency"),
        ({"ts": "yesterday"}, "ts"),
        ({"ts": "99999999999999"}, "ts"),
        ({"order_id": "x" * 65}, "order_id"),
        ({"order_id": "a\nb"}, "order_id"),
        ({"click_id": "c" * 65}, "click_id"),
        ({"extra": "1"}, "unknown field 'extra'"),
    ],
)
def test_rejections_name_the_field(change: dict[str, str], reason: str) -> None:
    with pytest.raises(PostbackError, match=reason) as caught:
        parse_report({**GOOD, **change}, default_currency="CNY")
    assert "\n" not in str(caught.value)


def test_missing_required_fields() -> None:
    for name in REQUIRED:
        fields = {k: v for k, v in GOOD.items() if k != name}
        with pytest.raises(PostbackError, match=f"missing {name}"):
            parse_report(fields, default_currency="CNY")


def test_commission_may_equal_but_not_exceed_the_amount() -> None:
    assert parse_report({**GOOD, "commission": "39.00"}, default_currency="CNY").commission == 3900
    with pytest.raises(PostbackError, match="commission"):
        parse_report({**GOOD, "commission": "39.01"}, default_currency="CNY")


def test_zero_commission_allowed_and_empty_means_absent() -> None:
    assert parse_report({**GOOD, "commission": "0"}, default_currency="CNY").commission == 0
    assert parse_report({**GOOD, "commission": ""}, default_currency="CNY").commission is None


def test_currency_exponent_applies() -> None:
    report = parse_report({**GOOD, "amount": "3900", "currency": "JPY"}, default_currency="CNY")
    assert report.amount == 3900
    with pytest.raises(PostbackError):
        parse_report({**GOOD, "amount": "39.5", "currency": "JPY"}, default_currency="CNY")


def test_csv_row() -> None:
    row = {
        "\ufefforder_id": "O-9",
        " click_id ": "c-1",
        "amount": "39.00",
        "status": "confirmed",
        "commission": "",
        "ordered_at": "2024-05-01T12:00:00Z",
    }
    report = parse_report_row(row, default_currency="CNY")
    assert report.order_id == "O-9"
    assert report.commission is None
    assert report.ts == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    # short row from csv.DictReader: None for missing trailing values
    short = {**row, "commission": None, "ordered_at": None}
    assert parse_report_row(short, default_currency="CNY").ts is None
    # a trailing comma in the header makes an empty, unnamed column
    assert parse_report_row({**row, "": ""}, default_currency="CNY").order_id == "O-9"
    with pytest.raises(PostbackError, match="more values"):
        parse_report_row({**row, None: ["x"]}, default_currency="CNY")  # type: ignore[dict-item]
    with pytest.raises(PostbackError, match="unknown column"):
        parse_report_row({**row, "comission": "1"}, default_currency="CNY")
    with pytest.raises(PostbackError, match="ordered_at"):
        parse_report_row({**row, "ordered_at": "later"}, default_currency="CNY")
    assert set(ROW_COLUMNS) >= {
        "order_id",
        "click_id",
        "amount",
        "status",
        "commission",
        "ordered_at",
    }


names = st.sampled_from((*REQUIRED, *OPTIONAL, "sig", "ordered_at")) | st.text(max_size=8)
values = st.one_of(
    st.text(max_size=30),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.integers().map(str),
    st.sampled_from(
        (
            "pending",
            "confirmed",
            "refunded",
            "CNY",
            "JPY",
            "2024-01-01",
            "1e999999",
            "-0",
            "0.00",
            "NaN",
            "sNaN",
        )
    ),
)


@given(fields=st.dictionaries(names, values), currency=st.sampled_from(("CNY", "JPY", "XYZ")))
def test_parse_report_raises_only_postback_errors(fields: dict[str, str], currency: str) -> None:
    try:
        report = parse_report(fields, default_currency=currency)
    except PostbackError as exc:
        assert "\n" not in str(exc)
        return
    assert report.amount > 0
    assert report.commission is None or 0 <= report.commission <= report.amount
    assert report.ts is None or report.ts.tzinfo is UTC


@given(row=st.dictionaries(names, values))
def test_parse_report_row_raises_only_postback_errors(row: dict[str, str]) -> None:
    try:
        parse_report_row(row, default_currency="CNY")
    except PostbackError:
        pass


@given(
    fields=st.dictionaries(st.text(max_size=8), st.text(max_size=20)),
    secret=st.text(min_size=1),
)
def test_signed_fields_verify_and_any_change_breaks_them(
    fields: dict[str, str], secret: str
) -> None:
    signed = {**fields, "sig": sign(fields, secret)}
    assert verify(signed, secret)
    for name in fields:
        if name != "sig":
            assert not verify({**signed, name: fields[name] + "x"}, secret)


@pytest.mark.parametrize("name,value", [
    ("order_id", "A1&status=refunded"), ("click_id", "c=1"), ("amount", "10.00\n"),
    ("currency", "CNY\x00"), ("order_id", "A\x7f1"), ("ts", "2026-01-01\x85"), ("sig", "ab&cd"),
])
def test_separators_and_control_characters_are_refused(name: str, value: str) -> None:
    """Issue 11: the signed string k=v&k=v must have one reading."""
    fields = {"click_id": "c1", "order_id": "A1", "amount": "10.00", "status": "pending", name: value}
    with pytest.raises(PostbackError, match=f"^{name}: contains '&', '=' or a control character$"):
        parse_report(fields, default_currency="CNY")


def test_merchant_is_an_optional_field() -> None:
    fields = {"click_id": "c1", "order_id": "A1", "amount": "10.00", "status": "pending"}
    assert parse_report(fields, default_currency="CNY").merchant == ""
    assert parse_report({**fields, "merchant": " globex "}, default_currency="CNY").merchant == "globex"
