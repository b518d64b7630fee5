import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.telegram_login import LoginError, check_login, sign_login

TOKEN = "123456:ABC-test-token"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def login(**extra: str) -> dict[str, str]:
    fields = {
        "id": "4242",
        "first_name": "Li",
        "username": "li_wei",
        "auth_date": str(int(NOW.timestamp()) - 30),
        **extra,
    }
    fields["hash"] = sign_login(fields, TOKEN)
    return fields


def test_sign_login_follows_telegrams_recipe() -> None:
    fields = {"id": "1", "auth_date": "1700000000", "first_name": "A"}
    check_string = "auth_date=1700000000\nfirst_name=A\nid=1"
    secret = hashlib.sha256(TOKEN.encode()).digest()
    expected = hmac.new(secret, check_string.encode(), hashlib.sha256).hexdigest()
    assert sign_login(fields, TOKEN) == expected


def test_valid_login_returns_user_id() -> None:
    assert check_login(login(), bot_token=TOKEN, now=NOW) == 4242


def test_other_query_params_are_not_signed() -> None:
    params = {**login(), "utm_source": "group", "code": "xyz"}
    assert check_login(params, bot_token=TOKEN, now=NOW) == 4242


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"hash": ""}, "missing hash"),
        ({"first_name": "Mallory"}, "bad hash"),
        ({"id": "4243"}, "bad hash"),
        ({"hash": "0" * 64}, "bad hash"),
        ({"hash": "ä" * 64}, "bad hash"),
    ],
)
def test_tampered_login_refused(change: dict[str, str], reason: str) -> None:
    params = {**login(), **change}
    with pytest.raises(LoginError, match=reason):
        check_login(params, bot_token=TOKEN, now=NOW)


def test_wrong_token_refused() -> None:
    with pytest.raises(LoginError):
        check_login(login(), bot_token="999:other", now=NOW)


def test_stale_and_future_logins() -> None:
    old = login(auth_date=str(int((NOW - timedelta(days=1, seconds=1)).timestamp())))
    with pytest.raises(LoginError, match="stale"):
        check_login(old, bot_token=TOKEN, now=NOW)
    assert check_login(old, bot_token=TOKEN, now=NOW, max_age=timedelta(days=2)) == 4242
    ahead = login(auth_date=str(int((NOW + timedelta(seconds=61)).timestamp())))
    with pytest.raises(LoginError, match="future"):
        check_login(ahead, bot_token=TOKEN, now=NOW)
    slight = login(auth_date=str(int((NOW + timedelta(seconds=59)).timestamp())))
    assert check_login(slight, bot_token=TOKEN, now=NOW) == 4242


def test_malformed_fields_refused_even_when_signed() -> None:
    for bad in ({"id": "-5"}, {"id": "abc"}, {"auth_date": "soon"}, {"auth_date": "9" * 30}):
        with pytest.raises(LoginError):
            check_login(login(**bad), bot_token=TOKEN, now=NOW)
    params = login()
    del params["id"]
    params["hash"] = sign_login(params, TOKEN)
    with pytest.raises(LoginError):
        check_login(params, bot_token=TOKEN, now=NOW)


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        check_login(login(), bot_token=TOKEN, now=NOW.replace(tzinfo=None))
