"""A use case's refusal reaches a chat in the user's language (ServiceError keys, issue 14)."""

from __future__ import annotations

from tests.e2e.delivery_kit import import_catalog
from tests.support.flow import command_reply

STRANGER, ZH_ADMIN = 311, 312


async def test_refusals_in_a_group_are_translated_for_a_chinese_admin(emulator, kocbot) -> None:
    emu, kb = emulator, kocbot
    import_catalog(kb.services)
    emu.add_user(STRANGER, "Stranger", language_code="en")
    emu.add_user(ZH_ADMIN, "管理员", language_code="zh-hans")
    chat = emu.create_group("邻居", admins=[STRANGER, ZH_ADMIN])
    emu.add_bot_to_group(chat, STRANGER)
    await emu.wait_sent(chat, 1, timeout=10)

    # Unclaimed: /post is refused, in each admin's own language.
    english = await command_reply(emu, user=STRANGER, chat_id=chat, text="/post")
    assert english["text"] == "⚠️ this group is not claimed yet; an admin must open the claim link"
    chinese = await command_reply(emu, user=ZH_ADMIN, chat_id=chat, text="/post")
    assert chinese["text"] == "⚠️ 本群尚未认领，需由管理员打开认领链接"

    # Values a refusal carries are filled in and escaped like any other.
    zone = await command_reply(emu, user=ZH_ADMIN, chat_id=chat, text="/timezone Mars/<Base>")
    assert zone["text"] == "⚠️ 未知时区 'Mars/<Base>'，请使用 IANA 名称，如 Asia/Shanghai"
