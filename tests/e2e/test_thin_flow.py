"""The whole thin flow through the Bot API emulator, with python-telegram-bot's real HTTP client,
a real database, the real web server and real Pillow renders."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.storage.models import LedgerEntry, Order
from tests.support.flow import click, command_reply, feed_csv, post_card, postback, subid, tap_buy

PROMOTER, MEMBER = 101, 202
FEED = feed_csv(
    "acme,SKU1,保温杯 Thermos 500ml,https://shop.example/p/1?ref=x,39.00,59.00,10%,home,,,,100,,CNY",
    "acme,SKU2,Wireless earbuds,https://shop.example/p/2,99.00,199.00,0.08,tech,,,,,,CNY",
)


async def test_thin_flow_books_the_exact_split(emulator, kocbot) -> None:
    emu = emulator
    result = kocbot.services.catalog.import_feed(FEED, filename="feed.csv")
    assert (result.created, result.errors) == (2, [])

    emu.add_user(PROMOTER, "Promo", language_code="en")
    emu.add_user(MEMBER, "Mei", language_code="en")
    welcome = await command_reply(emu, user=PROMOTER, chat_id=PROMOTER, text="/start")
    assert "registered as a promoter" in welcome["text"]

    chat = emu.create_group("Deals Club", admins=[PROMOTER], members=[MEMBER])
    emu.add_bot_to_group(chat, PROMOTER)
    await emu.wait_for(lambda: emu.sent(chat_id=chat), timeout=10)
    assert "I will post deals here" in emu.sent(chat_id=chat)[0]["text"]

    card = await post_card(emu, kocbot, admin=PROMOTER, chat_id=chat, sku="SKU1")
    assert "保温杯" in card["caption"]
    assert "¥39.00" in card["caption"]
    labels = [b["text"] for row in card["reply_markup"]["inline_keyboard"] for b in row]
    assert labels[0] == "🛒 Buy ¥39.00"
    assert card["reply_markup"]["inline_keyboard"][0][1]["switch_inline_query"] == "SKU1"

    url = await tap_buy(emu, member=MEMBER, card=card)
    assert url.startswith(f"{kocbot.config.web.public_url}/c/")
    status, location = await click(url, **{"user-agent": "Mozilla/5.0"})
    assert status == 302
    assert location.startswith("https://shop.example/p/1?ref=x&subid=")
    click_id = subid(location)
    await kocbot.clicks.flush()

    response = await postback(kocbot, {"click_id": click_id, "order_id": "A-1", "amount": "39.00",
                                   "status": "pending"})
    assert response.status_code == 200, response.text
    response = await postback(kocbot, {"click_id": click_id, "order_id": "A-1", "amount": "39.00",
                                   "status": "confirmed"})
    assert response.status_code == 200, response.text

    with kocbot.db.transaction() as session:
        order = session.scalars(select(Order)).one()
        assert (order.pool, order.promoter_id, order.buyer_id) == (390, PROMOTER, MEMBER)
        held = dict(session.execute(
            select(LedgerEntry.party, func.sum(LedgerEntry.amount))
            .where(LedgerEntry.bucket == "confirmed").group_by(LedgerEntry.party)).all())
        assert held == {"platform": 39, "promoter": 351}
        assert session.scalar(select(func.sum(LedgerEntry.amount))) == 390

    commission = await command_reply(emu, user=PROMOTER, chat_id=PROMOTER, text="/commission")
    assert "Confirmed: ¥3.51" in commission["text"]
    assert "Clicks: 1" in commission["text"]
    report = await command_reply(emu, user=PROMOTER, chat_id=chat, text="/report")
    assert "Mei · 1 · 1 · ¥39.00 · ¥3.90" in report["text"]
    assert "platform ¥0.39" in report["text"] and "promoter ¥3.51" in report["text"]
    await emu.wait_for(lambda: emu.sent(chat_id=chat, method="sendPhoto")[-1] is not card, timeout=10)
