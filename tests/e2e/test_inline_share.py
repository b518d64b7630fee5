"""Inline sharing end to end: @bot words → results → choose → a member taps Buy under the shared
card → personal link → click on the running web server → signed postback → commission to the
sharer."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from bot.storage.models import LedgerEntry, Link, Order, Share
from tests.support.flow import (
    buttons,
    click,
    command_reply,
    feed_csv,
    post_card,
    postback,
    subid,
)

SHARER, MEMBER, OWNER = 501, 502, 503
FEED = feed_csv(
    "acme,TH1,Thermos 500ml,https://shop.example/p/1,39.00,59.00,10%,home,,,,100,,CNY",
    "acme,TH2,Thermos 1L,https://shop.example/p/2,59.00,99.00,10%,home,,,,100,,CNY",
    "acme,EB1,Wireless earbuds,https://shop.example/p/3,99.00,199.00,0.08,tech,,,,,,CNY",
    "acme,OLD,Sold out thermos,https://shop.example/p/4,9.00,19.00,10%,home,,,,0,,CNY",
)


async def answer(emu, user: int, words: str) -> tuple[str, list[dict]]:
    query_id = emu.inline_query(user, words)
    await emu.wait_for(lambda: query_id in emu.inline_answers, timeout=10)
    return query_id, emu.inline_answers[query_id]["results"]


async def test_inline_share_credits_the_sharer(emulator, kocbot) -> None:
    emu = emulator
    kocbot.services.catalog.import_feed(FEED, filename="feed.csv")
    for user, name in ((SHARER, "Sara"), (MEMBER, "Mei"), (OWNER, "Olga")):
        emu.add_user(user, name, language_code="en")
    await command_reply(emu, user=SHARER, chat_id=SHARER, text="/start")

    query_id, results = await answer(emu, SHARER, "thermos")
    assert len(results) == 2  # the sold-out one is not offered
    first = results[0]
    assert first["type"] == "photo"  # no card uploaded yet: the bot's own card URL
    assert first["photo_url"] == f"{kocbot.config.web.public_url}/card/1.jpg"
    assert "Thermos 500ml" in first["caption"] and "¥39.00" in first["caption"]
    async with httpx.AsyncClient() as client:  # the fallback URL really serves the card
        image = await client.get(first["photo_url"])
    assert (image.status_code, image.headers["content-type"]) == (200, "image/jpeg")
    assert image.content[:3] == b"\xff\xd8\xff"
    buy, share = buttons(first)
    assert buy["text"] == "🛒 Buy ¥39.00" and share["switch_inline_query"] == "TH1"
    assert buy["callback_data"] == f"sbuy:{first['id']}"

    chat = emu.create_group("Friends", admins=[SHARER], members=[MEMBER])
    message = emu.choose_inline_result(SHARER, query_id, first["id"], chat)
    assert message["via_bot"]["username"] == emu.bot_user["username"]
    inline_id = emu.inline_message_id(message)
    await emu.wait_for(lambda: _chosen(kocbot, first["id"]) is not None, timeout=10)
    with kocbot.db.transaction() as session:
        share_row = session.scalars(select(Share).where(Share.code == first["id"])).one()
    assert (share_row.sharer_id, _chosen(kocbot, first["id"])) == (SHARER, inline_id)

    # The member taps Buy under Sara's card: the link is hers to earn from.
    tap = emu.tap_button(MEMBER, message, buy["callback_data"])
    start_url = (await emu.wait_callback_answer(tap, timeout=10))["url"]
    assert start_url.startswith(f"https://t.me/{emu.bot_user['username']}?start=l_")
    before = len(emu.sent(chat_id=MEMBER))
    emu.open_start_link(MEMBER, start_url)
    await emu.wait_for(lambda: len(emu.sent(chat_id=MEMBER)) > before, timeout=10)
    url = buttons(emu.sent(chat_id=MEMBER)[-1])[0]["url"]
    with kocbot.db.transaction() as session:
        link = session.scalars(select(Link).where(Link.user_id == MEMBER)).one()
        assert (link.promoter_id, link.share_id, link.group_id) == (SHARER, share_row.id, None)

    status, location = await click(url, **{"user-agent": "Mozilla/5.0"})
    assert status == 302 and location.startswith("https://shop.example/p/1?subid=")
    click_id = subid(location)
    await kocbot.clicks.flush()
    for state in ("pending", "confirmed"):
        response = await postback(kocbot, {"click_id": click_id, "order_id": "IN-1", "amount": "39.00",
                                       "status": state})
        assert response.status_code == 200, response.text

    with kocbot.db.transaction() as session:
        order = session.scalars(select(Order)).one()
        assert (order.pool, order.promoter_id, order.buyer_id) == (390, SHARER, MEMBER)
        confirmed = {(party, user): amount for party, user, amount in session.execute(
            select(LedgerEntry.party, LedgerEntry.user_id, func.sum(LedgerEntry.amount))
            .where(LedgerEntry.bucket == "confirmed")
            .group_by(LedgerEntry.party, LedgerEntry.user_id))}
        assert confirmed == {("platform", None): 39, ("promoter", SHARER): 351}
    text = (await command_reply(emu, user=SHARER, chat_id=SHARER, text="/commission"))["text"]
    assert "Confirmed: ¥3.51" in text and "Clicks: 1" in text


async def test_inline_results_reuse_the_cached_card(emulator, kocbot) -> None:
    emu = emulator
    kocbot.services.catalog.import_feed(FEED, filename="feed.csv")
    emu.add_user(OWNER, "Olga", language_code="en")
    emu.add_user(SHARER, "Sara", language_code="en")
    await command_reply(emu, user=OWNER, chat_id=OWNER, text="/start")
    chat = emu.create_group("Deals", admins=[OWNER])
    emu.add_bot_to_group(chat, OWNER)
    await emu.wait_for(lambda: emu.sent(chat_id=chat), timeout=10)
    card = await post_card(emu, kocbot, admin=OWNER, chat_id=chat, sku="TH1")
    file_id = card["photo"][-1]["file_id"]
    uploads = emu.uploads

    _, results = await answer(emu, SHARER, "TH1")
    assert [r["type"] for r in results] == ["photo"]
    assert results[0]["photo_file_id"] == file_id and "photo_url" not in results[0]

    _, everything = await answer(emu, SHARER, "")
    assert len(everything) == 3
    query_id, _ = await answer(emu, SHARER, "TH1")
    posted = emu.choose_inline_result(SHARER, query_id, results[0]["id"], SHARER)
    assert posted["photo"][-1]["file_id"] == file_id
    assert (posted["caption"], posted["caption_entities"]) == (card["caption"], card["caption_entities"])
    assert emu.uploads == uploads  # nothing uploaded again


def _chosen(kocbot, code: str) -> str | None:  # type: ignore[no-untyped-def]
    with kocbot.db.transaction() as session:
        share = session.scalars(select(Share).where(Share.code == code)).one()
        return share.inline_message_id if share.chosen_at else None
