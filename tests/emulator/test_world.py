"""World model, observations and the spec-less fallback."""

from __future__ import annotations

import pytest
from telegram import Bot, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ChatMemberHandler, ContextTypes, MessageHandler, filters

from bot.emulator import Emulator, EmulatorError
from bot.emulator.spec import find_spec_path

from .conftest import ALICE, BOB, TOKEN, local_request


async def test_bot_added_and_removed_reaches_chat_member_handler(
    emu: Emulator, app_factory
) -> None:
    seen: list[tuple[str, str]] = []

    async def member(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        change = update.my_chat_member
        seen.append((change.old_chat_member.status, change.new_chat_member.status))

    group = emu.create_group("Deals", admins=[ALICE], members=[BOB])
    async with app_factory(ChatMemberHandler(member)):
        emu.add_bot_to_group(group, ALICE)
        emu.set_admin(group, emu.bot_user["id"])
        emu.remove_bot_from_group(group, ALICE)
        await emu.wait_for(lambda: len(seen) == 3)
    assert seen == [("left", "member"), ("member", "administrator"), ("administrator", "kicked")]


async def test_migrate_group_emits_service_messages(emu: Emulator, app_factory) -> None:
    migrations: list[tuple[int, int]] = []

    async def migrated(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message.migrate_to_chat_id:
            migrations.append((message.chat_id, message.migrate_to_chat_id))

    group = emu.create_group("Deals", admins=[ALICE])
    emu.add_bot_to_group(group, ALICE)
    async with app_factory(MessageHandler(filters.StatusUpdate.MIGRATE, migrated)):
        new_id = emu.migrate_group(group)
        await emu.wait_for(lambda: migrations == [(group, new_id)])
    with pytest.raises(EmulatorError, match="migrated"):
        emu.send_message(ALICE, group, "old group")
    emu.send_message(ALICE, new_id, "/ping")  # members moved along


async def test_privacy_mode_replies_and_off_switch(emu: Emulator, bot: Bot) -> None:
    group = emu.create_group("Deals", admins=[ALICE], members=[BOB])
    emu.add_bot_to_group(group, ALICE)
    card = await bot.send_message(group, "deal card")
    emu.send_message(BOB, group, "not for the bot")
    emu.send_message(BOB, group, "how much?", reply_to_message_id=card.message_id)
    emu.send_message(BOB, group, "hey @kocbot_demo_bot")
    updates = await bot.get_updates(allowed_updates=["message"])
    texts = [u.message.text for u in updates if u.message.text]
    assert texts == ["how much?", "hey @kocbot_demo_bot"]
    assert updates[-2].message.reply_to_message.message_id == card.message_id
    await bot.get_updates(offset=updates[-1].update_id + 1)
    emu.privacy_mode = False
    emu.send_message(BOB, group, "plain chatter")
    updates = await bot.get_updates(allowed_updates=["message"])
    assert [u.message.text for u in updates if u.message.text] == ["plain chatter"]
    assert (await bot.get_me()).can_read_all_group_messages is True


def test_user_actions_are_checked(emu: Emulator) -> None:
    group = emu.create_group("Deals", admins=[ALICE])
    with pytest.raises(EmulatorError, match="not a member"):
        emu.send_message(BOB, group, "hi")
    with pytest.raises(EmulatorError, match="add_user"):
        emu.send_message(999, 999, "hi")
    with pytest.raises(EmulatorError, match="another bot"):
        emu.open_start_link(ALICE, "https://t.me/some_other_bot?start=x")
    with pytest.raises(EmulatorError, match="1-64"):
        emu.open_start_link(ALICE, "has space")
    with pytest.raises(EmulatorError, match="not a forum"):
        emu.create_topic(group, "Topic")
    supergroup = emu.create_group("Super", admins=[ALICE], supergroup=True)
    assert supergroup < -1_000_000_000_000 < group < 0


async def test_observations_reset_and_timeout_message(emu: Emulator, bot: Bot) -> None:
    emu.send_message(ALICE, ALICE, "/start")
    await bot.send_message(ALICE, "first")
    emu.reset_observations()
    assert emu.sent(ALICE) == [] and emu.calls == []
    await bot.send_message(ALICE, "second")
    assert [m["text"] for m in emu.sent()] == ["second"]
    assert [m.get("text") for m in emu.messages_in(ALICE)] == ["/start", "first", "second"]
    with pytest.raises(TimeoutError, match="2 message") as info:
        await emu.wait_sent(ALICE, count=2, timeout=0.05)
    assert "sendMessage 200" in str(info.value)


async def test_spec_file_missing_keeps_builtin_checks(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("KOCBOT_BOT_API_SPEC", str(tmp_path / "absent.json"))
    assert find_spec_path() is None
    async with Emulator(token=TOKEN) as emu:
        assert emu.spec.available is False
        emu.add_user(ALICE, "Alice")
        emu.send_message(ALICE, ALICE, "/start")
        async with Bot(TOKEN, base_url=emu.base_url, request=local_request()) as bot:
            await bot.send_message(ALICE, "<b>ok</b>", parse_mode=ParseMode.HTML)
            with pytest.raises(BadRequest, match="(?i)can't parse entities"):
                await bot.send_message(ALICE, "<b>broken", parse_mode=ParseMode.HTML)
            with pytest.raises(BadRequest, match="(?i)text is empty"):
                await bot.do_api_request("sendMessage", api_kwargs={"chat_id": ALICE})
        assert len(emu.violations) == 2


def test_spec_path_from_environment(tmp_path, monkeypatch) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text('{"methods": {"getMe": {"name": "getMe", "fields": []}}, "types": {}}')
    monkeypatch.setenv("KOCBOT_BOT_API_SPEC", str(spec))
    emu = Emulator(token=TOKEN)
    assert emu.spec.available and emu.spec.path == spec
    assert emu.spec.method_fields("getMe") == {}
