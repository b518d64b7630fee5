"""What the bot says, through the emulator: one-line errors, hints instead of silence, /help's
command lines, times in the group's zone, and /payout by @username."""

from __future__ import annotations

import asyncio

from bot.domain.postback import OrderReport
from tests.support.config import ADMIN_ID
from tests.support.flow import click, command_reply, post_card, postback, subid, tap_buy
from tests.support.world import FEED, make_services

OWNER, MEMBER, TWIN_A, TWIN_B = 101, 202, 303, 304


async def setup_group(emu, kocbot):  # type: ignore[no-untyped-def]
    kocbot.services.catalog.import_feed(FEED, filename="feed.csv")
    emu.add_user(OWNER, "Olga", username="olga_deals")
    emu.add_user(MEMBER, "Mei", language_code="zh-hans")
    emu.add_user(ADMIN_ID, "Admin")
    await command_reply(emu, user=OWNER, chat_id=OWNER, text="/start")
    chat = emu.create_group("Olga's Deals", admins=[OWNER], members=[MEMBER])
    emu.add_bot_to_group(chat, OWNER)
    await emu.wait_for(lambda: emu.sent(chat_id=chat), timeout=10)
    return chat


async def test_bad_schedule_is_one_line(emulator, kocbot_factory) -> None:
    emu = emulator
    kocbot = await kocbot_factory(run_scheduler=False)
    chat = await setup_group(emu, kocbot)
    answer = (await command_reply(emu, user=OWNER, chat_id=chat, text="/schedule 25:99"))["text"]
    assert answer == ("⚠️ '25:99' is not a time like 09:00 or 20:30 · "
                      "Usage: /schedule 09:00 12:30 20:00 · /schedule off")
    ok = (await command_reply(emu, user=OWNER, chat_id=chat, text="/schedule 10:00"))["text"]
    assert ok == "Posting times: 10:00 (Asia/Shanghai)"


async def test_private_text_and_files_get_a_hint_and_groups_stay_quiet(emulator, kocbot_factory) -> None:
    emu = emulator
    kocbot = await kocbot_factory(run_scheduler=False)
    chat = await setup_group(emu, kocbot)

    async def answer_to_document(user: int, caption: str | None) -> str:
        before = len(emu.sent(chat_id=user))
        emu.send_document(user, user, "feed.csv", FEED, caption=caption)
        await emu.wait_for(lambda: len(emu.sent(chat_id=user)) > before, timeout=10)
        return emu.sent(chat_id=user)[before]["text"]

    text = (await command_reply(emu, user=OWNER, chat_id=OWNER, text="hello, what can you do?"))["text"]
    assert text == "I answer commands: /deals to browse deals, /help for the rest."
    zh = (await command_reply(emu, user=MEMBER, chat_id=MEMBER, text="你好"))["text"]
    assert zh == "我只回应命令：/deals 浏览优惠，/help 查看全部命令。"
    unknown = (await command_reply(emu, user=OWNER, chat_id=OWNER, text="/balance now"))["text"]
    assert unknown == "I don't know /balance. /help lists my commands."
    hint = ("To import this file, send it again with the caption /import (a product feed) "
            "or /orders (an order CSV).")
    assert await answer_to_document(ADMIN_ID, None) == hint
    assert await answer_to_document(ADMIN_ID, "here is the feed") == hint
    assert await answer_to_document(OWNER, None) == text  # not an admin: the general hint
    # The hint did not swallow the real thing: a captioned feed still imports.
    assert (await answer_to_document(ADMIN_ID, "/import")).startswith("📦 Import: 3 rows")

    # In a group, chatter and files are the members' business: no answer.
    before = len(emu.sent(chat_id=chat))
    emu.send_message(MEMBER, chat, "anyone tried the thermos?")
    emu.send_document(OWNER, chat, "photo-list.csv", b"a,b\n1,2\n")
    await emu.wait_for(lambda: not emu.pending_updates, timeout=10)
    await asyncio.sleep(0.5)
    assert len(emu.sent(chat_id=chat)) == before


async def test_help_puts_arguments_before_the_dash(emulator, kocbot_factory) -> None:
    emu = emulator
    await kocbot_factory(run_scheduler=False)
    emu.add_user(ADMIN_ID, "Admin")
    emu.add_user(MEMBER, "Mei", language_code="zh-hans")
    admin_help = (await command_reply(emu, user=ADMIN_ID, chat_id=ADMIN_ID, text="/help"))["text"]
    lines = admin_help.splitlines()
    assert "/feature <sku> — feature a deal" in lines
    assert "/payout <user_id|@username> <amount> — record a payout" in lines
    assert "/stats [7d|30d|all] — platform totals" in lines
    assert "/deals [words] — browse deals" in lines
    assert not [line for line in lines if "— <" in line or "— [" in line]
    member_help = (await command_reply(emu, user=MEMBER, chat_id=MEMBER, text="/help"))["text"]
    assert "/deals [关键词] — 浏览优惠" in member_help.splitlines()


async def test_groups_and_next_post_are_in_the_group_time_zone(emulator, kocbot_factory, clock) -> None:
    emu = emulator
    kocbot = await kocbot_factory(run_scheduler=False)
    chat = await setup_group(emu, kocbot)
    changed = (await command_reply(emu, user=OWNER, chat_id=chat, text="/timezone Europe/Berlin"))["text"]
    # The test clock is 2026-11-24 01:00 UTC, 02:00 in Berlin: the next 09:00 there is today.
    assert changed == "Time zone: Europe/Berlin. Next post: 2026-11-24 09:00 Europe/Berlin."
    await post_card(emu, kocbot, admin=OWNER, chat_id=chat, sku="SKU1")
    groups = (await command_reply(emu, user=OWNER, chat_id=OWNER, text="/groups"))["text"]
    assert "09:00 20:00 (Europe/Berlin) — last post: 2026-11-24 02:00" in groups
    assert "UTC" not in groups


async def test_payout_by_username(emulator, kocbot_factory, clock) -> None:
    emu = emulator
    kocbot = await kocbot_factory(run_scheduler=False)
    chat = await setup_group(emu, kocbot)
    card = await post_card(emu, kocbot, admin=OWNER, chat_id=chat, sku="SKU3")
    url = await tap_buy(emu, member=MEMBER, card=card)
    click_id = subid((await click(url, **{"user-agent": "Mozilla/5.0"}))[1])
    await kocbot.clicks.flush()
    response = await postback(kocbot, {"click_id": click_id, "order_id": "U1", "amount": "1000.00",
                                   "status": "confirmed"})
    assert response.status_code == 200, response.text
    clock.advance(days=16)
    kocbot.services.orders.settle()

    async def payout(text: str) -> str:
        return (await command_reply(emu, user=ADMIN_ID, chat_id=ADMIN_ID, text=text))["text"]

    # Telegram usernames ignore case; the answer names both the username and the id.
    paid = await payout("/payout @Olga_Deals 10.00")
    assert paid.startswith(f"💸 Paid ¥10.00 to @olga_deals ({OWNER}). Settled balance left: ¥")
    assert (await payout(f"/payout {OWNER} 10.00")).startswith(f"💸 Paid ¥10.00 to @olga_deals ({OWNER}).")
    assert await payout("/payout @nobody_here 10.00") == (
        "⚠️ no user @nobody_here has talked to the bot; use their numeric id")
    assert await payout("/payout @bad-name! 10.00") == (
        "⚠️ '@bad-name!' is neither a user id nor an @username")
    # A name that changed hands: the table holds it twice, so only the id is certain.
    emu.add_user(TWIN_A, "A", username="twin_name")
    emu.add_user(TWIN_B, "B", username="Twin_Name")
    for uid in (TWIN_A, TWIN_B):
        await command_reply(emu, user=uid, chat_id=uid, text="/start")
    assert await payout("/payout @twin_name 10.00") == (
        f"⚠️ @twin_name matches users {TWIN_A}, {TWIN_B}; use the numeric id")
    assert await payout("/payout olga 10") == "Usage: /payout <user_id|@username> <amount>"


async def test_report_and_stats_name_their_window_in_words(emulator, kocbot_factory) -> None:
    emu = emulator
    kocbot = await kocbot_factory(run_scheduler=False)
    chat = await setup_group(emu, kocbot)
    report = (await command_reply(emu, user=OWNER, chat_id=chat, text="/report all"))["text"]
    assert report.splitlines()[0] == "📊 Olga's Deals — all time"
    week = (await command_reply(emu, user=OWNER, chat_id=chat, text="/report 7d"))["text"]
    assert week.splitlines()[0] == "📊 Olga's Deals — last 7 days"
    stats = (await command_reply(emu, user=ADMIN_ID, chat_id=ADMIN_ID, text="/stats all"))["text"]
    assert stats.splitlines()[0] == "📈 Platform — all time"


async def test_stats_shows_money_booked_in_another_currency_apart(emulator, kocbot_factory, clock) -> None:
    """Orders booked in USD (after an operator changed [commission].currency) are never added
    to the CNY figures: /stats gives them a line of their own."""
    emu = emulator
    kocbot = await kocbot_factory(run_scheduler=False)
    chat = await setup_group(emu, kocbot)
    card = await post_card(emu, kocbot, admin=OWNER, chat_id=chat, sku="SKU2")
    url = await tap_buy(emu, member=MEMBER, card=card)
    first, second = [subid((await click(url))[1]) for _ in range(2)]
    await kocbot.clicks.flush()
    usd = make_services(kocbot.config.database.url, clock, commission={"currency": "USD"})
    for services, order, click_id, currency in ((kocbot.services, "A", first, "CNY"),
                                                (usd, "B", second, "USD")):
        outcome = services.orders.ingest(
            OrderReport(order_id=order, click_id=click_id, amount=10_000, status="confirmed",
                        commission=1_000, currency=currency, ts=None),
            source="csv", promoters=services.promoters)
        assert outcome.status == 200, outcome
    stats = (await command_reply(emu, user=ADMIN_ID, chat_id=ADMIN_ID, text="/stats all"))["text"]
    lines = stats.splitlines()
    assert "Orders: 2 · GMV: ¥100.00" in lines
    assert lines[-1] == ("Booked in USD (not in the figures above): GMV $100.00 · Commission: "
                         "platform $1.00, promoter $9.00")
    usd.db.dispose()
