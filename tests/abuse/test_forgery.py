"""Forged or replayed callback data, deep links and postbacks; hostile documents; floods."""

from __future__ import annotations

import asyncio
import os

import httpx
from sqlalchemy import func, select

from bot.storage.models import Group, LedgerEntry, Link, Order, Product, Tap
from tests.support.config import ADMIN_ID
from tests.support.flow import buttons, click, feed_csv, post_card, postback, sign, subid, tap_buy

OWNER, MEMBER, OTHER = 101, 401, 402
FEED = feed_csv("acme,S1,Thermos,https://shop.example/1,39.00,59.00,10%,home,,,,,,CNY")


def counts(kb) -> tuple[int, ...]:
    with kb.db.transaction() as session:
        return tuple(session.scalar(select(func.count(m.id))) or 0
                     for m in (Tap, Link, Order, LedgerEntry, Product))


async def setup_card(emu, kb):
    kb.services.catalog.import_feed(FEED, filename="feed.csv")
    for uid in (OWNER, MEMBER, OTHER, ADMIN_ID):
        emu.add_user(uid, f"U{uid}", language_code="en")
    emu.send_command(OWNER, OWNER, "/start")
    await emu.wait_for(lambda: emu.sent(chat_id=OWNER), timeout=10)
    chat = emu.create_group("Forgery", admins=[OWNER], members=[MEMBER, OTHER])
    emu.add_bot_to_group(chat, OWNER)
    await emu.wait_for(lambda: emu.sent(chat_id=chat), timeout=10)
    return chat, await post_card(emu, kb, admin=OWNER, chat_id=chat, sku="S1")


async def test_forged_callback_data_changes_nothing(emulator, kocbot) -> None:
    emu, kb = emulator, kocbot
    chat, card = await setup_card(emu, kb)
    before = counts(kb)
    for data in ("buy:AAAAAAAAAAAAAAAA", "buy:", "sbuy:zzzzzzzzzzzzzzzz", "gl:999999", "gl:-1", "pk:abc",
                 "dp:99999999999999999999", "x" * 64, "buy:' OR 1=1 --", ":", "é"):
        query = emu.forge_callback(MEMBER, card, data)
        answer = await emu.wait_callback_answer(query, timeout=10)
        assert "url" not in answer, (data, answer)
        assert "went wrong" not in (answer.get("text") or ""), (data, answer)
    assert counts(kb) == before


async def test_replayed_buy_tap_reuses_the_link(emulator, kocbot) -> None:
    emu, kb = emulator, kocbot
    chat, card = await setup_card(emu, kb)
    first = await tap_buy(emu, member=MEMBER, card=card)
    again = await tap_buy(emu, member=MEMBER, card=card)
    assert first == again
    with kb.db.transaction() as session:
        assert session.scalar(select(func.count(Link.id))) == 1


async def test_forged_deep_links(emulator, kocbot) -> None:
    emu, kb = emulator, kocbot
    chat, _ = await setup_card(emu, kb)
    before = counts(kb)
    for payload in ("l_AAAAAAAAAAAAAAAA", "l_", "g_nope", "r_nope", "x" * 64, "l_-_-_-"):
        n = len(emu.sent(chat_id=OTHER))
        emu.open_start_link(OTHER, payload)
        await emu.wait_for(lambda n=n: len(emu.sent(chat_id=OTHER)) > n, timeout=10)
        text = emu.sent(chat_id=OTHER)[-1].get("text", "")
        assert "went wrong" not in text and "Traceback" not in text, (payload, text)
        assert "http://127.0.0.1" not in text
    assert counts(kb) == before
    with kb.db.transaction() as session:
        assert session.scalar(select(Group.owner_id)) == OWNER


async def test_claim_link_needs_a_group_admin(emulator, kocbot) -> None:
    emu, kb = emulator, kocbot
    kb.services.catalog.import_feed(FEED, filename="feed.csv")
    for uid in (OWNER, MEMBER):
        emu.add_user(uid, f"U{uid}", language_code="en")
    chat = emu.create_group("Unclaimed", admins=[OWNER], members=[MEMBER])
    emu.add_bot_to_group(chat, OWNER)  # the owner never started the bot: a claim link is posted
    await emu.wait_for(lambda: emu.sent(chat_id=chat), timeout=10)
    claim_url = buttons(emu.sent(chat_id=chat)[0])[0]["url"]
    assert "?start=g_" in claim_url
    emu.open_start_link(MEMBER, claim_url)
    await emu.wait_for(lambda: emu.sent(chat_id=MEMBER), timeout=10)
    assert "administrator" in emu.sent(chat_id=MEMBER)[-1]["text"]
    with kb.db.transaction() as session:
        assert session.scalar(select(Group.claimed)) is False
    emu.open_start_link(OWNER, claim_url)
    await emu.wait_for(lambda: emu.sent(chat_id=OWNER), timeout=10)
    assert "is now yours" in emu.sent(chat_id=OWNER)[-1]["text"]
    with kb.db.transaction() as session:
        assert session.scalar(select(Group.owner_id)) == OWNER


async def test_forged_and_replayed_postbacks(emulator, kocbot) -> None:
    emu, kb = emulator, kocbot
    chat, card = await setup_card(emu, kb)
    url = await tap_buy(emu, member=MEMBER, card=card)
    _, location = await click(url)
    click_id = subid(location)
    await kb.clicks.flush()
    fields = {"click_id": click_id, "order_id": "F-1", "amount": "39.00", "status": "pending"}
    forged = await postback(kb, fields, secret="guessed")
    assert forged.status_code == 401
    assert counts(kb)[2] == 0
    ok = await postback(kb, fields)
    assert ok.status_code == 200
    ledger = counts(kb)
    replay = await postback(kb, fields)
    assert replay.status_code == 200 and "repeated" in replay.json()["reason"]
    assert counts(kb) == ledger
    tampered = dict(fields, amount="3900.00")
    body = dict(fields, sig=sign(fields), amount="3900.00")
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{kb.config.web.public_url}/postback", data=body)
    assert response.status_code == 401 and tampered["amount"] != fields["amount"]
    assert counts(kb) == ledger


async def test_hostile_documents_to_import(emulator, kocbot) -> None:
    emu, kb = emulator, kocbot
    emu.add_user(ADMIN_ID, "Admin", language_code="en")
    emu.add_user(OTHER, "Other", language_code="en")
    for uid in (ADMIN_ID, OTHER):
        emu.send_command(uid, uid, "/start")
    await emu.wait_for(lambda: emu.sent(chat_id=ADMIN_ID) and emu.sent(chat_id=OTHER), timeout=10)
    before = counts(kb)
    cases = [
        (ADMIN_ID, "feed.csv", os.urandom(4096)),
        (ADMIN_ID, "feed.json", b"\x00\x01\x02{[[[["),
        (ADMIN_ID, "feed.json", b"[" * 100_000),
        (ADMIN_ID, "huge.csv", b"merchant,sku\n" + b"a,b\n" * (6 * 1024 * 1024)),
        (OTHER, "feed.csv", FEED),
    ]
    for user, name, data in cases:
        n = len(emu.sent(chat_id=user))
        emu.send_document(user, user, name, data, caption="/import")
        await emu.wait_for(lambda u=user, n=n: len(emu.sent(chat_id=u)) > n, timeout=30)
        text = emu.sent(chat_id=user)[-1]["text"]
        assert "went wrong" not in text and "Traceback" not in text, (name, text)
        assert "0 new" in text or "⚠️" in text or "Only platform admins" in text, (name, text)
    assert counts(kb) == before


async def test_a_command_flood_is_throttled(emulator, kocbot) -> None:
    emu = emulator
    kocbot.throttle.clock = lambda: 0.0  # time stands still: no tokens come back during the flood
    emu.add_user(OTHER, "Flood", language_code="en")
    for _ in range(200):
        emu.send_command(OTHER, OTHER, "/help")
    await emu.wait_for(lambda: not emu.pending_updates, timeout=30)
    await emu.wait_for(lambda: len(emu.sent(chat_id=OTHER)) >= kocbot.throttle.burst, timeout=30)
    await asyncio.sleep(0.5)
    assert len(emu.sent(chat_id=OTHER)) == kocbot.throttle.burst  # 20 served, 180 dropped
