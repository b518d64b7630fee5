"""Adding the bot makes the adder the group's owner only when getChatMember says they are its
creator or an administrator; a registered promoter who is a plain member gets the claim button."""

from __future__ import annotations

from tests.e2e.delivery_kit import group_row, import_catalog
from tests.support.flow import buttons

CREATOR, ADMIN, MEMBER = 501, 502, 503


async def start(emu, uid: int) -> None:
    """The user registers as a promoter (so only admin rights decide)."""
    emu.add_user(uid, f"U{uid}", language_code="en")
    emu.send_command(uid, uid, "/start")
    await emu.wait_for(lambda: emu.sent(chat_id=uid), timeout=10)


async def test_a_member_who_is_no_admin_cannot_take_the_group(emulator, kocbot) -> None:
    emu = emulator
    import_catalog(kocbot.services)
    for uid in (CREATOR, MEMBER):
        await start(emu, uid)
    chat = emu.create_group("Neighbours", admins=[CREATOR], members=[MEMBER])
    emu.add_bot_to_group(chat, MEMBER)
    (ask,) = await emu.wait_sent(chat, 1, timeout=10)
    assert "claim this group" in ask["text"]
    assert buttons(ask)[0]["url"].startswith("https://t.me/kocbot_test_bot?start=g_")
    group = group_row(kocbot.services, chat)
    assert (group.claimed, group.owner_id) == (False, None)
    assert any(c.method == "getChatMember" and c.params.get("user_id") == MEMBER for c in emu.calls)
    # The creator can still claim it through the button.
    emu.open_start_link(CREATOR, buttons(ask)[0]["url"])
    await emu.wait_for(lambda: group_row(kocbot.services, chat).claimed, timeout=10)
    assert group_row(kocbot.services, chat).owner_id == CREATOR


async def test_the_creator_or_an_administrator_owns_it_at_once(emulator, kocbot) -> None:
    emu = emulator
    import_catalog(kocbot.services)
    for uid in (CREATOR, ADMIN):
        await start(emu, uid)
    for adder, title in ((CREATOR, "By creator"), (ADMIN, "By admin")):
        chat = emu.create_group(title, admins=[CREATOR], members=[ADMIN])
        if adder == ADMIN:
            emu.set_admin(chat, ADMIN)
        emu.add_bot_to_group(chat, adder)
        (hello,) = await emu.wait_sent(chat, 1, timeout=10)
        assert "I will post deals here" in hello["text"]
        group = group_row(kocbot.services, chat)
        assert (group.claimed, group.owner_id) == (True, adder)
