"""Exact money: integer minor units per currency, parsing and formatting. No floats anywhere."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, DecimalException

# ISO 4217 minor-unit exponents for the currencies a feed may name.
CURRENCY_EXPONENTS: dict[str, int] = {
    "CNY": 2, "HKD": 2, "TWD": 2, "USD": 2, "EUR": 2, "GBP": 2, "SGD": 2, "MYR": 2,
    "THB": 2, "PHP": 2, "IDR": 2, "INR": 2, "AUD": 2, "CAD": 2, "RUB": 2, "VND": 0,
    "JPY": 0, "KRW": 0,
}
CURRENCY_SYMBOLS: dict[str, str] = {
    "CNY": "¥", "JPY": "¥", "USD": "$", "HKD": "HK$", "TWD": "NT$", "EUR": "€", "GBP": "£",
    "SGD": "S$", "KRW": "₩", "INR": "₹", "RUB": "₽", "VND": "₫", "THB": "฿",
}


def exponent(currency: str) -> int:
    """Minor-unit digits of ``currency``; ValueError for an unknown code."""
    try:
        return CURRENCY_EXPONENTS[currency]
    except KeyError:
        raise ValueError(f"unknown currency {currency!r}") from None


def parse_amount(text: str | int | Decimal, currency: str, *, allow_zero: bool = False) -> int:
    """Parse a decimal string such as ``"39.00"`` into minor units; ValueError with a reason."""
    digits = exponent(currency)
    if isinstance(text, float) or isinstance(text, bool):
        raise ValueError("must be a decimal string, not a float")
    try:
        value = Decimal(str(text).strip().replace(",", ""))
        if not value.is_finite():
            raise ValueError(f"{text!r} is not a finite number")
        if value.adjusted() > 15:
            raise ValueError(f"too large ({text})")
        if value < 0 or (value == 0 and not allow_zero):
            raise ValueError(f"must be greater than 0, got {text}")
        scaled = value.scaleb(digits)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{text} has more than {digits} decimal places for {currency}")
    except DecimalException:
        raise ValueError(f"{text!r} is not a decimal number") from None
    if int(scaled) == 0 and not allow_zero:
        raise ValueError(f"{text} is smaller than the smallest unit of {currency}")
    return int(scaled)


def to_decimal(minor: int, currency: str) -> Decimal:
    """Minor units back to a Decimal amount (``3900`` CNY → ``Decimal("39.00")``)."""
    digits = exponent(currency)
    return Decimal(minor).scaleb(-digits).quantize(Decimal(1).scaleb(-digits))


def format_money(minor: int, currency: str) -> str:
    """Human text for an amount: ``¥39.00``, ``-$1.50``, ``¥1,234.50``."""
    amount = to_decimal(abs(minor), currency)
    digits = exponent(currency)
    body = f"{amount:,.{digits}f}"
    symbol = CURRENCY_SYMBOLS.get(currency)
    text = f"{symbol}{body}" if symbol else f"{body} {currency}"
    return f"-{text}" if minor < 0 else text


def times_rate(minor: int, rate: Decimal) -> int:
    """``minor × rate`` rounded half-even to a whole minor unit."""
    return int((Decimal(minor) * rate).to_integral_value(rounding=ROUND_HALF_EVEN))


def convert(minor: int, source: str, target: str, rate: Decimal) -> int:
    """``minor`` units of ``source`` in ``target`` at ``rate`` (target per source unit),
    rounded half-even to a whole minor unit of ``target``."""
    value = Decimal(minor).scaleb(-exponent(source)) * rate
    return int(value.scaleb(exponent(target)).to_integral_value(rounding=ROUND_HALF_EVEN))
