"""Every command × every role: only the allowed ones act; the others get a short refusal and
change nothing. No reply may carry a traceback or the generic error message."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from bot.storage.models import Group, LedgerEntry, Payout, Post, Product, User
from tests.support.config import ADMIN_ID
from tests.support.flow import feed_csv

OWNER, PROMOTER, MEMBER, STRANGER = 101, 301, 401, 501
FEED = feed_csv(
    "acme,S1,Thermos,https://shop.example/1,39.00,59.00,10%,home,,,,,,CNY",
    "acme,S2,Tea,https://shop.example/2,59.00,99.00,12%,food,,,,,,CNY",
)


def snapshot(kocbot) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Everything a command could change."""
    with kocbot.db.transaction() as session:
        group = session.scalars(select(Group)).one()
        return {
            "group": (group.times, group.timezone, group.categories, group.paused, group.topic_id,
                      group.owner_id, group.active),
            "featured": sorted(session.scalars(select(Product.sku).where(Product.featured.is_(True)))),
            "products": session.scalar(select(func.count(Product.id))),
            "posts": session.scalar(select(func.count(Post.id))),
            "payouts": session.scalar(select(func.count(Payout.id))),
            "ledger": session.scalar(select(func.count(LedgerEntry.id))),
        }


async def say(emu, user: int, chat: int, text: str) -> str:
    """Send a command; return the bot's reply text (or caption) in that chat."""
    before = len(emu.sent(chat_id=chat))
    emu.send_command(user, chat, text)
    await emu.wait_for(lambda: len(emu.sent(chat_id=chat)) > before, timeout=10)
    message = emu.sent(chat_id=chat)[before]
    return message.get("text") or message.get("caption") or ""


@pytest.fixture
async def world(emulator, kocbot):  # type: ignore[no-untyped-def]
    emu = emulator
    kocbot.services.catalog.import_feed(FEED, filename="feed.csv")
    for uid, name in ((ADMIN_ID, "Admin"), (OWNER, "Owner"), (PROMOTER, "Pro"), (MEMBER, "Mem"),
                      (STRANGER, "Stranger")):
        emu.add_user(uid, name, language_code="en")
    for uid in (ADMIN_ID, OWNER, PROMOTER):
        await say(emu, uid, uid, "/start")
    chat = emu.create_group("Abuse Club", admins=[OWNER], members=[PROMOTER, MEMBER])
    emu.add_bot_to_group(chat, OWNER)
    await emu.wait_for(lambda: emu.sent(chat_id=chat), timeout=10)
    return emu, kocbot, chat


ADMIN_COMMANDS = ["/feature S1", "/unfeature S2", "/broadcast S1", "/stats", "/payout 101 10.00"]
GROUP_ADMIN_COMMANDS = ["/schedule 10:00", "/timezone Europe/Berlin", "/categories food", "/post S1",
                        "/pause", "/resume", "/topic off", "/report"]
REFUSALS = ("Only platform admins", "Only group admins", "Use this command")


def assert_clean(text: str) -> None:
    assert "Traceback" not in text and "Something went wrong" not in text, text


async def test_platform_admin_commands_refuse_everyone_else(world) -> None:  # type: ignore[no-untyped-def]
    emu, kocbot, chat = world
    for user in (OWNER, PROMOTER, STRANGER):
        for command in ADMIN_COMMANDS:
            before = snapshot(kocbot)
            reply = await say(emu, user, user, command)
            assert_clean(reply)
            assert "Only platform admins" in reply, (user, command, reply)
            assert snapshot(kocbot) == before, (user, command)
    # ...also inside a group, even from the platform admin's own account:
    emu.add_member(chat, ADMIN_ID)
    before = snapshot(kocbot)
    reply = await say(emu, ADMIN_ID, chat, "/feature S1")
    assert "private chat" in reply and snapshot(kocbot) == before


async def test_platform_admin_commands_act_for_the_admin(world) -> None:  # type: ignore[no-untyped-def]
    emu, kocbot, _ = world
    assert "S1 is featured" in await say(emu, ADMIN_ID, ADMIN_ID, "/feature S1")
    assert snapshot(kocbot)["featured"] == ["S1"]
    assert "Queued S1 for 1 groups" in await say(emu, ADMIN_ID, ADMIN_ID, "/broadcast S1")
    assert "Groups: 1" in await say(emu, ADMIN_ID, ADMIN_ID, "/stats")
    refused = await say(emu, ADMIN_ID, ADMIN_ID, "/payout 101 10.00")
    assert "settled balance is ¥0.00" in refused and snapshot(kocbot)["payouts"] == 0


async def test_group_commands_refuse_non_admins(world) -> None:  # type: ignore[no-untyped-def]
    emu, kocbot, chat = world
    for user in (PROMOTER, MEMBER):
        for command in GROUP_ADMIN_COMMANDS:
            before = snapshot(kocbot)
            reply = await say(emu, user, chat, command)
            assert_clean(reply)
            assert "Only group admins" in reply, (user, command, reply)
            assert snapshot(kocbot) == before, (user, command)
    # A group command in private is refused too.
    before = snapshot(kocbot)
    reply = await say(emu, OWNER, OWNER, "/pause")
    assert "Use this command in a group" in reply and snapshot(kocbot) == before


async def test_group_commands_act_for_the_group_admin(world) -> None:  # type: ignore[no-untyped-def]
    emu, kocbot, chat = world
    await say(emu, OWNER, chat, "/schedule 10:00 21:30")
    await say(emu, OWNER, chat, "/timezone Europe/Berlin")
    await say(emu, OWNER, chat, "/categories food")
    await say(emu, OWNER, chat, "/pause")
    group = snapshot(kocbot)["group"]
    assert group[:4] == ("10:00 21:30", "Europe/Berlin", "food", True)


@pytest.mark.parametrize("command", [
    "/schedule 25:00", "/schedule nine", "/timezone Mars/Base", "/timezone", "/post NOPE",
    "/report 3 days", "/report forever",
])
async def test_bad_arguments_get_one_line_and_no_change(world, command: str) -> None:  # type: ignore[no-untyped-def]
    emu, kocbot, chat = world
    before = snapshot(kocbot)
    reply = await say(emu, OWNER, chat, command)
    assert_clean(reply)
    assert reply.startswith(("Usage:", "⚠️")), reply
    assert len(reply.splitlines()) == 1, reply
    assert snapshot(kocbot) == before


@pytest.mark.parametrize("command", ["/payout", "/payout abc 10", "/payout 101 -5", "/payout 101 1.234",
                                     "/feature", "/broadcast NOPE", "/stats 3y"])
async def test_bad_admin_arguments(world, command: str) -> None:  # type: ignore[no-untyped-def]
    emu, kocbot, _ = world
    before = snapshot(kocbot)
    reply = await say(emu, ADMIN_ID, ADMIN_ID, command)
    assert_clean(reply)
    assert reply.startswith(("Usage:", "⚠️")), reply
    assert snapshot(kocbot) == before


async def test_private_commands_answer_every_user(world) -> None:  # type: ignore[no-untyped-def]
    emu, kocbot, _ = world
    for user in (STRANGER, PROMOTER):
        for command in ("/help", "/commission", "/team", "/invite", "/groups", "/deals"):
            reply = await say(emu, user, user, command)
            assert_clean(reply)
            assert reply and not reply.startswith(REFUSALS), (user, command, reply)
    with kocbot.db.transaction() as session:
        assert session.get(User, STRANGER) is not None
