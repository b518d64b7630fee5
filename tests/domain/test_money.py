from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.money import (
    CURRENCY_EXPONENTS,
    exponent,
    format_money,
    parse_amount,
    times_rate,
    to_decimal,
)


def test_parse_amount() -> None:
    assert parse_amount("39.00", "CNY") == 3900
    assert parse_amount("39", "CNY") == 3900
    assert parse_amount(" 1,234.5 ", "CNY") == 123450
    assert parse_amount(Decimal("0.01"), "USD") == 1
    assert parse_amount("3900", "JPY") == 3900
    assert parse_amount("0", "CNY", allow_zero=True) == 0


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("0", "CNY"),
        ("-1", "CNY"),
        ("1.001", "CNY"),
        ("1.5", "JPY"),
        ("abc", "CNY"),
        ("NaN", "CNY"),
        ("Infinity", "CNY"),
        ("1", "XXX"),
        ("", "CNY"),
    ],
)
def test_parse_amount_rejects(text: str, currency: str) -> None:
    with pytest.raises(ValueError):
        parse_amount(text, currency)


def test_parse_amount_rejects_floats() -> None:
    with pytest.raises(ValueError):
        parse_amount(39.0, "CNY")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        parse_amount(True, "CNY")


def test_format_money() -> None:
    assert format_money(3900, "CNY") == "¥39.00"
    assert format_money(-150, "USD") == "-$1.50"
    assert format_money(123450, "CNY") == "¥1,234.50"
    assert format_money(3900, "JPY") == "¥3,900"
    assert format_money(100, "MYR") == "1.00 MYR"


def test_exponent_and_to_decimal() -> None:
    assert exponent("CNY") == 2 and exponent("KRW") == 0
    with pytest.raises(ValueError):
        exponent("XXX")
    assert to_decimal(3900, "CNY") == Decimal("39.00")
    assert str(to_decimal(5, "CNY")) == "0.05"


def test_times_rate_half_even() -> None:
    assert times_rate(3900, Decimal("0.10")) == 390
    assert times_rate(25, Decimal("0.1")) == 2
    assert times_rate(35, Decimal("0.1")) == 4
    assert times_rate(-25, Decimal("0.1")) == -2


@given(minor=st.integers(1, 10**15), currency=st.sampled_from(sorted(CURRENCY_EXPONENTS)))
def test_decimal_text_round_trips(minor: int, currency: str) -> None:
    assert parse_amount(str(to_decimal(minor, currency)), currency) == minor
    # the formatted text, without its symbol, parses back too
    body = format_money(minor, currency).lstrip("¥$€£₩₹₽₫฿HKNTS").split(" ")[0]
    assert parse_amount(body, currency) == minor


def test_convert_between_exponents_rounds_half_even() -> None:
    from bot.domain.money import convert

    assert convert(10_00, "USD", "CNY", Decimal("7.10")) == 71_00
    assert convert(2_500_000, "VND", "CNY", Decimal("0.00028")) == 700_00
    assert convert(1, "JPY", "CNY", Decimal("0.045")) == 4  # 4.5 fen → 4 (half-even)
    assert convert(3, "JPY", "CNY", Decimal("0.045")) == 14  # 13.5 fen → 14
