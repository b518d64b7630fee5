"""World model, observations, and the Bot API facts the emulator ships with."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from telegram import Bot, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import ChatMemberHandler, ContextTypes, MessageHandler, filters

from bot.emulator import Emulator, EmulatorError
from bot.emulator.spec import DATA_FILE, Spec, dump_facts, facts_from_spec

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


async def test_packaged_facts_check_calls_with_no_file_outside_the_package(tmp_path, monkeypatch) -> None:
    # As in an installed wheel or `kocbot demo`: another working folder, no variable set.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KOCBOT_BOT_API_SPEC", raising=False)
    async with Emulator(token=TOKEN) as emu:
        assert emu.spec.source == DATA_FILE and emu.spec.version.startswith("Bot API ")
        emu.add_user(ALICE, "Alice")
        emu.send_message(ALICE, ALICE, "/start")
        async with Bot(TOKEN, base_url=emu.base_url, request=local_request()) as bot:
            await bot.send_message(ALICE, "<b>ok</b>", parse_mode=ParseMode.HTML)
            with pytest.raises(BadRequest, match="(?i)can't parse entities"):
                await bot.send_message(ALICE, "<b>broken", parse_mode=ParseMode.HTML)
            with pytest.raises(BadRequest, match="(?i)text is empty"):
                await bot.do_api_request("sendMessage", api_kwargs={"chat_id": ALICE})
            with pytest.raises(BadRequest, match='(?i)unknown parameter "colour"'):
                await bot.do_api_request("sendMessage", api_kwargs={"chat_id": ALICE, "text": "x",
                                                                    "colour": "red"})
            with pytest.raises(BadRequest, match="(?i)wrong type"):
                await bot.do_api_request("answerInlineQuery", api_kwargs={
                    "inline_query_id": "1", "results": [{"type": "article", "id": "1", "photo_url": "x"}]})
        assert len(emu.violations) == 4


def test_packaged_facts_hold_names_and_types_but_no_prose() -> None:
    from importlib import resources

    facts = json.loads(resources.files("bot.emulator").joinpath(DATA_FILE).read_text(encoding="utf-8"))
    strings: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, dict):
            strings.extend(value)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            strings.append(value)

    walk(facts)
    prose = [s for s in strings if not re.fullmatch(r"[A-Za-z0-9_ .]{1,60}", s)]
    assert prose == []
    assert len(facts["methods"]) > 150 and len(facts["types"]) > 300
    spec = Spec.load()
    assert spec.method_fields("sendMessage")["text"].required
    assert spec.method_fields("sendMessage")["chat_id"].types == ("Integer", "String")
    assert spec.param_types("sendPhoto", "photo") == ("InputFile", "String")


SMALL_SPEC = {
    "version": "Bot API 99.0",
    "methods": {"sendThing": {"name": "sendThing", "description": ["Sends a thing."], "returns": ["Message"],
                              "fields": [{"name": "chat_id", "types": ["Integer", "String"], "required": True,
                                          "description": "Unique identifier for the target chat"},
                                         {"name": "result", "types": ["Result"], "required": False,
                                          "description": "What to send"}]}},
    "types": {
        "Result": {"name": "Result", "description": ["One of:"], "subtypes": ["ResultPhoto"]},
        "ResultPhoto": {
            "name": "ResultPhoto", "description": ["A photo."], "subtype_of": ["Result"],
            "fields": [{"name": "type", "types": ["String"], "required": True,
                        "description": "Type of the result, must be photo"},
                       {"name": "url", "types": ["String"], "required": True, "description": "A valid URL"}]},
    },
}


def test_facts_keep_fields_types_required_subtypes_and_the_fixed_type(tmp_path) -> None:
    facts = facts_from_spec(SMALL_SPEC)
    assert facts == {
        "version": "Bot API 99.0",
        "methods": {"sendThing": [["chat_id", ["Integer", "String"], True], ["result", ["Result"], False]]},
        "types": {"Result": {"subtypes": ["ResultPhoto"]},
                  "ResultPhoto": {"fields": [["type", ["String"], True], ["url", ["String"], True]],
                                  "type": "photo"}},
    }
    assert json.loads(dump_facts(facts)) == facts
    # Spec.load takes a full spec or a facts file, and the two check alike.
    full, reduced = tmp_path / "full.json", tmp_path / "facts.json"
    full.write_text(json.dumps(SMALL_SPEC))
    reduced.write_text(dump_facts(facts))
    for spec in (Spec.load(full), Spec.load(reduced)):
        assert spec.check({"type": "photo", "url": "u"}, ("Result",), "r") == []
        assert spec.check({"type": "video", "url": "u"}, ("Result",), "r") == [
            "r: type must be 'photo' for ResultPhoto"]
        assert spec.check({"type": "photo"}, ("Result",), "r") == ["r: ResultPhoto needs field 'url'"]
        assert spec.param_types("sendThing", "colour") is None


def test_the_script_writes_the_facts_from_a_spec_given_as_argument(tmp_path) -> None:
    source, out = tmp_path / "spec.json", tmp_path / "facts.json"
    source.write_text(json.dumps(SMALL_SPEC))
    script = Path(__file__).resolve().parents[2] / "scripts" / "emulator_spec.py"
    done = subprocess.run([sys.executable, str(script), str(source), "--out", str(out)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "facts.json: Bot API 99.0, 1 methods, 2 types"
    assert json.loads(out.read_text()) == facts_from_spec(SMALL_SPEC)
    missing = subprocess.run([sys.executable, str(script), str(tmp_path / "absent.json"), "--out", str(out)],
                             capture_output=True, text=True, timeout=60)
    assert missing.returncode == 2 and len(missing.stderr.splitlines()) == 1
