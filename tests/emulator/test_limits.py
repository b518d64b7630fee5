"""Malformed calls: each gives Telegram's 400 and is recorded as a violation."""

from __future__ import annotations

import json

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, EndPointNotFound

from bot.emulator import Emulator
from bot.emulator.html_text import HtmlError, parse_html

from .conftest import ALICE, jpeg


@pytest.fixture(autouse=True)
def alice_started(emu: Emulator) -> None:
    emu.send_message(ALICE, ALICE, "/start")


async def test_caption_over_1024_visible_chars(emu: Emulator, bot: Bot) -> None:
    photo = (await bot.send_photo(ALICE, jpeg())).photo[-1].file_id
    # Tags do not count: 1024 visible characters inside <b> are fine.
    await bot.send_photo(ALICE, photo, caption=f"<b>{'x' * 1024}</b>", parse_mode=ParseMode.HTML)
    assert emu.violations == []
    with pytest.raises(BadRequest, match="(?i)caption is too long"):
        await bot.send_photo(ALICE, photo, caption="y" * 1025)
    [violation] = emu.violations
    assert violation.method == "sendPhoto"
    assert "1025" in violation.reason


async def test_text_limits(emu: Emulator, bot: Bot) -> None:
    await bot.send_message(ALICE, "&lt;" * 4096, parse_mode=ParseMode.HTML)  # 4096 visible
    with pytest.raises(BadRequest, match="(?i)message is too long"):
        await bot.send_message(ALICE, "z" * 4097)
    with pytest.raises(BadRequest, match="(?i)text is empty"):
        await bot.send_message(ALICE, "<b> </b>", parse_mode=ParseMode.HTML)
    assert len(emu.violations) == 2


@pytest.mark.parametrize(
    "html",
    ["<b>open", "<div>x</div>", "a < b", "fish & chips", "<b><i>x</b></i>", "<br>",
     "&nbsp;", '<span class="red">x</span>', "<b/>"],
)
async def test_malformed_html_is_rejected(emu: Emulator, bot: Bot, html: str) -> None:
    with pytest.raises(BadRequest, match="(?i)can't parse entities"):
        await bot.send_message(ALICE, html, parse_mode=ParseMode.HTML)
    assert len(emu.violations) == 1


def test_html_parser_entities_and_offsets() -> None:
    text, entities = parse_html(
        '😀 <b>bold <i>both</i></b> <a href="https://x.io/?a=1&amp;b=2">link</a> '
        '<tg-spoiler>s</tg-spoiler> <pre><code class="language-py">x=1</code></pre> &#65;&quot;'
    )
    assert text == '😀 bold both link s x=1 A"'
    by_type = {e["type"]: e for e in entities}
    assert by_type["bold"] == {"type": "bold", "offset": 3, "length": 9}  # 😀 is 2 UTF-16 units
    assert by_type["italic"]["offset"] == 8
    assert by_type["text_link"]["url"] == "https://x.io/?a=1&b=2"
    assert by_type["pre"]["language"] == "py"
    assert by_type["spoiler"]["length"] == 1
    with pytest.raises(HtmlError, match="Unsupported start tag"):
        parse_html("<p>x</p>")
    assert parse_html('<a href="https://x.io/?q=a>b">q</a>')[1][0]["url"] == "https://x.io/?q=a>b"
    assert parse_html("2 > 1 &amp; it's <i>fine</i>")[0] == "2 > 1 & it's fine"


async def test_callback_data_over_64_bytes(emu: Emulator, bot: Bot) -> None:
    ok = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="é" * 32)]])  # 64 bytes
    await bot.send_message(ALICE, "fits", reply_markup=ok)
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="a" * 65)]])
    with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
        await bot.send_message(ALICE, "card", reply_markup=too_long)
    assert len(emu.violations) == 1
    assert "65 bytes" in emu.violations[0].reason


async def test_keyboard_rules(emu: Emulator, bot: Bot) -> None:
    row = [InlineKeyboardButton(str(i), callback_data=str(i)) for i in range(9)]
    with pytest.raises(BadRequest):
        await bot.send_message(ALICE, "nine in a row", reply_markup=InlineKeyboardMarkup([row]))
    bad_url = InlineKeyboardMarkup([[InlineKeyboardButton("x", url="ftp://example.com/a")]])
    with pytest.raises(BadRequest, match="(?i)button_url_invalid"):
        await bot.send_message(ALICE, "url", reply_markup=bad_url)
    two_actions = {"inline_keyboard": [[{"text": "x", "url": "https://a.io", "callback_data": "1"}]]}
    with pytest.raises(BadRequest, match="(?i)exactly one"):
        await bot.send_message(ALICE, "two", reply_markup=two_actions)
    assert len(emu.violations) == 3


async def test_deep_link_payloads_are_checked(emu: Emulator, bot: Bot) -> None:
    good = InlineKeyboardMarkup([[InlineKeyboardButton(
        "open", url="https://t.me/kocbot_demo_bot?start=deal_42")]])
    await bot.send_message(ALICE, "see https://t.me/kocbot_demo_bot?start=ok-1", reply_markup=good)
    assert emu.violations == []
    # Telegram accepts the message but the link is broken: recorded without failing the call.
    await bot.send_message(ALICE, "see https://t.me/kocbot_demo_bot?start=bad%20payload")
    [violation] = emu.violations
    assert "bad%20payload" in violation.reason


async def test_answer_callback_url_must_be_own_start_link(emu: Emulator, bot: Bot) -> None:
    card = await bot.send_message(ALICE, "card", reply_markup=InlineKeyboardMarkup(
        [[InlineKeyboardButton("go", callback_data="go")]]))
    query = emu.tap_button(ALICE, card.to_dict(), "go")
    with pytest.raises(BadRequest, match="(?i)url_invalid"):
        await bot.answer_callback_query(query, url="https://example.com/")
    with pytest.raises(BadRequest, match="(?i)message_too_long"):
        await bot.answer_callback_query(query, text="x" * 201)
    await bot.answer_callback_query(query, url="https://t.me/kocbot_demo_bot?start=go")
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await bot.answer_callback_query(query)  # answered twice: a world error, not a violation
    assert len(emu.violations) == 2


async def test_spec_checks_names_required_and_types(emu: Emulator) -> None:
    url = f"{emu.base_url}{emu.token}"
    async with httpx.AsyncClient() as client:
        unknown = await client.post(f"{url}/sendMessage",
                                    data={"chat_id": ALICE, "text": "x", "colour": "red"})
        missing = await client.post(f"{url}/sendMessage", data={"chat_id": ALICE})
        wrong = await client.post(f"{url}/sendMessage", data={"chat_id": "alice", "text": "x"})
        bad_json = await client.post(f"{url}/sendMessage",
                                     data={"chat_id": ALICE, "text": "x", "reply_markup": "{"})
        bad_type = await client.post(f"{url}/sendMessage", json={
            "chat_id": ALICE, "text": "x", "reply_markup": {"inline_keyboard": "nope"}})
        as_json = await client.post(f"{url}/sendMessage", json={"chat_id": ALICE, "text": "json"})
        unknown_method = await client.post(f"{url}/sendTelepathy", data={"chat_id": ALICE})
    assert [r.status_code for r in (unknown, missing, wrong, bad_json, bad_type)] == [400] * 5
    assert missing.json()["description"] == "Bad Request: message text is empty"
    assert as_json.json()["result"]["text"] == "json"
    assert unknown_method.status_code == 404
    assert unknown_method.json()["description"] == "Not Found: method not found"
    assert len(emu.violations) == 6
    assert "colour" in emu.violations[0].reason
    assert emu.violations[-1].method == "sendTelepathy"


async def test_unknown_method_via_ptb(emu: Emulator, bot: Bot) -> None:
    # PTB maps this 404 to EndPointNotFound; the violation says what really happened.
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": ALICE})
    assert "not a Bot API method" in emu.violations[0].reason


async def test_calls_record_decoded_params(emu: Emulator, bot: Bot) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("a", callback_data="1")]])
    await bot.send_message(ALICE, "hi", reply_markup=markup, disable_notification=True)
    call = next(c for c in emu.calls if c.method == "sendMessage")
    assert call.params["chat_id"] == ALICE
    assert call.params["disable_notification"] is True
    assert call.params["reply_markup"] == json.loads(json.dumps(markup.to_dict()))
    assert call.status == 200 and call.response["ok"] is True


async def test_photo_upload_limits(emu: Emulator, bot: Bot) -> None:
    with pytest.raises(BadRequest, match="(?i)photo_invalid_dimensions"):
        await bot.send_photo(ALICE, jpeg(9000, 1500))  # width + height > 10000
    with pytest.raises(BadRequest, match="(?i)image_process_failed"):
        await bot.send_photo(ALICE, b"definitely not an image")
    with pytest.raises(BadRequest, match="(?i)wrong file identifier"):
        await bot.send_photo(ALICE, "AgACnever-issued")
    document = await bot.send_document(ALICE, b"%PDF-1.4", filename="terms.pdf")
    with pytest.raises(BadRequest, match="(?i)can't use file of type document as photo"):
        await bot.send_photo(ALICE, document.document.file_id)
    assert len(emu.violations) == 4
    assert emu.uploads == 3
