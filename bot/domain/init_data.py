"""Telegram Mini App ``initData``: check its signature and age, or sign one (tests, emulator).

The data-check string is every field but ``hash``, sorted by name, as ``key=value`` joined
with a line feed. The key is HMAC-SHA256(key = "WebAppData", message = bot token), and the
valid ``hash`` is the hex HMAC-SHA256 of the data-check string under that key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode

MAX_AGE = timedelta(hours=24)
MAX_LENGTH = 8192  # real initData is well under 2 KiB; a bigger header is refused unparsed
# Telegram may sign with a little clock skew; a date this far ahead is forged or broken.
FUTURE_SKEW = timedelta(minutes=5)


class InitDataError(ValueError):
    """The initData is missing, malformed, forged or stale (the reason is safe to show)."""


@dataclass(frozen=True)
class WebAppUser:
    """The user a valid initData speaks for."""

    id: int
    first_name: str = ""
    username: str | None = None
    language_code: str | None = None


def secret_key(bot_token: str) -> bytes:
    """HMAC-SHA256 keyed by "WebAppData" over the bot token (computed once per token)."""
    return hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()


def data_check_string(fields: Mapping[str, str]) -> str:
    """Every field but ``hash``, sorted by name, as ``key=value`` lines."""
    return "\n".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "hash")


def check_init_data(raw: str, *, key: bytes, now: datetime, max_age: timedelta = MAX_AGE) -> WebAppUser:
    """The user of a valid, fresh initData; InitDataError otherwise."""
    if not raw or len(raw) > MAX_LENGTH:
        raise InitDataError("missing or oversized initData")
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise InitDataError("malformed initData") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise InitDataError("a field appears twice")  # which copy would be the signed one?
    given = fields.get("hash", "")
    expected = hmac.new(key, data_check_string(fields).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise InitDataError("bad signature")
    auth_date = fields.get("auth_date", "")
    if not auth_date.isdigit() or len(auth_date) > 12:
        raise InitDataError("bad auth_date")
    age = now.timestamp() - int(auth_date)
    if age > max_age.total_seconds() or age < -FUTURE_SKEW.total_seconds():
        raise InitDataError("initData is too old")
    try:
        user = json.loads(fields.get("user", ""))
        user_id = user["id"]
    except (ValueError, TypeError, KeyError):
        raise InitDataError("no user in initData") from None
    if not isinstance(user_id, int) or isinstance(user_id, bool) or not 0 < user_id < 2**53:
        raise InitDataError("bad user id")
    return WebAppUser(id=user_id, first_name=_text(user.get("first_name"), 128),
                      username=_text(user.get("username"), 64) or None,
                      language_code=_text(user.get("language_code"), 16) or None)


def sign_init_data(user: Mapping[str, object], *, bot_token: str, auth_date: int,
                   extra: Mapping[str, str] | None = None) -> str:
    """A valid initData query string for ``user`` (what Telegram hands a Mini App)."""
    fields = {"auth_date": str(auth_date), "user": json.dumps(dict(user), separators=(",", ":"),
                                                              ensure_ascii=False)}
    fields.update(extra or {})
    fields["hash"] = hmac.new(secret_key(bot_token), data_check_string(fields).encode(),
                              hashlib.sha256).hexdigest()
    return urlencode(fields)


def _text(value: object, limit: int) -> str:
    return value[:limit] if isinstance(value, str) else ""
