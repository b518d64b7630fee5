"""Paid broadcast: posts carry allow_paid_broadcast, the budget rises past the free limit, and
/stats shows the Stars Telegram charged for the messages over it."""

from __future__ import annotations

from tests.e2e.delivery_kit import import_catalog, register_owner, seed_groups
from tests.support.config import ADMIN_ID
from tests.support.flow import command_reply


async def test_paid_broadcast_posts_past_the_free_limit_and_stats_show_the_stars(
        emulator, kocbot_factory) -> None:
    emu = emulator
    # The free limit is 3 a second here, so that a 40-group broadcast would take 13 s on it.
    emu.set_rate_limits(True, per_second=3, per_group_per_minute=20, paid_per_second=1000)
    kb = await kocbot_factory(rate_limit=True, config={"telegram": {"paid_broadcast": True}})
    import_catalog(kb.services)
    register_owner(emu, kb.services)
    chats = seed_groups(emu, kb.services, 40)
    emu.reset_observations()
    assert kb.services.posting.broadcast("SKU1") == 40
    kb.sender.wake()
    await emu.wait_for(lambda: len(emu.sent(method="sendPhoto")) == 40, timeout=20)
    photos = [c for c in emu.calls if c.method == "sendPhoto"]
    assert [c.status for c in photos] == [200] * 40  # no 429: the budget is the paid one
    assert all(c.params.get("allow_paid_broadcast") is True for c in photos)
    assert {m["chat"]["id"] for m in emu.sent(method="sendPhoto")} == set(chats)
    billed = emu.stars_spent_tenths()
    assert 40 - 3 * 3 <= billed <= 40  # only what went over the free 3 a second is billed

    emu.add_user(ADMIN_ID, "Admin")
    stats = (await command_reply(emu, user=ADMIN_ID, chat_id=ADMIN_ID, text="/stats all"))["text"]
    assert f"Paid broadcast: {billed // 10}.{billed % 10} Stars spent" in stats


async def test_free_mode_sends_no_paid_flag_and_shows_no_stars(emulator, kocbot_factory) -> None:
    emu = emulator
    kb = await kocbot_factory(rate_limit=True)
    import_catalog(kb.services)
    register_owner(emu, kb.services)
    seed_groups(emu, kb.services, 3)
    emu.reset_observations()
    kb.services.posting.broadcast("SKU1")
    kb.sender.wake()
    await emu.wait_for(lambda: len(emu.sent(method="sendPhoto")) == 3, timeout=20)
    assert not any("allow_paid_broadcast" in c.params for c in emu.calls)
    emu.add_user(ADMIN_ID, "Admin")
    stats = (await command_reply(emu, user=ADMIN_ID, chat_id=ADMIN_ID, text="/stats all"))["text"]
    assert "Stars" not in stats
