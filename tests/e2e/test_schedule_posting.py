"""Schedules end to end: group admins set times in their zone, the periodic tick plans due slots
from the database, and the posting rules hold (pause, repeat window, spacing, misfire grace)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from tests.e2e.delivery_kit import cards, import_catalog, posts_of, register_owner, seed_groups
from tests.support.flow import command_reply, feed_csv

THREE = feed_csv(
    "acme,A1,Kettle,https://shop.example/a1,59.00,99.00,10%,home,,,,,,CNY",
    "acme,A2,Teapot,https://shop.example/a2,49.00,89.00,10%,home,,,,,,CNY",
    "acme,A3,Mug,https://shop.example/a3,19.00,29.00,10%,home,,,,,,CNY",
)
ONE = feed_csv("acme,A1,Kettle,https://shop.example/a1,59.00,99.00,10%,home,,,,,,CNY")


async def one_group(emu, kb, feed: bytes):
    import_catalog(kb.services, feed)
    owner = register_owner(emu, kb.services)
    (chat,) = seed_groups(emu, kb.services, 1)
    return owner, chat


async def at(kb, clock, when: datetime) -> int:
    clock.set(when)
    return await kb.tick()


async def three_slots_piled_up(emu, kb, clock):
    """The bot was down from before 09:00 to 09:25 Shanghai time: three slots are due at once.
    The first card goes out; the other two wait for the one-minute spacing."""
    owner, chat = await one_group(emu, kb, THREE)
    await command_reply(emu, user=owner, chat_id=chat, text="/schedule 09:00 09:10 09:20")
    assert await at(kb, clock, datetime(2026, 11, 25, 1, 25, tzinfo=UTC)) == 3
    await emu.wait_for(lambda: len(cards(emu, chat)) == 1, timeout=10)
    return owner, chat


async def test_a_schedule_fires_at_its_time_in_the_groups_zone(emulator, kocbot_factory, clock) -> None:
    emu = emulator
    kb = await kocbot_factory()
    owner, chat = await one_group(emu, kb, THREE)
    reply = await command_reply(emu, user=owner, chat_id=chat, text="/timezone America/New_York")
    assert "Time zone: America/New_York" in reply["text"]
    reply = await command_reply(emu, user=owner, chat_id=chat, text="/schedule 09:00")
    assert "09:00 (America/New_York)" in reply["text"]
    # 09:00 in New York on 24 November (EST, UTC-5) is 14:00 UTC.
    assert await at(kb, clock, datetime(2026, 11, 24, 13, 59, 30, tzinfo=UTC)) == 0
    await asyncio.sleep(0.3)
    assert cards(emu, chat) == []
    assert await at(kb, clock, datetime(2026, 11, 24, 14, 0, 5, tzinfo=UTC)) == 1
    await emu.wait_for(lambda: cards(emu, chat), timeout=10)
    assert (await kb.tick()) == 0  # the slot is planned once
    (post,) = posts_of(kb.services, chat)
    assert post.slot == "2026-11-24T14:00Z"


async def test_one_periodic_job_whatever_the_number_of_groups(emulator, kocbot_factory) -> None:
    emu = emulator
    kb = await kocbot_factory()
    import_catalog(kb.services)
    register_owner(emu, kb.services)
    before = len(kb.application.job_queue.jobs())
    seed_groups(emu, kb.services, 25)
    jobs = kb.application.job_queue.jobs()
    assert len(jobs) == before == 2  # the scheduler tick and the settlement, no job per group
    assert any(job.callback == kb._tick_job for job in jobs)


async def test_pause_and_resume(emulator, kocbot_factory, clock) -> None:
    emu = emulator
    kb = await kocbot_factory()
    owner, chat = await one_group(emu, kb, THREE)
    await command_reply(emu, user=owner, chat_id=chat, text="/schedule 09:00")  # 01:00 UTC in Shanghai
    reply = await command_reply(emu, user=owner, chat_id=chat, text="/pause")
    assert "Paused" in reply["text"]
    assert await at(kb, clock, datetime(2026, 11, 25, 1, 0, tzinfo=UTC)) == 0
    assert await at(kb, clock, datetime(2026, 11, 25, 1, 10, tzinfo=UTC)) == 0
    reply = await command_reply(emu, user=owner, chat_id=chat, text="/resume")
    assert "Resumed. Next post: 2026-11-26 09:00 Asia/Shanghai" in reply["text"]  # 01:00 UTC
    assert cards(emu, chat) == []
    assert await at(kb, clock, datetime(2026, 11, 26, 1, 0, tzinfo=UTC)) == 1
    await emu.wait_for(lambda: len(cards(emu, chat)) == 1, timeout=10)


async def test_pause_stops_scheduled_posts_already_queued(emulator, kocbot_factory, clock) -> None:
    """Slots queued before /pause do not go out after it; an admin's /post still does."""
    emu = emulator
    kb = await kocbot_factory()
    owner, chat = await three_slots_piled_up(emu, kb, clock)
    await emu.wait_for(lambda: posts_of(kb.services, chat)[0].status == "sent", timeout=5)
    await command_reply(emu, user=owner, chat_id=chat, text="/pause")
    clock.advance(minutes=3)
    kb.sender.wake()
    await emu.wait_for(lambda: [p.status for p in posts_of(kb.services, chat)]
                       == ["sent", "failed", "failed"], timeout=10)
    assert {p.error for p in posts_of(kb.services, chat)[1:]} == {"group paused"}
    assert len(cards(emu, chat)) == 1
    emu.send_command(owner, chat, "/post A3")
    await emu.wait_for(lambda: len(cards(emu, chat)) == 2, timeout=10)


async def test_the_repeat_window_keeps_a_product_away_for_its_days(emulator, kocbot_factory, clock) -> None:
    emu = emulator
    kb = await kocbot_factory(config={"schedule": {"repeat_window_days": 7}})
    owner, chat = await one_group(emu, kb, ONE)
    await command_reply(emu, user=owner, chat_id=chat, text="/schedule 09:00")
    first = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    assert await at(kb, clock, first) == 1
    await emu.wait_for(lambda: len(cards(emu, chat)) == 1, timeout=10)
    for day in range(1, 8):  # the only product was posted within the window: nothing fits
        assert await at(kb, clock, first + timedelta(days=day)) == 0, day
    assert await at(kb, clock, first + timedelta(days=8)) == 1
    await emu.wait_for(lambda: len(cards(emu, chat)) == 2, timeout=10)


async def test_piled_up_slots_go_out_a_minute_apart(emulator, kocbot_factory, clock) -> None:
    emu = emulator
    kb = await kocbot_factory()
    _, chat = await three_slots_piled_up(emu, kb, clock)
    await asyncio.sleep(1.0)
    assert len(cards(emu, chat)) == 1
    for n in (2, 3):
        clock.advance(seconds=59)
        kb.sender.wake()
        await asyncio.sleep(0.8)
        assert len(cards(emu, chat)) == n - 1
        clock.advance(seconds=1)
        kb.sender.wake()
        await emu.wait_for(lambda n=n: len(cards(emu, chat)) == n, timeout=10)
        await emu.wait_for(lambda n=n: posts_of(kb.services, chat)[n - 1].status == "sent", timeout=5)
    sent = sorted(p.sent_at for p in posts_of(kb.services, chat))
    assert all(b - a >= timedelta(minutes=1) for a, b in zip(sent, sent[1:], strict=False))
    assert len({p.product_id for p in posts_of(kb.services, chat)}) == 3


async def test_a_slot_missed_beyond_the_grace_is_skipped_and_logged(emulator, kocbot_factory, clock,
                                                                    caplog) -> None:
    emu = emulator
    kb = await kocbot_factory(config={"schedule": {"misfire_grace_minutes": 30}})
    owner, chat = await one_group(emu, kb, THREE)
    await command_reply(emu, user=owner, chat_id=chat, text="/schedule 09:00 21:00")
    with caplog.at_level(logging.WARNING, logger="bot.services.posting"):
        assert await at(kb, clock, datetime(2026, 11, 25, 1, 31, tzinfo=UTC)) == 0
    assert any(r.getMessage() == "slot skipped after downtime" for r in caplog.records)
    assert posts_of(kb.services, chat) == []
    # The next slot (21:00 Shanghai = 13:00 UTC), 29 minutes late, is still within the grace.
    assert await at(kb, clock, datetime(2026, 11, 25, 13, 29, tzinfo=UTC)) == 1
    await emu.wait_for(lambda: len(cards(emu, chat)) == 1, timeout=10)
