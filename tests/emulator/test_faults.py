"""Faults on demand and world errors, as PTB sees them."""

from __future__ import annotations

import datetime as dtm
import time

import pytest
from telegram import Bot
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.emulator import Emulator, EmulatorError

from .conftest import ALICE, BOB, TOKEN, local_request


def seconds(value: int | dtm.timedelta) -> float:
    """RetryAfter.retry_after is an int or a timedelta depending on PTB_TIMEDELTA."""
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


@pytest.fixture
def group(emu: Emulator) -> int:
    chat_id = emu.create_group("Deals", admins=[ALICE], members=[BOB])
    emu.add_bot_to_group(chat_id, ALICE)
    return chat_id


async def test_flood_control_per_group_and_overall(emu: Emulator, bot: Bot, group: int) -> None:
    emu.set_rate_limits(per_second=30, per_group_per_minute=3)
    for i in range(3):
        await bot.send_message(group, f"deal {i}")
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(group, "one too many")
    assert 55 <= seconds(info.value.retry_after) <= 60
    assert len(emu.sent(group)) == 3

    emu.send_message(ALICE, ALICE, "/start")
    emu.set_rate_limits(per_second=2, per_group_per_minute=None)
    await bot.send_message(ALICE, "a")
    await bot.send_message(ALICE, "b")
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(ALICE, "c")
    assert seconds(info.value.retry_after) == 1
    emu.set_rate_limits(enabled=False)
    await bot.send_message(ALICE, "c")
    assert emu.violations == []


async def test_injected_429_and_5xx(emu: Emulator, bot: Bot, group: int) -> None:
    emu.inject("429", method="sendMessage", retry_after=7)
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(group, "x")
    assert seconds(info.value.retry_after) == 7
    emu.inject("5xx", chat_id=group, times=2)
    for _ in range(2):
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(group, "x")
    await bot.send_message(group, "finally")
    assert [m["text"] for m in emu.sent(group)] == ["finally"]
    assert emu.violations == []


async def test_migration_raises_chat_migrated(emu: Emulator, bot: Bot, group: int) -> None:
    emu.inject("migrate", chat_id=group)
    with pytest.raises(ChatMigrated) as info:
        await bot.send_message(group, "x")
    new_id = info.value.new_chat_id
    assert str(new_id).startswith("-100")
    assert (await bot.send_message(new_id, "moved")).chat.type == "supergroup"
    with pytest.raises(ChatMigrated) as again:  # the old id stays dead
        await bot.send_message(group, "x")
    assert again.value.new_chat_id == new_id
    updates = await bot.get_updates()
    service = [u.message for u in updates if u.message and u.message.migrate_to_chat_id]
    assert service[0].migrate_to_chat_id == new_id
    assert any(u.message and u.message.migrate_from_chat_id == group for u in updates)
    assert emu.violations == []


async def test_kicked_bot_gets_forbidden(emu: Emulator, bot: Bot, group: int) -> None:
    emu.remove_bot_from_group(group, ALICE)
    with pytest.raises(Forbidden, match="(?i)bot was kicked from the group chat"):
        await bot.send_message(group, "x")
    supergroup = emu.create_group("Big", admins=[ALICE], supergroup=True)
    emu.add_bot_to_group(supergroup, ALICE)
    emu.remove_bot_from_group(supergroup, ALICE)
    with pytest.raises(Forbidden, match="(?i)kicked from the supergroup chat"):
        await bot.send_message(supergroup, "x")
    never = emu.create_group("Never", admins=[ALICE])
    with pytest.raises(Forbidden, match="(?i)not a member"):
        await bot.send_message(never, "x")
    updates = await bot.get_updates()
    kicked = [u.my_chat_member for u in updates if u.my_chat_member
              and u.my_chat_member.new_chat_member.status == "kicked"]
    assert [k.chat.id for k in kicked] == [group, supergroup]
    emu.inject("403", method="sendMessage")
    emu.send_message(ALICE, ALICE, "/start")
    with pytest.raises(Forbidden, match="(?i)blocked by the user"):
        await bot.send_message(ALICE, "x")
    assert emu.violations == []


async def test_timeout_delivers_message_but_client_times_out(emu: Emulator) -> None:
    emu.send_message(ALICE, ALICE, "/start")
    request = local_request(read_timeout=0.1)
    async with Bot(TOKEN, base_url=emu.base_url, request=request) as bot:
        emu.inject("timeout", method="sendMessage", delay=0.3)
        with pytest.raises(TimedOut):
            await bot.send_message(ALICE, "outcome unknown")
        assert [m["text"] for m in emu.sent(ALICE)] == ["outcome unknown"]
        emu.inject("timeout", method="sendMessage", delay=0.3, deliver=False)
        with pytest.raises(TimedOut):
            await bot.send_message(ALICE, "lost")
        assert len(emu.sent(ALICE)) == 1
    assert emu.violations == []


async def test_stop_does_not_wait_for_a_pending_timeout() -> None:
    emu = Emulator(token=TOKEN)
    await emu.start()
    emu.add_user(ALICE, "Alice")
    emu.send_message(ALICE, ALICE, "/start")
    emu.inject("timeout", method="sendMessage")  # default delay: 30 s
    async with Bot(TOKEN, base_url=emu.base_url, request=local_request(read_timeout=0.1)) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(ALICE, "x")
    started = time.monotonic()
    await emu.stop()
    assert time.monotonic() - started < 2


async def test_threads_in_forum_groups(emu: Emulator, bot: Bot) -> None:
    forum = emu.create_group("Forum", admins=[ALICE], forum=True)
    emu.add_bot_to_group(forum, ALICE)
    topic = emu.create_topic(forum, "Deals")
    sent = await bot.send_message(forum, "in topic", message_thread_id=topic)
    assert sent.message_thread_id == topic and sent.is_topic_message
    with pytest.raises(BadRequest, match="(?i)message thread not found"):
        await bot.send_message(forum, "x", message_thread_id=topic + 100)
    emu.inject("thread_not_found", chat_id=forum)
    with pytest.raises(BadRequest, match="(?i)message thread not found"):
        await bot.send_message(forum, "x", message_thread_id=topic)
    emu.inject("chat_not_found", method="sendMessage")
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(forum, "x")
    emu.fail_unknown_thread = False
    await bot.send_message(forum, "tolerated", message_thread_id=999)
    assert emu.violations == []  # world errors are not violations


def test_inject_rejects_unknown_faults(emu: Emulator) -> None:
    with pytest.raises(EmulatorError, match="unknown fault"):
        emu.inject("meteor")


async def test_paid_broadcast_goes_past_the_free_limit_and_bills_only_the_excess(
        emu: Emulator, bot: Bot, group: int) -> None:
    emu.send_message(ALICE, ALICE, "/start")
    emu.set_rate_limits(per_second=2, per_group_per_minute=None, paid_per_second=5)
    await bot.send_message(ALICE, "free 1")
    await bot.send_message(ALICE, "free 2")
    with pytest.raises(RetryAfter):
        await bot.send_message(ALICE, "free 3")  # the free limit, without the flag
    await bot.send_message(ALICE, "paid 1", allow_paid_broadcast=True)
    await bot.send_message(ALICE, "paid 2", allow_paid_broadcast=True)
    await bot.send_message(ALICE, "paid 3", allow_paid_broadcast=True)
    with pytest.raises(RetryAfter):
        await bot.send_message(ALICE, "paid 4", allow_paid_broadcast=True)  # the paid limit
    assert emu.stars_spent_tenths() == 3  # three messages over the free two: 0.3 Star
    [transaction] = (await bot.get_star_transactions()).transactions
    assert transaction.receiver.type == "telegram_api"
    assert transaction.receiver.request_count == 3
    assert (transaction.amount, transaction.nanostar_amount) == (0, 300_000_000)
    assert (await bot.get_star_transactions(offset=1)).transactions == ()
    assert emu.violations == []
