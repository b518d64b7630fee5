"""Steps of the user flow, driven through the emulator, shared by the end-to-end tests."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.support.config import POSTBACK_SECRET

FEED_HEADER = ("merchant,sku,title,url,price,original_price,commission_rate,category,image_url,"
               "starts_at,ends_at,stock,featured,currency\n")


def feed_csv(*rows: str) -> bytes:
    """A product feed with the standard header."""
    return (FEED_HEADER + "\n".join(rows) + "\n").encode()


def sign(fields: dict[str, str], secret: str = POSTBACK_SECRET) -> str:
    """The postback signature, computed independently of the code under test."""
    text = "&".join(f"{k}={fields[k]}" for k in sorted(fields))
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    markup = message.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


async def post_card(emu, kocbot, *, admin: int, chat_id: int, sku: str | None = None) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A group admin sends /post; returns the card the bot posted."""
    before = len(emu.sent(chat_id=chat_id, method="sendPhoto"))
    emu.send_command(admin, chat_id, f"/post {sku}" if sku else "/post")
    await emu.wait_for(lambda: len(emu.sent(chat_id=chat_id, method="sendPhoto")) > before, timeout=15)
    # The sender records successes in small batches: wait until this one is recorded, so a
    # test that moves the clock on does not find the post still "sending".
    await emu.wait_for(lambda: not _sending(kocbot), timeout=15)
    return emu.sent(chat_id=chat_id, method="sendPhoto")[-1]


def _sending(kocbot) -> bool:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from bot.storage.models import Post

    with kocbot.db.transaction() as session:
        return bool(session.scalar(select(func.count(Post.id)).where(Post.status == "sending")))


async def tap_buy(emu, *, member: int, card: dict[str, Any]) -> str:
    """Tap Buy; open the deep link; return the tracked-link URL from the private reply."""
    buy = buttons(card)[0]
    query_id = emu.tap_button(member, card, buy["callback_data"])
    answer = await emu.wait_callback_answer(query_id, timeout=10)
    before = len(emu.sent(chat_id=member))
    emu.open_start_link(member, answer["url"])
    await emu.wait_for(lambda: len(emu.sent(chat_id=member)) > before, timeout=10)
    reply = emu.sent(chat_id=member)[-1]
    return buttons(reply)[0]["url"]


async def click(url: str, **headers: str) -> tuple[int, str]:
    """GET the tracked link without following; returns status and Location."""
    async with httpx.AsyncClient() as client:
        response = await client.get(url, headers=headers, follow_redirects=False)
    return response.status_code, response.headers.get("location", "")


def subid(location: str, param: str = "subid") -> str:
    return parse_qs(urlsplit(location).query)[param][0]


async def postback(kocbot, fields: dict[str, str], *, secret: str = POSTBACK_SECRET) -> httpx.Response:  # type: ignore[no-untyped-def]
    """A signed order postback to the running web server."""
    body = dict(fields)
    body["sig"] = sign(fields, secret)
    async with httpx.AsyncClient() as client:
        return await client.post(f"{kocbot.config.web.public_url}/postback", data=body)


async def command_reply(emu, *, user: int, chat_id: int, text: str, timeout: float = 10) -> dict[str, Any]:
    """Send a command and return the bot's next message in that chat."""
    before = len(emu.sent(chat_id=chat_id))
    emu.send_command(user, chat_id, text)
    await emu.wait_for(lambda: len(emu.sent(chat_id=chat_id)) > before, timeout=timeout)
    return emu.sent(chat_id=chat_id)[before]
