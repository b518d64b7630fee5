"""Bot API handlers for updates, webhooks, commands, chat info, callbacks and inline answers."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from . import actions
from .core import ApiRequest, Core
from .models import ApiError, bad_request, world_error
from .validation import (
    CALLBACK_TEXT_LIMIT,
    check_reply_markup,
    deep_link_issues,
    own_start_link,
    parse_content,
)
from .world import ChatState, member_dict

QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
_COMMAND_NAME = re.compile(r"[a-z0-9_]{1,32}")
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


def get_me(core: Core, req: ApiRequest) -> dict[str, Any]:
    """getMe."""
    return {**core.bot, "can_read_all_group_messages": not core.world.privacy_mode}


async def get_updates(core: Core, req: ApiRequest) -> list[dict[str, Any]]:
    """getUpdates: confirm-by-offset, long polling, allowed_updates, one poller at a time."""
    world = core.world
    p = req.params
    if core.webhook is not None:
        raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                            "use deleteWebhook to delete the webhook first")
    if "allowed_updates" in p:
        allowed = p["allowed_updates"]
        world.allowed_updates = frozenset(allowed) if allowed else None
        world.drop_disallowed()
    offset = p.get("offset")
    if offset:
        if offset > 0:
            world.confirm(offset)
        else:
            world.updates = world.updates[offset:]
    limit = p.get("limit", 100)
    if not 1 <= limit <= 100:
        limit = 100  # Telegram clamps silently
    # A newer poll terminates an older one, like Telegram (two bot instances running).
    core.poll_generation += 1
    generation = core.poll_generation
    world.notify()
    deadline = time.monotonic() + max(0, p.get("timeout", 0))
    while True:
        if core.poll_generation != generation:
            if req.disconnected is not None and await req.disconnected():
                return []  # the client cancelled this poll itself; nobody reads the answer
            raise ApiError(409, "Conflict: terminated by other getUpdates request; make sure "
                                "that only one bot instance is running")
        ready = [u for u in world.updates if world.allowed(u)][:limit]
        remaining = deadline - time.monotonic()
        if ready or remaining <= 0 or core.closing.is_set():
            return ready
        # stop() and newer polls call world.notify(), so waiting on the event is enough.
        try:
            await asyncio.wait_for(world.update_event().wait(), remaining)
        except TimeoutError:
            pass


def set_webhook(core: Core, req: ApiRequest) -> bool:
    """setWebhook (an empty url removes it)."""
    p = req.params
    if not p["url"]:
        return delete_webhook(core, req)
    secret = p.get("secret_token")
    if secret is not None and not _SECRET.fullmatch(secret):
        raise bad_request("secret token contains unallowed characters",
                          reason="secret_token must be 1-256 chars of A-Za-z0-9_-")
    connections = p.get("max_connections", 40)
    if not 1 <= connections <= 100:
        raise bad_request("bad webhook: max_connections must be 1-100")
    if p.get("drop_pending_updates"):
        core.world.updates.clear()
    if "allowed_updates" in p:
        allowed = p["allowed_updates"]
        core.world.allowed_updates = frozenset(allowed) if allowed else None
        core.world.drop_disallowed()
    core.webhook = {"url": p["url"], "secret_token": secret, "max_connections": connections,
                    "allowed_updates": p.get("allowed_updates")}
    core.webhook_error = None
    core.changed_webhook()
    return True


def delete_webhook(core: Core, req: ApiRequest) -> bool:
    """deleteWebhook."""
    if req.params.get("drop_pending_updates"):
        core.world.updates.clear()
    core.webhook = None
    core.changed_webhook()
    return True


def get_webhook_info(core: Core, req: ApiRequest) -> dict[str, Any]:
    """getWebhookInfo."""
    info: dict[str, Any] = {
        "url": core.webhook["url"] if core.webhook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(core.world.updates),
    }
    if core.webhook:
        info["max_connections"] = core.webhook["max_connections"]
        if core.webhook.get("allowed_updates") is not None:
            info["allowed_updates"] = core.webhook["allowed_updates"]
    if core.webhook_error:
        info["last_error_date"], info["last_error_message"] = core.webhook_error
    return info


# --- callbacks and inline mode --------------------------------------------------------


def answer_callback_query(core: Core, req: ApiRequest) -> bool:
    """answerCallbackQuery: text <= 200, url only the bot's own t.me start link."""
    p = req.params
    if len(p.get("text") or "") > CALLBACK_TEXT_LIMIT:
        raise bad_request("MESSAGE_TOO_LONG", reason=f"callback answer text > {CALLBACK_TEXT_LIMIT}")
    url = p.get("url")
    if url is not None and not own_start_link(url, core.bot_username):
        raise bad_request("URL_INVALID", reason=f"url {url!r} is not https://t.me/"
                          f"{core.bot_username}?start=<1-64 chars of A-Za-z0-9_->")
    query = core.world.callback_queries.get(p["callback_query_id"])
    if query is None or query["answered"]:
        raise world_error(400, QUERY_INVALID)
    query["answered"] = True
    core.obs.callback_answers[p["callback_query_id"]] = dict(p)
    return True


def answer_inline_query(core: Core, req: ApiRequest) -> bool:
    """answerInlineQuery: <= 50 results, unique ids, cached photos must exist."""
    p = req.params
    results = p["results"]
    if len(results) > 50:
        raise bad_request("RESULTS_TOO_MUCH", reason=f"{len(results)} results (> 50)")
    seen: set[str] = set()
    for result in results:
        _check_result(core, req, result, seen)
    query = core.world.inline_queries.get(p["inline_query_id"])
    if query is None or query["results"] is not None:
        raise world_error(400, QUERY_INVALID)
    query["results"] = results
    core.obs.inline_answers[p["inline_query_id"]] = dict(p)
    return True


def _check_result(core: Core, req: ApiRequest, result: dict[str, Any], seen: set[str]) -> None:
    rid = result.get("id", "")
    if not 1 <= len(rid.encode("utf-8")) <= 64:
        raise bad_request("RESULT_ID_INVALID", reason=f"result id {rid!r} must be 1-64 bytes")
    if rid in seen:
        raise bad_request("RESULT_ID_DUPLICATE", reason=f"result id {rid!r} used twice")
    seen.add(rid)
    if "photo_file_id" in result and core.world.files.photo_sizes(result["photo_file_id"]) is None:
        raise bad_request("wrong file identifier/HTTP URL specified",
                          reason=f"result {rid!r}: photo_file_id was never issued")
    if "reply_markup" in result:
        check_reply_markup(result["reply_markup"], req.soft)
    if result.get("caption"):
        parse_content(result["caption"], result.get("parse_mode"), result.get("caption_entities"),
                      caption=True)
        req.soft.extend(deep_link_issues(result["caption"]))
    content = result.get("input_message_content")
    if isinstance(content, dict) and "message_text" in content:
        parse_content(content["message_text"], content.get("parse_mode"), content.get("entities"),
                      caption=False)
        req.soft.extend(deep_link_issues(content["message_text"]))


# --- commands -------------------------------------------------------------------------


def scope_key(scope: dict[str, Any] | None, language_code: str | None) -> str:
    """Key of emu.commands: scope type (+":chat_id" (+":user_id")) (+"/lang")."""
    scope = scope or {"type": "default"}
    key = scope.get("type", "default")
    if "chat_id" in scope:
        key += f":{scope['chat_id']}"
    if "user_id" in scope:
        key += f":{scope['user_id']}"
    return f"{key}/{language_code}" if language_code else key


def set_my_commands(core: Core, req: ApiRequest) -> bool:
    """setMyCommands."""
    commands = req.params["commands"]
    if len(commands) > 100:
        raise bad_request("BOT_COMMANDS_TOO_MUCH", reason=f"{len(commands)} commands (> 100)")
    for command in commands:
        name, description = command.get("command", ""), command.get("description", "")
        if not _COMMAND_NAME.fullmatch(name):
            raise bad_request("BOT_COMMAND_INVALID",
                              reason=f"command {name!r} must be 1-32 chars of a-z0-9_")
        if not 1 <= len(description) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID",
                              reason=f"/{name} description must be 1-256 chars")
    key = scope_key(req.params.get("scope"), req.params.get("language_code"))
    if commands:
        core.commands[key] = [dict(c) for c in commands]
    else:
        core.commands.pop(key, None)
    return True


def get_my_commands(core: Core, req: ApiRequest) -> list[dict[str, Any]]:
    """getMyCommands."""
    key = scope_key(req.params.get("scope"), req.params.get("language_code"))
    return core.commands.get(key, [])


def delete_my_commands(core: Core, req: ApiRequest) -> bool:
    """deleteMyCommands."""
    core.commands.pop(scope_key(req.params.get("scope"), req.params.get("language_code")), None)
    return True


# --- chat information -----------------------------------------------------------------


def _readable(core: Core, chat_id: int | str) -> ChatState:
    chat = core.find_chat(chat_id)
    if chat.type == "private" and chat.id not in core.world.started:
        raise world_error(400, "chat not found")
    return chat if chat.type == "private" else core.writable_chat(chat_id)


def get_chat(core: Core, req: ApiRequest) -> dict[str, Any]:
    """getChat (a ChatFullInfo with the fields PTB requires)."""
    chat = _readable(core, req.params["chat_id"])
    info = core.world.chat_dict(chat)
    info.update({
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {"unlimited_gifts": False, "limited_gifts": False,
                                "unique_gifts": False, "premium_subscription": False,
                                "gifts_from_channels": False},
    })
    return info


def get_chat_member(core: Core, req: ApiRequest) -> dict[str, Any]:
    """getChatMember."""
    chat = _readable(core, req.params["chat_id"])
    user_id = req.params["user_id"]
    if user_id != core.bot["id"] and user_id not in core.world.users:
        raise world_error(400, "user not found")
    user = core.world.user(user_id)
    return member_dict(user, core.world.member_status(chat, user_id))


def get_chat_administrators(core: Core, req: ApiRequest) -> list[dict[str, Any]]:
    """getChatAdministrators."""
    chat = _readable(core, req.params["chat_id"])
    if chat.type == "private":
        raise world_error(400, "there are no administrators in the private chat")
    admins = [member_dict(core.world.user(uid), status) for uid, status in chat.members.items()
              if status in ("creator", "administrator")]
    if chat.bot_status == "administrator":
        admins.append(member_dict(core.bot, "administrator"))
    return admins


def get_chat_member_count(core: Core, req: ApiRequest) -> int:
    """getChatMemberCount."""
    chat = _readable(core, req.params["chat_id"])
    if chat.type == "private":
        return 2
    return len(chat.members) + (1 if chat.bot_present else 0)


def leave_chat(core: Core, req: ApiRequest) -> bool:
    """leaveChat: the bot leaves a group (my_chat_member -> left)."""
    chat = core.writable_chat(req.params["chat_id"])
    if chat.type == "private":
        raise world_error(400, "chat member status can't be changed in private chats")
    actions.set_bot_status(core, chat, core.bot["id"], "left")
    return True


def no_op(core: Core, req: ApiRequest) -> bool:
    """Accepted and ignored (menu button, descriptions)."""
    return True


def get_star_transactions(core: Core, req: ApiRequest) -> dict[str, Any]:
    """getStarTransactions: oldest first, ``offset`` skipped, at most ``limit`` (1-100)."""
    offset = req.params.get("offset", 0)
    limit = req.params.get("limit", 100)
    if not isinstance(offset, int) or offset < 0:
        raise bad_request("offset", reason="must be 0 or more")
    if not isinstance(limit, int) or not 1 <= limit <= 100:
        limit = 100  # as getUpdates, out-of-range limits are clamped
    return {"transactions": [dict(t, receiver=dict(t["receiver"]))
                             for t in core.star_transactions[offset:offset + limit]]}


HANDLERS = {
    "getStarTransactions": get_star_transactions,
    "getMe": get_me,
    "getUpdates": get_updates,
    "setWebhook": set_webhook,
    "deleteWebhook": delete_webhook,
    "getWebhookInfo": get_webhook_info,
    "answerCallbackQuery": answer_callback_query,
    "answerInlineQuery": answer_inline_query,
    "setMyCommands": set_my_commands,
    "getMyCommands": get_my_commands,
    "deleteMyCommands": delete_my_commands,
    "getChat": get_chat,
    "getChatMember": get_chat_member,
    "getChatAdministrators": get_chat_administrators,
    "getChatMemberCount": get_chat_member_count,
    "leaveChat": leave_chat,
    "setMyDescription": no_op,
    "setMyShortDescription": no_op,
    "setMyName": no_op,
}
