"""Group lifecycle through the emulator: added by a promoter or a stranger (g_ claim), removed,
and upgraded to a supergroup."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.e2e.delivery_kit import cards, group_row, import_catalog, posts_of, register_owner
from tests.support.flow import buttons, command_reply

STRANGER, OTHER_ADMIN, MEMBER = 301, 302, 303


async def test_a_group_added_by_a_promoter_is_theirs_and_gets_its_schedule(emulator, kocbot) -> None:
    emu = emulator
    import_catalog(kocbot.services)
    owner = register_owner(emu, kocbot.services)
    chat = emu.create_group("Promo club", admins=[owner])
    emu.add_bot_to_group(chat, owner)
    (hello,) = await emu.wait_sent(chat, 1, timeout=10)
    assert "I will post deals here at 09:00 20:00 (Asia/Shanghai)" in hello["text"]
    group = group_row(kocbot.services, chat)
    assert (group.claimed, group.owner_id, group.active) == (True, owner, True)
    # The test clock is 01:00 UTC (09:00 Shanghai): the next slot is 20:00 Shanghai, 12:00 UTC.
    assert group.next_slot_at == datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


async def test_a_stranger_adds_the_bot_and_an_admin_claims_it(emulator, kocbot, clock) -> None:
    emu = emulator
    import_catalog(kocbot.services)
    for uid, name in ((STRANGER, "Stranger"), (OTHER_ADMIN, "Admin"), (MEMBER, "Member")):
        emu.add_user(uid, name, language_code="en")
    chat = emu.create_group("Neighbours", admins=[STRANGER], members=[MEMBER])
    emu.add_bot_to_group(chat, STRANGER)
    (ask,) = await emu.wait_sent(chat, 1, timeout=10)
    assert "claim this group" in ask["text"]
    url = buttons(ask)[0]["url"]
    assert url.startswith("https://t.me/kocbot_test_bot?start=g_")
    group = group_row(kocbot.services, chat)
    assert (group.claimed, group.owner_id) == (False, None)

    # Unclaimed: no schedule fires and /post is refused.
    clock.set(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))
    assert await kocbot.tick() == 0
    refused = await command_reply(emu, user=STRANGER, chat_id=chat, text="/post")
    assert "not claimed" in refused["text"]

    # A member who is not an admin cannot claim it.
    emu.open_start_link(MEMBER, url)
    (no,) = await emu.wait_sent(MEMBER, 1, timeout=10)
    assert "only an administrator" in no["text"]
    assert group_row(kocbot.services, chat).claimed is False

    emu.open_start_link(STRANGER, url)
    (yes,) = await emu.wait_sent(STRANGER, 1, timeout=10)
    assert "is now yours" in yes["text"]
    group = group_row(kocbot.services, chat)
    assert (group.claimed, group.owner_id) == (True, STRANGER)
    clock.advance(minutes=1)
    emu.send_command(STRANGER, chat, "/post SKU1")
    await emu.wait_for(lambda: len(cards(emu, chat)) == 1, timeout=10)


async def test_removal_marks_the_group_inactive(emulator, kocbot) -> None:
    emu = emulator
    import_catalog(kocbot.services)
    owner = register_owner(emu, kocbot.services)
    chat = emu.create_group("Short stay", admins=[owner])
    emu.add_bot_to_group(chat, owner)
    await emu.wait_sent(chat, 1, timeout=10)
    emu.remove_bot_from_group(chat, owner)
    await emu.wait_for(lambda: group_row(kocbot.services, chat).active is False, timeout=10)
    assert kocbot.services.posting.broadcast("SKU1") == 0
    assert cards(emu, chat) == []


async def test_a_supergroup_upgrade_keeps_settings_and_history(emulator, kocbot) -> None:
    emu = emulator
    import_catalog(kocbot.services)
    owner = register_owner(emu, kocbot.services)
    chat = emu.create_group("Growing", admins=[owner])
    emu.add_bot_to_group(chat, owner)
    await emu.wait_sent(chat, 1, timeout=10)
    await command_reply(emu, user=owner, chat_id=chat, text="/timezone Europe/Paris")
    emu.send_command(owner, chat, "/post SKU1")
    await emu.wait_for(lambda: len(cards(emu, chat)) == 1, timeout=10)
    before = group_row(kocbot.services, chat)

    new_id = emu.migrate_group(chat)
    await emu.wait_for(lambda: group_row(kocbot.services, new_id) is not None, timeout=10)
    after = group_row(kocbot.services, new_id)
    assert (after.id, after.timezone, after.owner_id) == (before.id, "Europe/Paris", owner)
    assert group_row(kocbot.services, chat) is None
    assert len(posts_of(kocbot.services, new_id)) == 1  # the history moved with it
