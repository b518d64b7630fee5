"""Bot API handlers for Mini Apps: the chat menu button and prepared inline messages, plus what
a user does with them (open the app with signed initData, share a prepared message)."""

from __future__ import annotations

import secrets
import time
from typing import Any

from bot.domain.init_data import sign_init_data

from .actions import post_inline_result
from .core import ApiRequest, Core
from .methods_misc import _check_result
from .models import EmulatorError, bad_request, world_error
from .validation import web_app_url_issue

PREPARED_TTL = 24 * 3600  # Telegram returns an expiration_date; a day is what it gives today
MENU_TEXT_MAX = 64  # GUESS: Telegram does not document it; button texts that long are unusable


def set_chat_menu_button(core: Core, req: ApiRequest) -> bool:
    """setChatMenuButton: a private chat's or the default menu button."""
    p = req.params
    chat_id = p.get("chat_id")
    if chat_id is not None:
        chat = core.find_chat(chat_id)
        if chat.type != "private":
            raise world_error(400, "chat not found")  # menu buttons exist only in private chats
    button = p.get("menu_button") or {"type": "default"}
    kind = button.get("type")
    if kind not in ("commands", "web_app", "default"):
        raise bad_request("can't parse menu button: unsupported type", reason=f"type {kind!r}")
    if kind == "web_app":
        text = button.get("text")
        if not isinstance(text, str) or not 1 <= len(text) <= MENU_TEXT_MAX:
            raise bad_request("menu button text is empty or too long", reason=f"text {text!r}")
        issue = web_app_url_issue((button.get("web_app") or {}).get("url"))
        if issue:
            raise bad_request("BUTTON_URL_INVALID", reason=issue)
    core.menu_buttons[chat_id] = dict(button)
    return True


def get_chat_menu_button(core: Core, req: ApiRequest) -> dict[str, Any]:
    """getChatMenuButton: the chat's own button, else the default one."""
    chat_id = req.params.get("chat_id")
    return core.menu_buttons.get(chat_id) or core.menu_buttons.get(None) or {"type": "default"}


def save_prepared_inline_message(core: Core, req: ApiRequest) -> dict[str, Any]:
    """savePreparedInlineMessage: one inline result, for one user to share from a Mini App."""
    p = req.params
    user_id = p["user_id"]
    if user_id not in core.world.users:
        raise world_error(400, "USER_ID_INVALID")
    result = p["result"]
    if not isinstance(result, dict):
        raise bad_request("can't parse inline query result", reason="result must be an object")
    _check_result(core, req, result, set())
    prepared_id = secrets.token_urlsafe(12)
    expires = int(time.time()) + PREPARED_TTL
    allowed = {kind for kind, flag in (("user", "allow_user_chats"), ("bot", "allow_bot_chats"),
                                       ("group", "allow_group_chats"), ("channel", "allow_channel_chats"))
               if p.get(flag)}
    core.prepared[prepared_id] = {"id": prepared_id, "user_id": user_id, "result": dict(result),
                                  "allowed": allowed, "expiration_date": expires}
    return {"id": prepared_id, "expiration_date": expires}


def share_prepared(core: Core, user_id: int, prepared_id: str, chat_id: int) -> dict[str, Any]:
    """``WebApp.shareMessage(id)``: the user picks ``chat_id`` and the result is posted there
    "via" the bot, as an inline result would be."""
    prepared = core.prepared.get(prepared_id)
    if prepared is None:
        raise EmulatorError(f"no prepared message {prepared_id!r}")
    if prepared["user_id"] != user_id:
        raise EmulatorError(f"prepared message {prepared_id!r} belongs to user {prepared['user_id']}")
    if prepared["expiration_date"] < time.time():
        raise EmulatorError(f"prepared message {prepared_id!r} has expired")
    chat = core.world.chat(chat_id)
    kind = "group" if chat.type in ("group", "supergroup") else (
        "channel" if chat.type == "channel" else "user")
    if kind not in prepared["allowed"]:
        raise EmulatorError(f"prepared message {prepared_id!r} may not be sent to a {kind} chat")
    return post_inline_result(core, user_id, prepared["result"], chat_id)


def init_data(core: Core, user_id: int, *, auth_date: int | None = None,
              start_param: str | None = None) -> str:
    """The signed initData a Telegram client hands the Mini App it opens for this user."""
    user = core.world.user(user_id)
    fields = {k: user[k] for k in ("id", "first_name", "last_name", "username", "language_code")
              if user.get(k) is not None}
    extra = {"query_id": f"AAemu{secrets.token_hex(6)}", "chat_type": "sender",
             "chat_instance": str(1000 + user_id)}
    if start_param is not None:
        extra["start_param"] = start_param
    return sign_init_data(fields, bot_token=core.token,
                          auth_date=int(time.time()) if auth_date is None else auth_date, extra=extra)


HANDLERS = {
    "setChatMenuButton": set_chat_menu_button,
    "getChatMenuButton": get_chat_menu_button,
    "savePreparedInlineMessage": save_prepared_inline_message,
}
