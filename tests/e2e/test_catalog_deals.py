"""/deals in private (paging edits one message, Get link, Share, Pick), and curation end to end:
/feature, promoter picks and /categories decide what /post sends to a group."""

from __future__ import annotations

from sqlalchemy import select

from bot.storage.models import Group, Link
from tests.support.config import ADMIN_ID
from tests.support.flow import buttons, command_reply, feed_csv, post_card

PROMOTER, STRANGER = 601, 602
FEED = feed_csv(*(
    f"acme,D{i},Deal number {i},https://shop.example/d{i},{10 + i}.00,{40 + i}.00,10%,"
    f"{'tech' if i % 2 else 'home'},,,,,,CNY" for i in range(1, 8)
))


def texts_of(message: dict) -> list[str]:
    return [b["text"] for b in buttons(message)]


async def test_deals_pages_in_place_with_link_share_and_pick(emulator, kocbot) -> None:
    emu = emulator
    kocbot.services.catalog.import_feed(FEED, filename="feed.csv")
    emu.add_user(PROMOTER, "Pat", language_code="en")
    await command_reply(emu, user=PROMOTER, chat_id=PROMOTER, text="/start")

    page = await command_reply(emu, user=PROMOTER, chat_id=PROMOTER, text="/deals")
    assert page["text"].startswith("🔥 Deals (page 1)")
    assert "Deal number 1" in page["text"] and "Deal number 4" not in page["text"]
    first = buttons(page)[:3]
    assert [b["text"] for b in first] == ["1. 🔗 Get link", "📣 Share", "⭐ Pick for my groups"]
    assert first[1]["switch_inline_query"] == "D1"
    assert texts_of(page)[-1] == "Next ▶"

    count = len(emu.sent(chat_id=PROMOTER))
    query = emu.tap_button(PROMOTER, page, "dp:3")
    await emu.wait_callback_answer(query, timeout=10)
    await emu.wait_for(lambda: emu.sent(chat_id=PROMOTER)[-1]["text"].startswith("🔥 Deals (page 2)"),
                       timeout=10)
    assert len(emu.sent(chat_id=PROMOTER)) == count  # edited in place, not a new message
    page2 = emu.sent(chat_id=PROMOTER)[-1]
    assert page2["message_id"] == page["message_id"]
    assert "Deal number 4" in page2["text"] and texts_of(page2)[-2:] == ["◀ Prev", "Next ▶"]

    get_link = next(b["callback_data"] for b in buttons(page2) if b["text"] == "1. 🔗 Get link")
    answer = await emu.wait_callback_answer(emu.tap_button(PROMOTER, page2, get_link), timeout=10)
    emu.open_start_link(PROMOTER, answer["url"])
    await emu.wait_for(lambda: len(emu.sent(chat_id=PROMOTER)) > count, timeout=10)
    link_url = buttons(emu.sent(chat_id=PROMOTER)[-1])[0]["url"]
    assert link_url.startswith(f"{kocbot.config.web.public_url}/c/")
    with kocbot.db.transaction() as session:
        link = session.scalars(select(Link)).one()
        assert link.promoter_id == PROMOTER  # self-purchase: buy for yourself and save

    words = await command_reply(emu, user=PROMOTER, chat_id=PROMOTER, text="/deals number 7")
    assert "Deal number 7" in words["text"] and "Next ▶" not in texts_of(words)
    none = await command_reply(emu, user=PROMOTER, chat_id=PROMOTER, text="/deals nothing-like-it")
    assert none["text"] == "No deals match."


async def test_picks_featured_and_categories_decide_the_post(emulator, kocbot, clock) -> None:
    emu = emulator
    kocbot.services.catalog.import_feed(FEED, filename="feed.csv")
    emu.add_user(PROMOTER, "Pat", language_code="en")
    emu.add_user(ADMIN_ID, "Ada", language_code="en")
    emu.add_user(STRANGER, "Sam", language_code="en")
    await command_reply(emu, user=PROMOTER, chat_id=PROMOTER, text="/start")
    chat = emu.create_group("Pat's deals", admins=[PROMOTER], members=[STRANGER])
    emu.add_bot_to_group(chat, PROMOTER)
    await emu.wait_for(lambda: emu.sent(chat_id=chat), timeout=10)

    # Pat picks D6 (page 2, second deal) from /deals.
    page = await command_reply(emu, user=PROMOTER, chat_id=PROMOTER, text="/deals D6")
    answer = await emu.wait_callback_answer(emu.tap_button(PROMOTER, page, buttons(page)[2]
                                                           ["callback_data"]), timeout=10)
    assert answer["text"] == "Picked: it goes first in your groups."
    card = await post_card(emu, kocbot, admin=PROMOTER, chat_id=chat)
    assert "Deal number 6" in card["caption"]

    refused = await command_reply(emu, user=STRANGER, chat_id=STRANGER, text="/feature D3")
    assert refused["text"] == "Only platform admins can do that."
    done = await command_reply(emu, user=ADMIN_ID, chat_id=ADMIN_ID, text="/feature D3")
    assert done["text"] == "⭐ D3 is featured."
    clock.advance(minutes=2)  # posts to one group are at least a minute apart
    card = await post_card(emu, kocbot, admin=PROMOTER, chat_id=chat)
    assert "Deal number 3" in card["caption"]  # featured goes before picks
    missing = await command_reply(emu, user=ADMIN_ID, chat_id=ADMIN_ID, text="/feature NOPE")
    assert missing["text"] == "⚠️ no product with sku 'NOPE'"
    await command_reply(emu, user=ADMIN_ID, chat_id=ADMIN_ID, text="/unfeature D3")

    # Only home deals from now on; D3 and D6 were just posted, so never again within the window.
    shown = await command_reply(emu, user=PROMOTER, chat_id=chat, text="/categories Home")
    assert shown["text"] == "Categories: home"
    posted = set()
    for _ in range(2):
        clock.advance(minutes=2)
        card = await post_card(emu, kocbot, admin=PROMOTER, chat_id=chat)
        posted.add(card["caption"].split("\n")[0])
    assert posted == {"Deal number 2", "Deal number 4"}
    with kocbot.db.transaction() as session:
        assert session.scalars(select(Group.categories)).one() == "home"
