"""A platform admin imports a feed by sending it to the bot with caption /import, through the
Bot API emulator; anyone else is refused and nothing changes."""

from __future__ import annotations

import json

from sqlalchemy import select

from bot.storage.models import Product
from tests.support.config import ADMIN_ID
from tests.support.flow import feed_csv

STRANGER = 303
FEED = feed_csv(
    "acme,A1,Thermos,https://shop.example/a1,39.00,59.00,10%,Home Goods,,,,100,,CNY",
    "acme,A2,Earbuds,https://shop.example/a2,free,199.00,0.08,tech,,,,,,CNY",
    "acme,A3,Lamp,https://shop.example/a3,20.00,10.00,5%,home,,,,,,CNY",
    "acme,A4,Kettle,ftp://shop.example/a4,20.00,30.00,5%,home,,,,,,CNY",
)


def skus(kocbot) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with kocbot.db.transaction() as session:
        return {p.sku: p.title for p in session.scalars(select(Product))}


async def send_feed(emu, user: int, name: str, data: bytes, caption: str) -> str:
    before = len(emu.sent(chat_id=user))
    emu.send_document(user, user, name, data, caption=caption)
    await emu.wait_for(lambda: len(emu.sent(chat_id=user)) > before, timeout=15)
    return emu.sent(chat_id=user)[-1]["text"]


async def test_admin_document_import_reports_counts_and_first_errors(emulator, kocbot) -> None:
    emu = emulator
    emu.add_user(ADMIN_ID, "Ada", language_code="en")
    emu.add_user(STRANGER, "Sam", language_code="en")
    emu.send_command(ADMIN_ID, ADMIN_ID, "/start")
    emu.send_command(STRANGER, STRANGER, "/start")
    # The welcomes first: send_feed reads the next message in the chat as the import's answer.
    await emu.wait_for(lambda: emu.sent(chat_id=ADMIN_ID) and emu.sent(chat_id=STRANGER), timeout=15)

    refused = await send_feed(emu, STRANGER, "feed.csv", FEED, "/import")
    assert refused == "Only platform admins can do that."
    assert skus(kocbot) == {}

    strict = await send_feed(emu, ADMIN_ID, "feed.csv", FEED, "/import --strict")
    assert strict.splitlines()[0] == "📦 Rejected (strict): 3 bad rows, nothing imported."
    assert skus(kocbot) == {}

    text = await send_feed(emu, ADMIN_ID, "feed.csv", FEED, "/import")
    assert text.splitlines() == [
        "📦 Import: 4 rows, 1 new, 0 updated, 3 errors.",
        "line 3: price must be a decimal number like 39.00, got 'free'",
        "line 4: original_price 10.00 is less than price 20.00",
        "line 5: url must be an http(s) URL with a host, got 'ftp://shop.example/a4'",
    ]
    assert skus(kocbot) == {"A1": "Thermos"}
    with kocbot.db.transaction() as session:
        assert session.scalars(select(Product.category)).one() == "home-goods"

    items = [{"merchant": "acme", "sku": "A1", "title": "Thermos 2", "url": "https://shop.example/a1",
              "price": "35.00", "original_price": "59.00"}]
    update = await send_feed(emu, ADMIN_ID, "update.json", json.dumps(items).encode(),
                             "/import --deactivate-missing")
    assert update.splitlines()[0] == "📦 Import: 1 rows, 0 new, 1 updated, 0 errors."
    assert skus(kocbot) == {"A1": "Thermos 2"}

    broken = await send_feed(emu, ADMIN_ID, "broken.csv", b"sku,title\nx,y\n", "/import")
    assert broken.startswith("⚠️ missing required columns merchant, url, price, original_price")
    assert "Traceback" not in broken
    assert skus(kocbot) == {"A1": "Thermos 2"}
