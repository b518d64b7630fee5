"""One-tap Buy (``[card].buy_button = "login_url"``): the card's Buy button is a login_url
button; a correctly signed login is a tap, a click and a 302; a forged or stale one is 403
with nothing recorded."""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlencode

import httpx
from sqlalchemy import func, select

from bot.storage.models import Click, Link, Tap, User
from tests.support.flow import buttons, command_reply, post_card
from tests.support.world import FEED

PROMOTER, MEMBER = 101, 202


def telegram_signed(fields: dict[str, str], token: str) -> dict[str, str]:
    """Login data as Telegram signs it, written here independently of bot/domain."""
    check = "\n".join(f"{k}={fields[k]}" for k in sorted(fields))
    key = hashlib.sha256(token.encode()).digest()
    return dict(fields, hash=hmac.new(key, check.encode(), hashlib.sha256).hexdigest())


def counts(kocbot) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    with kocbot.db.transaction() as session:
        return tuple(session.scalar(select(func.count()).select_from(m)) for m in (Tap, Click, Link))


async def test_one_tap_accepts_signed_and_refuses_forged_or_stale(emulator, kocbot_factory, clock) -> None:
    emu = emulator
    kocbot = await kocbot_factory(config={"card": {"buy_button": "login_url"}}, run_scheduler=False)
    kocbot.services.catalog.import_feed(FEED, filename="feed.csv")
    emu.add_user(PROMOTER, "Promo")
    emu.add_user(MEMBER, "Mei")
    await command_reply(emu, user=PROMOTER, chat_id=PROMOTER, text="/start")
    chat = emu.create_group("One Tap Club", admins=[PROMOTER], members=[MEMBER])
    emu.add_bot_to_group(chat, PROMOTER)
    await emu.wait_for(lambda: emu.sent(chat_id=chat), timeout=10)
    card = await post_card(emu, kocbot, admin=PROMOTER, chat_id=chat, sku="SKU1")
    buy = buttons(card)[0]
    assert "callback_data" not in buy
    url = buy["login_url"]["url"]
    assert url.startswith(f"{kocbot.config.web.public_url}/b/")

    now = int(clock().timestamp())
    fresh = {"id": str(MEMBER), "first_name": "Mei", "username": "mei", "auth_date": str(now - 60)}
    token = kocbot.config.telegram.token
    async with httpx.AsyncClient() as client:
        async def get(params: dict[str, str]) -> httpx.Response:
            return await client.get(f"{url}?{urlencode(params)}", follow_redirects=False)

        refused = {
            "forged": dict(telegram_signed(fresh, token), id="303"),
            "wrong token": telegram_signed(fresh, "654321:OTHER-TOKEN"),
            "no hash": fresh,
            "stale": telegram_signed(dict(fresh, auth_date=str(now - 86400 - 5)), token),
        }
        for name, params in refused.items():
            response = await get(params)
            assert response.status_code == 403, name
            assert "Please tap Buy again" in response.text, name
        await kocbot.clicks.flush()
        assert counts(kocbot) == (0, 0, 0)
        with kocbot.db.transaction() as session:
            assert session.get(User, MEMBER) is None and session.get(User, 303) is None

        response = await get(telegram_signed(fresh, token))
        assert response.status_code == 302
        location = response.headers["location"]
        assert location.startswith("https://shop.example/p/1?subid=")
        # the same member again: one link per (member, post), a second tap and click
        assert (await get(telegram_signed(fresh, token))).status_code == 302
    await kocbot.clicks.flush()
    assert counts(kocbot) == (2, 2, 1)
    with kocbot.db.transaction() as session:
        link = session.scalars(select(Link)).one()
        assert (link.user_id, link.promoter_id) == (MEMBER, PROMOTER)
        assert location.rsplit("=", 1)[1] in set(session.scalars(select(Click.id)))
