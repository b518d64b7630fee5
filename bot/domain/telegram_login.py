"""Checking Telegram login data (the login widget and ``login_url`` buttons).

As Telegram documents it: the data-check-string is the received fields except ``hash``,
as ``key=value`` lines sorted by key and joined with ``\\n``; the secret key is the raw
SHA-256 digest of the bot token; ``hash`` is the hex HMAC-SHA256 of the data-check-string
under that key.

Only the login fields (``LOGIN_FIELDS``) enter the data-check-string. A ``login_url``
button opens our own URL with Telegram's fields appended, so the query string may also
carry parameters of ours (or junk a forwarder added); those are not signed by Telegram and
must not break the check. The cost: should Telegram add a new signed field, the check
fails closed (403) until it is added here.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

LOGIN_FIELDS = ("id", "first_name", "last_name", "username", "photo_url", "auth_date", "hash")
FUTURE_SKEW = timedelta(seconds=60)  # clock drift we tolerate for an auth_date ahead of us


class LoginError(ValueError):
    """Login data that must be refused; the message is a short reason."""


def _check_string(params: Mapping[str, object]) -> bytes:
    lines = sorted(
        f"{name}={params[name]}" for name in LOGIN_FIELDS if name != "hash" and name in params
    )
    return "\n".join(lines).encode("utf-8", "surrogatepass")


def sign_login(fields: Mapping[str, object], bot_token: str) -> str:
    """The hex ``hash`` Telegram would send for ``fields`` (for tests and the emulator)."""
    if not bot_token:
        raise ValueError("signing login data needs the bot token")
    secret = hashlib.sha256(bot_token.encode("utf-8")).digest()
    return hmac.new(secret, _check_string(fields), hashlib.sha256).hexdigest()


def _positive_int(params: Mapping[str, str], name: str) -> int:
    value = params.get(name)
    # ASCII digits only: int() would also take other scripts' digits, signs and "_".
    if not value or not value.isascii() or not value.isdigit():
        raise LoginError(f"missing or malformed {name}")
    number = int(value)
    if number <= 0:
        raise LoginError(f"malformed {name}")
    return number


def check_login(
    params: Mapping[str, str],
    *,
    bot_token: str,
    now: datetime,
    max_age: timedelta = timedelta(days=1),
) -> int:
    """The Telegram user id of valid, fresh login data; LoginError otherwise."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    given = params.get("hash")
    if not given:
        raise LoginError("missing hash")
    expected = sign_login(params, bot_token).encode("ascii")
    # Bytes, because compare_digest refuses non-ASCII str and the hash is attacker-supplied.
    if not hmac.compare_digest(expected, given.strip().lower().encode("utf-8", "surrogatepass")):
        raise LoginError("bad hash")
    user_id = _positive_int(params, "id")
    auth_date = _positive_int(params, "auth_date")
    try:
        signed_at = datetime.fromtimestamp(auth_date, UTC)
    except (OverflowError, OSError, ValueError):
        raise LoginError("malformed auth_date") from None
    if signed_at - now > FUTURE_SKEW:
        raise LoginError("auth_date is in the future")
    if now - signed_at > max_age:
        raise LoginError("stale login data")
    return user_id
