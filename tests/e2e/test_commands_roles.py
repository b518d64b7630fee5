"""Commands as each role sees them, through the emulator: /help per role and language,
/groups, /invite, /commission from a group, and the /orders admin document."""

from __future__ import annotations

import asyncio

from tests.support.config import ADMIN_ID
from tests.support.flow import buttons, click, command_reply, post_card, subid, tap_buy
from tests.support.world import FEED

OWNER, MEMBER, STRANGER = 101, 202, 303


async def test_roles_help_groups_invite_and_orders_document(emulator, kocbot_factory) -> None:
    emu = emulator
    kocbot = await kocbot_factory(run_scheduler=False)
    kocbot.services.catalog.import_feed(FEED, filename="feed.csv")
    emu.add_user(OWNER, "Olga")
    emu.add_user(MEMBER, "美美", language_code="zh-hans")
    emu.add_user(STRANGER, "Stan")
    emu.add_user(ADMIN_ID, "Admin")

    stranger_help = (await command_reply(emu, user=STRANGER, chat_id=STRANGER, text="/help"))["text"]
    assert "/commission" in stranger_help and "Send /start to register" in stranger_help
    assert "/payout" not in stranger_help and "/schedule" not in stranger_help
    admin_help = (await command_reply(emu, user=ADMIN_ID, chat_id=ADMIN_ID, text="/help"))["text"]
    assert "Platform admin" in admin_help and "/payout" in admin_help and "/orders" in admin_help

    await command_reply(emu, user=OWNER, chat_id=OWNER, text="/start")
    assert "You own no groups yet" in (await command_reply(emu, user=OWNER, chat_id=OWNER,
                                                           text="/groups"))["text"]
    chat = emu.create_group("Olga's Deals", admins=[OWNER], members=[MEMBER, STRANGER])
    emu.add_bot_to_group(chat, OWNER)
    await emu.wait_for(lambda: emu.sent(chat_id=chat), timeout=10)
    owner_help = (await command_reply(emu, user=OWNER, chat_id=OWNER, text="/help"))["text"]
    assert "Group admins" in owner_help and "/schedule" in owner_help and "/payout" not in owner_help

    group_admin_help = (await command_reply(emu, user=OWNER, chat_id=chat, text="/help"))["text"]
    assert "/schedule" in group_admin_help and "/report" in group_admin_help
    member_help = (await command_reply(emu, user=MEMBER, chat_id=chat, text="/help"))["text"]
    assert "点击优惠卡片" in member_help and "/commission" in member_help
    assert "/schedule" not in member_help

    card = await post_card(emu, kocbot, admin=OWNER, chat_id=chat, sku="SKU1")
    await command_reply(emu, user=OWNER, chat_id=chat, text="/pause")
    groups = (await command_reply(emu, user=OWNER, chat_id=OWNER, text="/groups"))["text"]
    assert "Olga's Deals" in groups and "09:00 20:00 (Asia/Shanghai) — paused" in groups
    assert "last post: 2026-11-24 09:00" in groups  # 01:00 UTC, in the group's Asia/Shanghai

    invite = (await command_reply(emu, user=OWNER, chat_id=OWNER, text="/invite"))["text"]
    assert f"https://t.me/{emu.bot_user['username']}?start=r_" in invite

    # A person pausing between commands, as people do (the bot drops floods of messages).
    await asyncio.sleep(3)
    # A member who never started the bot asks /commission in the group: a button to start.
    answer = await command_reply(emu, user=STRANGER, chat_id=chat, text="/commission")
    assert "Start a chat with me first" in answer["text"]
    assert buttons(answer)[0]["url"].startswith("https://t.me/")
    # The member taps Buy (which opens the private chat) and clicks; an admin imports orders.
    url = await tap_buy(emu, member=MEMBER, card=card)
    click_id = subid((await click(url, **{"user-agent": "Mozilla/5.0"}))[1])
    await kocbot.clicks.flush()
    data = ("order_id,click_id,amount,status,commission,ordered_at\n"
            f"D1,{click_id},39.00,confirmed,,\nD2,{click_id},oops,pending,,\n").encode()
    refused_before = len(emu.sent(chat_id=OWNER))
    emu.send_document(OWNER, OWNER, "orders.csv", data, caption="/orders")
    await emu.wait_for(lambda: len(emu.sent(chat_id=OWNER)) > refused_before, timeout=10)
    assert "Only platform admins" in emu.sent(chat_id=OWNER)[-1]["text"]
    before = len(emu.sent(chat_id=ADMIN_ID))
    emu.send_document(ADMIN_ID, ADMIN_ID, "orders.csv", data, caption="/orders")
    await emu.wait_for(lambda: len(emu.sent(chat_id=ADMIN_ID)) > before, timeout=10)
    summary = emu.sent(chat_id=ADMIN_ID)[-1]["text"]
    assert summary.startswith("🧾 Orders: 2 rows, 1 applied, 0 repeated, 0 unattributed, 1 errors.")
    assert "line 3: amount" in summary

    commission = (await command_reply(emu, user=OWNER, chat_id=OWNER, text="/commission"))["text"]
    assert "Confirmed: ¥3.51" in commission
    before = len(emu.sent(chat_id=OWNER))
    sent = await command_reply(emu, user=OWNER, chat_id=chat, text="/commission")
    assert sent["text"] == "📬 Sent to you in private."
    await emu.wait_for(lambda: len(emu.sent(chat_id=OWNER)) > before, timeout=10)
    assert "Confirmed: ¥3.51" in emu.sent(chat_id=OWNER)[-1]["text"]
    member = (await command_reply(emu, user=MEMBER, chat_id=MEMBER, text="/commission"))["text"]
    assert "待确认：¥0.00" in member
    for command, usage in (("/stats week", "Usage: /stats [7d|30d|all]"),
                           ("/payout x 1", "Usage: /payout <user_id|@username> <amount>")):
        assert (await command_reply(emu, user=ADMIN_ID, chat_id=ADMIN_ID, text=command))["text"] == usage
