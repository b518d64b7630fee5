"""initData: the data-check string, the key, the age limit, and what a forger can change."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

import pytest

from bot.domain.init_data import InitDataError, check_init_data, secret_key, sign_init_data

TOKEN = "123456:TEST-TOKEN"
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def reference_hash(fields: dict[str, str], token: str) -> str:
    """Telegram's documented algorithm, written out independently of the code under test."""
    key = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    text = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()) if k != "hash")
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def test_a_hand_signed_init_data_is_accepted() -> None:
    fields = {"query_id": "AAH1", "user": json.dumps({"id": 42, "first_name": "Li", "language_code": "zh"}),
              "auth_date": str(int(NOW.timestamp()) - 60)}
    fields["hash"] = reference_hash(fields, TOKEN)
    user = check_init_data(urlencode(fields), key=secret_key(TOKEN), now=NOW)
    assert (user.id, user.first_name, user.language_code) == (42, "Li", "zh")


def test_sign_matches_the_reference_algorithm() -> None:
    raw = sign_init_data({"id": 7}, bot_token=TOKEN, auth_date=1_700_000_000, extra={"chat_type": "sender"})
    fields = dict(parse_qsl(raw))
    assert fields["hash"] == reference_hash(fields, TOKEN)


@pytest.mark.parametrize("change", ["user", "auth_date", "extra field", "hash"])
def test_any_change_breaks_the_signature(change: str) -> None:
    fields = dict(parse_qsl(sign_init_data({"id": 7}, bot_token=TOKEN, auth_date=int(NOW.timestamp()))))
    if change == "user":
        fields["user"] = json.dumps({"id": 8})
    elif change == "auth_date":
        fields["auth_date"] = str(int(NOW.timestamp()) + 1)
    elif change == "extra field":
        fields["start_param"] = "x"
    else:
        fields["hash"] = "0" * 64
    with pytest.raises(InitDataError, match="bad signature"):
        check_init_data(urlencode(fields), key=secret_key(TOKEN), now=NOW)


def test_age_limit_is_24_hours_and_the_future_is_refused() -> None:
    key = secret_key(TOKEN)
    day = int(timedelta(hours=24).total_seconds())
    ok = sign_init_data({"id": 7}, bot_token=TOKEN, auth_date=int(NOW.timestamp()) - day)
    assert check_init_data(ok, key=key, now=NOW).id == 7
    for auth_date in (int(NOW.timestamp()) - day - 1, int(NOW.timestamp()) + 3600):
        with pytest.raises(InitDataError, match="too old"):
            check_init_data(sign_init_data({"id": 7}, bot_token=TOKEN, auth_date=auth_date), key=key, now=NOW)


@pytest.mark.parametrize("raw", ["", "a=1&a=2&hash=x", "%", "x" * 9000])
def test_malformed_init_data_is_refused(raw: str) -> None:
    with pytest.raises(InitDataError):
        check_init_data(raw, key=secret_key(TOKEN), now=NOW)


@pytest.mark.parametrize("user", ['{"id": "7"}', '{"id": true}', '{"id": 0}', "[]", "{}", "null"])
def test_a_signed_but_unusable_user_is_refused(user: str) -> None:
    fields = {"user": user, "auth_date": str(int(NOW.timestamp()))}
    fields["hash"] = reference_hash(fields, TOKEN)
    with pytest.raises(InitDataError):
        check_init_data(urlencode(fields), key=secret_key(TOKEN), now=NOW)
