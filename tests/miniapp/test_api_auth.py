"""Every data route answers 401 unless ``Authorization: tma <initData>`` is signed with this
bot's token and at most 24 hours old."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.init_data import sign_init_data
from tests.miniapp.conftest import OWNER

ROUTES = [
    ("GET", "/app/api/me"),
    ("GET", "/app/api/deals?q=x"),
    ("GET", "/app/api/categories"),
    ("GET", "/app/api/deals/1"),
    ("POST", "/app/api/deals/1/buy"),
    ("POST", "/app/api/deals/1/share"),
    ("GET", "/app/api/dashboard"),
    ("GET", "/app/api/groups"),
    ("POST", "/app/api/groups/-100"),
    ("GET", "/app/api/admin/stats"),
    ("GET", "/app/api/admin/balances"),
    ("POST", "/app/api/admin/payout"),
]


async def test_every_route_refuses_missing_forged_and_stale_init_data(world) -> None:
    now = int(world.clock().timestamp())
    valid = world.init_data(OWNER)
    user = {"id": OWNER, "first_name": "Olga"}
    forged = sign_init_data(user, bot_token="123456:SOME-OTHER-TOKEN", auth_date=now)
    stale = world.init_data(OWNER, auth_date=now - int(timedelta(hours=24, seconds=1).total_seconds()))
    tampered = valid.replace(f"%22id%22%3A{OWNER}", "%22id%22%3A900")
    assert tampered != valid
    headers = {
        "missing": None, "empty": "tma", "garbage": "tma %%%&&&==", "wrong scheme": "Bearer " + valid,
        "forged": "tma " + forged, "stale": "tma " + stale, "tampered user": "tma " + tampered,
        "no hash": "tma " + "&".join(p for p in valid.split("&") if not p.startswith("hash=")),
        "oversized": "tma " + valid + "&x=" + "a" * 10_000,
    }
    for method, path in ROUTES:
        for name, header in headers.items():
            response = await world.call(None, method, path, header=header if header else None)
            assert response.status_code == 401, (method, path, name, response.text)
            assert "error" in response.json()
        # The same request with valid data gets past the check.
        ok = await world.call(OWNER, method, path, json={})
        assert ok.status_code != 401, (method, path, ok.text)


async def test_init_data_just_under_a_day_old_is_accepted(world) -> None:
    now = int(world.clock().timestamp())
    fresh = world.init_data(OWNER, auth_date=now - 24 * 3600 + 60)
    response = await world.call(None, "GET", "/app/api/me", header="tma " + fresh)
    assert response.status_code == 200
    assert response.json()["user_id"] == OWNER
