"""The emulator's Mini App methods: setChatMenuButton and savePreparedInlineMessage with the
Bot API's rules, shareMessage, and signed initData for a user."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from bot.domain.init_data import check_init_data, secret_key
from bot.emulator import Emulator
from bot.emulator.models import EmulatorError

from .conftest import ALICE, BOB, TOKEN

PHOTO = {"type": "photo", "id": "r1", "photo_url": "https://example.com/a.jpg",
         "thumbnail_url": "https://example.com/a.jpg", "caption": "<b>Deal</b>", "parse_mode": "HTML",
         "reply_markup": {"inline_keyboard": [[{"text": "Buy", "callback_data": "sbuy:abc"}]]}}


async def call(emu: Emulator, method: str, **params: object) -> dict:
    async with httpx.AsyncClient() as client:
        return (await client.post(f"{emu.base_url}{TOKEN}/{method}", json=params)).json()


async def test_menu_button_rules(emu: Emulator) -> None:
    ok = await call(emu, "setChatMenuButton", menu_button={
        "type": "web_app", "text": "Shop", "web_app": {"url": "https://shop.example/app"}})
    assert ok == {"ok": True, "result": True}
    assert (await call(emu, "getChatMenuButton", chat_id=ALICE))["result"]["text"] == "Shop"
    local = await call(emu, "setChatMenuButton", chat_id=ALICE, menu_button={
        "type": "web_app", "text": "Local", "web_app": {"url": "http://127.0.0.1:8080/app"}})
    assert local["ok"] is True
    for button in ({"type": "web_app", "text": "x", "web_app": {"url": "http://shop.example/app"}},
                   {"type": "web_app", "text": "", "web_app": {"url": "https://shop.example/app"}},
                   {"type": "website"}):
        refused = await call(emu, "setChatMenuButton", menu_button=button)
        assert refused["ok"] is False and refused["error_code"] == 400, button
    assert len(emu.violations) == 3
    emu.core.obs.violations.clear()
    assert (await call(emu, "setChatMenuButton", chat_id=-5, menu_button={"type": "default"}))["ok"] is False


async def test_prepared_message_is_stored_checked_and_shared(emu: Emulator) -> None:
    saved = await call(emu, "savePreparedInlineMessage", user_id=ALICE, result=PHOTO,
                       allow_group_chats=True)
    assert saved["ok"] is True and saved["result"]["expiration_date"] > 0
    prepared_id = saved["result"]["id"]
    chat = emu.create_group("Friends", admins=[ALICE], members=[BOB])
    message = emu.share_prepared_message(ALICE, prepared_id, chat)
    assert message["via_bot"]["username"] == "kocbot_demo_bot" and message["caption"] == "Deal"
    assert message["reply_markup"] == PHOTO["reply_markup"]
    with pytest.raises(EmulatorError, match="belongs to user"):
        emu.share_prepared_message(BOB, prepared_id, chat)
    with pytest.raises(EmulatorError, match="may not be sent to a user chat"):
        emu.share_prepared_message(ALICE, prepared_id, ALICE)
    unknown = await call(emu, "savePreparedInlineMessage", user_id=987654, result=PHOTO)
    assert unknown["ok"] is False and "USER_ID_INVALID" in unknown["description"]
    bad = await call(emu, "savePreparedInlineMessage", user_id=ALICE,
                     result={**PHOTO, "reply_markup": {"inline_keyboard": [[{"text": "x"}]]}})
    assert bad["ok"] is False and len(emu.violations) == 1
    emu.core.obs.violations.clear()


async def test_init_data_is_signed_for_the_user(emu: Emulator) -> None:
    raw = emu.init_data(BOB, start_param="d_7")
    user = check_init_data(raw, key=secret_key(TOKEN), now=datetime.now(UTC))
    assert (user.id, user.first_name, user.username) == (BOB, "Bob", "bob")
    assert "start_param=d_7" in raw
