"""Order reports from merchants: the signed ``/postback`` and the rows of a CSV order report.

Signature: ``sig`` is the hex HMAC-SHA256, keyed by ``[postback].secret``, of every other
field as ``name=value``, sorted by name (code point order) and joined with ``&``. Values
are signed as received (after form or JSON decoding, not URL-encoded).

Validation rejects the whole report with one line that names the field and the reason:

- every field name must be known (``sig`` included); all of ``REQUIRED`` must be present;
- ``click_id`` and ``order_id``: 1–64 printable characters;
- ``amount``: a decimal string greater than 0 with at most the currency's minor digits;
- ``status``: one of the ledger's order states (case-insensitive);
- ``commission`` (optional, empty means absent): ≥ 0 and ≤ amount;
- ``currency`` (optional, else the configured default): an ISO 4217 code we know;
- ``ts`` (optional): ISO 8601 (without an offset it is taken as UTC) or unix seconds;
- ``merchant`` (optional): 1–64 printable characters; names the order's merchant when the
  click is unknown (orders are keyed by merchant and ``order_id``);
- in a postback, no value (nor name) may contain ``&``, ``=`` or a control character: the
  signed string ``k=v&k=v`` must have exactly one reading.

Surrounding whitespace is ignored in every value.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bot.domain.ledger import ORDER_STATES
from bot.domain.money import CURRENCY_EXPONENTS, parse_amount

REQUIRED = ("click_id", "order_id", "amount", "status")
OPTIONAL = ("commission", "currency", "ts", "merchant")
SIGNATURE = "sig"
# The CSV order report's columns; "currency" is optional there as in the postback.
ROW_COLUMNS = ("order_id", "click_id", "amount", "status", "commission", "ordered_at", "currency",
               "merchant")

ID_MAX = 64
# Amounts end up in signed 64-bit columns; anything larger is a malformed report.
AMOUNT_MAX = 2**63 - 1

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# ASCII digits only: int() and Decimal() would also accept other scripts' digits.
_UNIX_SECONDS = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,6})?")
# What would let one signed string "k=v&k=v" be read two ways: the separators and C0/C1 controls.
_AMBIGUOUS = re.compile(r"[&=\x00-\x1f\x7f-\x9f]")


class PostbackError(ValueError):
    """A malformed order report; the message is a one-line reason."""


@dataclass(frozen=True)
class OrderReport:
    """One validated order report."""

    click_id: str
    order_id: str
    amount: int  # minor units of ``currency``
    status: str
    commission: int | None  # minor units; None when the network did not report it
    currency: str
    ts: datetime | None  # aware, UTC
    merchant: str = ""  # the report's optional merchant; the click's product decides first


def _message(fields: Mapping[str, object]) -> bytes:
    text = "&".join(f"{name}={fields[name]}" for name in sorted(fields) if name != SIGNATURE)
    # surrogatepass: a JSON body may decode to lone surrogates; never crash on them.
    return text.encode("utf-8", "surrogatepass")


def sign(fields: Mapping[str, str], secret: str) -> str:
    """Hex HMAC-SHA256 of the fields except ``sig``, sorted by name, joined ``k=v&k=v``."""
    if not secret:
        raise ValueError("signing needs a non-empty secret")
    key = secret.encode("utf-8", "surrogatepass")
    return hmac.new(key, _message(fields), hashlib.sha256).hexdigest()


def verify(fields: Mapping[str, str], secret: str) -> bool:
    """True when ``fields["sig"]`` is the right signature; False without a sig or secret."""
    given = fields.get(SIGNATURE)
    if not secret or not isinstance(given, str) or not given:
        return False
    expected = sign(fields, secret).encode("ascii")
    # Bytes, because compare_digest refuses non-ASCII str and a sig is attacker-supplied.
    return hmac.compare_digest(expected, given.strip().lower().encode("utf-8", "surrogatepass"))


def _shown(value: str, limit: int = 40) -> str:
    # repr() keeps the reason on one line; cropping keeps it short.
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]


def _text(fields: Mapping[str, object], name: str) -> str:
    value = fields.get(name)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PostbackError(f"{name}: must be a string")
    return str(value).strip()


def _identifier(name: str, value: str) -> str:
    if len(value) > ID_MAX:
        raise PostbackError(f"{name}: longer than {ID_MAX} characters")
    if not value.isprintable():
        raise PostbackError(f"{name}: contains unprintable characters")
    return value


def _amount(name: str, value: str, currency: str, *, allow_zero: bool) -> int:
    try:
        minor = parse_amount(value, currency, allow_zero=allow_zero)
    except (ValueError, ArithmeticError) as exc:
        # ArithmeticError: Decimal overflow on absurd exponents such as "1e999999".
        raise PostbackError(_one_line(f"{name}: {exc}")) from None
    if minor > AMOUNT_MAX:
        raise PostbackError(f"{name}: too large")
    if minor == 0 and not allow_zero:
        # parse_amount lets a tiny positive value such as "1e-999999999" underflow to 0.
        raise PostbackError(f"{name}: must be greater than 0")
    return minor


def _timestamp(name: str, value: str) -> datetime:
    try:
        if _UNIX_SECONDS.fullmatch(value):
            seconds = Decimal(value)
            whole = int(seconds)
            micros = int((seconds - whole) * 1_000_000)
            return _EPOCH + timedelta(seconds=whole, microseconds=micros)
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise PostbackError(
            f"{name}: {_shown(value)} is not an ISO 8601 time or unix seconds"
        ) from None


def _parse(fields: Mapping[str, object], *, default_currency: str, ts_name: str) -> OrderReport:
    values = {name: _text(fields, name) for name in (*REQUIRED, *OPTIONAL, ts_name)}
    for name in REQUIRED:
        if not values[name]:
            raise PostbackError(f"missing {name}")
    click_id = _identifier("click_id", values["click_id"])
    order_id = _identifier("order_id", values["order_id"])

    status = values["status"].lower()
    if status not in ORDER_STATES:
        raise PostbackError(
            f"status: {_shown(values['status'])} is not one of {', '.join(ORDER_STATES)}"
        )

    currency = (values["currency"] or default_currency).upper()
    if currency not in CURRENCY_EXPONENTS:
        raise PostbackError(f"currency: unknown currency {_shown(currency)}")

    amount = _amount("amount", values["amount"], currency, allow_zero=False)
    commission = None
    if values["commission"]:
        commission = _amount("commission", values["commission"], currency, allow_zero=True)
        if commission > amount:
            raise PostbackError("commission: greater than the amount")

    ts = _timestamp(ts_name, values[ts_name]) if values[ts_name] else None
    merchant = _identifier("merchant", values["merchant"]) if values["merchant"] else ""
    return OrderReport(
        click_id=click_id,
        order_id=order_id,
        amount=amount,
        status=status,
        commission=commission,
        currency=currency,
        ts=ts,
        merchant=merchant,
    )


def parse_report(fields: Mapping[str, str], *, default_currency: str) -> OrderReport:
    """Validate a postback's fields (``sig`` may be among them); PostbackError with a reason."""
    allowed = {*REQUIRED, *OPTIONAL, SIGNATURE}
    unknown = sorted(name for name in fields if name not in allowed)
    if unknown:
        raise PostbackError(f"unknown field {_shown(unknown[0])}")
    for name in sorted(fields):
        value = fields[name]
        if isinstance(value, str) and _AMBIGUOUS.search(value):
            raise PostbackError(f"{name}: contains '&', '=' or a control character")
    return _parse(fields, default_currency=default_currency, ts_name="ts")


def parse_report_row(row: Mapping[str, str], *, default_currency: str) -> OrderReport:
    """Validate one CSV order-report row (``ordered_at`` is the time); PostbackError if bad.

    Tolerates what ``csv.DictReader`` produces: surrounding spaces or a byte-order mark in
    column names, ``None`` for missing trailing values, and an unnamed empty column from a
    trailing comma. More values than columns (key ``None``) is an error, and so is an
    unknown column: a misspelt "comission" must not be dropped silently.
    """
    cleaned: dict[str, object] = {}
    for raw_name, value in row.items():
        if raw_name is None:
            raise PostbackError("more values than columns")
        name = raw_name.strip().lstrip("\ufeff").strip()
        if not name:
            if value is not None and str(value).strip():
                raise PostbackError("a value in a column without a name")
            continue
        if name not in ROW_COLUMNS:
            raise PostbackError(f"unknown column {_shown(name)}")
        cleaned[name] = value
    return _parse(cleaned, default_currency=default_currency, ts_name="ordered_at")
