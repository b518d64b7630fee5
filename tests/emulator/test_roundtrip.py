"""The emulator driven by real python-telegram-bot objects: happy paths."""

from __future__ import annotations

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import CallbackQueryHandler, CommandHandler, ContextTypes

from bot.emulator import Emulator, EmulatorError

from .conftest import ALICE, BOB, TOKEN, jpeg


async def test_get_me(bot: Bot, emu: Emulator) -> None:
    me = await bot.get_me()
    assert me.username == "kocbot_demo_bot"
    assert me.id == 123456
    assert me.is_bot and me.supports_inline_queries and me.can_join_groups
    assert emu.violations == []


async def test_wrong_token_is_unauthorized(emu: Emulator) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{emu.base_url}999:WRONG/getMe")
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


async def test_command_round_trip_private_and_group(emu: Emulator, app_factory) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_text(f"hello {' '.join(context.args)}")

    group = emu.create_group("Deals", admins=[ALICE], members=[BOB])
    async with app_factory(CommandHandler("start", start)):
        emu.open_start_link(ALICE, "https://t.me/kocbot_demo_bot?start=sku_42")
        [reply] = await emu.wait_sent(ALICE)
        assert reply["text"] == "hello sku_42"

        emu.add_bot_to_group(group, ALICE)
        emu.send_command(BOB, group, "/start@kocbot_demo_bot x")
        emu.send_message(BOB, group, "chatter the bot cannot see")  # privacy mode
        emu.send_command(BOB, group, "/start@other_bot y")  # addressed to another bot
        [group_reply] = await emu.wait_sent(group)
        assert group_reply["text"] == "hello x"
        assert group_reply["chat"]["type"] == "group"
    assert emu.violations == []
    assert [m.get("text") for m in emu.messages_in(group)] == [
        None,  # the new_chat_members service message
        "/start@kocbot_demo_bot x", "chatter the bot cannot see", "/start@other_bot y", "hello x",
    ]
    delivered = [
        u["message"].get("text")
        for c in emu.calls if c.method == "getUpdates" and c.status == 200
        for u in c.response["result"] if "message" in u
    ]
    assert "chatter the bot cannot see" not in delivered
    assert "/start@other_bot y" not in delivered


async def test_update_ids_increase_and_offset_confirms(emu: Emulator, bot: Bot) -> None:
    emu.send_message(ALICE, ALICE, "one")
    emu.send_message(ALICE, ALICE, "two")
    first = await bot.get_updates()
    assert [u.message.text for u in first] == ["one", "two"]
    assert first[1].update_id == first[0].update_id + 1
    again = await bot.get_updates()  # not confirmed yet -> delivered again
    assert [u.update_id for u in again] == [u.update_id for u in first]
    assert await bot.get_updates(offset=first[-1].update_id + 1) == ()
    assert emu.pending_updates == []


async def test_photo_upload_then_reuse_by_file_id(emu: Emulator, bot: Bot) -> None:
    emu.send_message(ALICE, ALICE, "/start")
    first = await bot.send_photo(ALICE, jpeg(1200, 600), caption="<b>deal</b>",
                                 parse_mode=ParseMode.HTML)
    largest = first.photo[-1]
    assert (largest.width, largest.height) == (1200, 600)
    assert first.caption == "deal"
    second = await bot.send_photo(ALICE, largest.file_id)
    assert [p.file_id for p in second.photo] == [p.file_id for p in first.photo]
    assert emu.uploads == 1
    photo_calls = [c for c in emu.calls if c.method == "sendPhoto"]
    assert photo_calls[0].files["photo"][:2] == b"\xff\xd8"
    assert photo_calls[1].params["photo"] == largest.file_id
    assert len(emu.sent(ALICE, method="sendPhoto")) == 2
    assert emu.violations == []


async def test_callback_tap_and_answer(emu: Emulator, app_factory) -> None:
    async def menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Buy", callback_data="buy:1")]])
        await update.effective_message.reply_text("Pick", reply_markup=keyboard)

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await query.answer("done", url="https://t.me/kocbot_demo_bot?start=buy_1")
        await query.edit_message_text(f"you chose {query.data}")

    async with app_factory(CommandHandler("menu", menu), CallbackQueryHandler(pressed)):
        emu.send_command(ALICE, ALICE, "/menu")
        [card] = await emu.wait_sent(ALICE)
        with pytest.raises(EmulatorError, match="no button"):
            emu.tap_button(ALICE, card, "sell:1")
        query_id = emu.tap_button(ALICE, card, "buy:1")
        answer = await emu.wait_callback_answer(query_id)
        assert answer["text"] == "done"
        await emu.wait_for(lambda: emu.sent(ALICE)[0]["text"] == "you chose buy:1")
    edited = emu.sent(ALICE)[0]
    assert "reply_markup" not in edited and "edit_date" in edited
    assert emu.violations == []


async def test_document_get_file_download(emu: Emulator, bot: Bot) -> None:
    data = b"sku,price\nA1,9.99\n"
    message = emu.send_document(ALICE, ALICE, "prices.csv", data, caption="new prices")
    [update] = await bot.get_updates()
    assert update.message.document.file_name == "prices.csv"
    tg_file = await bot.get_file(message["document"]["file_id"])
    assert bytes(await tg_file.download_as_bytearray()) == data
    # The bot's own uploads can be fetched back too, and resent by file_id without uploading.
    sent = await bot.send_document(ALICE, b"\x00\x01binary", filename="blob.bin")
    own = await bot.get_file(sent.document.file_id)
    assert bytes(await own.download_as_bytearray()) == b"\x00\x01binary"
    await bot.send_document(ALICE, sent.document.file_id, caption="again")
    assert emu.uploads == 1
    assert emu.violations == []


async def test_commands_chat_info_and_edits(emu: Emulator, bot: Bot) -> None:
    from telegram import BotCommand, BotCommandScopeAllGroupChats
    from telegram.error import BadRequest

    await bot.set_my_commands([BotCommand("post", "Post a deal")])
    await bot.set_my_commands([BotCommand("help", "Help")], scope=BotCommandScopeAllGroupChats(),
                              language_code="ru")
    assert emu.commands == {
        "default": [{"command": "post", "description": "Post a deal"}],
        "all_group_chats/ru": [{"command": "help", "description": "Help"}],
    }
    assert [c.command for c in await bot.get_my_commands()] == ["post"]
    await bot.delete_my_commands()
    assert "default" not in emu.commands

    group = emu.create_group("Deals", admins=[ALICE], members=[BOB], supergroup=True)
    emu.add_bot_to_group(group, ALICE)
    emu.set_admin(group, emu.bot_user["id"])
    chat = await bot.get_chat(group)
    assert chat.type == "supergroup" and str(group).startswith("-100")
    assert (await bot.get_chat_member(group, BOB)).status == "member"
    admins = await bot.get_chat_administrators(group)
    assert {a.user.id for a in admins} == {ALICE, 123456}
    assert await bot.get_chat_member_count(group) == 3

    sent = await bot.send_message(group, "v1")
    with pytest.raises(BadRequest, match="(?i)message is not modified"):
        await bot.edit_message_text("v1", chat_id=group, message_id=sent.message_id)
    await bot.edit_message_text("v2", chat_id=group, message_id=sent.message_id)
    assert emu.sent(group)[-1]["text"] == "v2"
    assert await bot.delete_message(group, sent.message_id)
    assert emu.sent(group) == []
    assert emu.violations == []


async def test_updates_delivered_to_getupdates_long_poll(emu: Emulator, bot: Bot) -> None:
    import asyncio

    async def later() -> None:
        await asyncio.sleep(0.2)
        emu.send_message(ALICE, ALICE, "wake up")

    task = asyncio.create_task(later())
    updates = await bot.get_updates(timeout=5)
    await task
    assert [u.message.text for u in updates] == ["wake up"]


async def test_private_chat_needs_start_first(emu: Emulator, bot: Bot) -> None:
    from telegram.error import BadRequest, Forbidden

    with pytest.raises(Forbidden, match="can't initiate conversation"):
        await bot.send_message(BOB, "hi")
    with pytest.raises(BadRequest, match="(?i)chat not found"):
        await bot.send_message(999, "hi")
    assert emu.violations == []
    assert TOKEN.startswith("123456:")
