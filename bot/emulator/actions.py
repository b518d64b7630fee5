"""What simulated users do: write, tap buttons, add/remove the bot, use inline mode."""

from __future__ import annotations

import re
import time
from typing import Any

from .core import Core
from .files import document
from .html_text import utf16_len
from .models import EmulatorError
from .validation import DEEP_LINK_PAYLOAD, parse_content
from .world import SUPERGROUP_BASE, ChatState, member_dict

_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?=\s|$)")
_MENTION = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{5,32}\b")
_URL = re.compile(r"https?://[^\s<>\"]+", re.IGNORECASE)
_START_LINK = re.compile(r"(?:https?://)?t\.me/([A-Za-z0-9_]+)\?start=(.*)", re.IGNORECASE)


def auto_entities(text: str) -> list[dict[str, Any]]:
    """Entities a Telegram client attaches: bot_command at offset 0, mentions, URLs."""
    found: list[dict[str, Any]] = []
    command = _COMMAND.match(text)
    if command:
        found.append({"type": "bot_command", "offset": 0, "length": utf16_len(command.group(0))})
    for kind, pattern in (("mention", _MENTION), ("url", _URL)):
        for match in pattern.finditer(text):
            found.append({"type": kind, "offset": utf16_len(text[: match.start()]),
                          "length": utf16_len(match.group(0))})
    found.sort(key=lambda e: e["offset"])
    return found


def _member_update(
    core: Core, chat: ChatState, actor: dict[str, Any], old: str, new: str
) -> dict[str, Any]:
    """Enqueue a my_chat_member update for a change of the bot's status."""
    payload = {
        "chat": core.world.chat_dict(chat),
        "from": actor,
        "date": int(time.time()),
        "old_chat_member": member_dict(core.bot, old),
        "new_chat_member": member_dict(core.bot, new),
    }
    core.world.enqueue("my_chat_member", payload)
    return payload


def _group(core: Core, chat_id: int) -> ChatState:
    chat = core.world.chat(chat_id)
    if chat.type == "private":
        raise EmulatorError(f"{chat_id} is a private chat, not a group")
    if chat.migrated_to is not None:
        raise EmulatorError(f"group {chat_id} was migrated to {chat.migrated_to}")
    return chat


def _require_member(chat: ChatState, user_id: int) -> None:
    if chat.type != "private" and user_id not in chat.members:
        raise EmulatorError(f"user {user_id} is not a member of chat {chat.id}; add_member() first")


def add_bot_to_group(core: Core, chat_id: int, by_user_id: int) -> dict[str, Any]:
    """my_chat_member (left/kicked -> member) plus the new_chat_members service message."""
    chat = _group(core, chat_id)
    user = core.world.user(by_user_id)
    _require_member(chat, by_user_id)
    if chat.bot_present:
        raise EmulatorError(f"the bot is already in chat {chat_id}")
    old, chat.bot_status = chat.bot_status, "member"
    payload = _member_update(core, chat, user, old, "member")
    message = core.world.post(chat, user, {"new_chat_members": [core.bot]})
    core.world.enqueue("message", message)
    return payload


def remove_bot_from_group(core: Core, chat_id: int, by_user_id: int) -> dict[str, Any]:
    """my_chat_member (member -> kicked); later sends get 403."""
    chat = _group(core, chat_id)
    user = core.world.user(by_user_id)
    if not chat.bot_present:
        raise EmulatorError(f"the bot is not in chat {chat_id}")
    old, chat.bot_status = chat.bot_status, "kicked"
    # The service message exists in the chat, but a kicked bot never receives it.
    core.world.post(chat, user, {"left_chat_member": core.bot})
    return _member_update(core, chat, user, old, "kicked")


def set_bot_status(core: Core, chat: ChatState, actor_id: int, new: str) -> dict[str, Any]:
    """Change the bot's status (admin promotion, leaving) with its my_chat_member update."""
    old, chat.bot_status = chat.bot_status, new
    return _member_update(core, chat, core.world.user(actor_id), old, new)


def migrate_group(core: Core, chat_id: int) -> int:
    """Upgrade a basic group to a supergroup and emit both migration service messages."""
    world = core.world
    chat = _group(core, chat_id)
    if chat.type != "group":
        raise EmulatorError(f"chat {chat_id} is already a supergroup")
    new_id = -(SUPERGROUP_BASE + 5_000_000 + world.new_id())
    new = ChatState(id=new_id, type="supergroup", title=chat.title, members=dict(chat.members),
                    bot_status=chat.bot_status)
    world.chats[new_id] = new
    chat.migrated_to = new_id
    creator = next((uid for uid, s in chat.members.items() if s == "creator"), None)
    actor = world.user(creator) if creator is not None else core.bot
    old_msg = world.post(chat, actor, {"migrate_to_chat_id": new_id})
    new_msg = world.post(new, actor, {"migrate_from_chat_id": chat_id})
    if chat.bot_present:
        world.enqueue("message", old_msg)
        world.enqueue("message", new_msg)
    return new_id


def create_topic(core: Core, chat_id: int, name: str) -> int:
    """Create a forum topic; its thread id is the id of the creation service message."""
    world = core.world
    chat = _group(core, chat_id)
    if not chat.is_forum:
        raise EmulatorError(f"chat {chat_id} is not a forum supergroup")
    creator = next(uid for uid, s in chat.members.items() if s == "creator")
    message = world.post(chat, world.user(creator),
                         {"forum_topic_created": {"name": name, "icon_color": 7322096}})
    thread_id: int = message["message_id"]
    message["message_thread_id"] = thread_id
    message["is_topic_message"] = True
    chat.topics[thread_id] = name
    if chat.bot_present:
        world.enqueue("message", message)
    return thread_id


def _user_chat(core: Core, user_id: int, chat_id: int, thread_id: int | None) -> ChatState:
    if chat_id > 0 and chat_id != user_id:
        raise EmulatorError("a user writes to the bot in private with chat_id == user_id")
    chat = core.world.chat(chat_id)
    if chat.migrated_to is not None:
        raise EmulatorError(f"group {chat_id} was migrated to {chat.migrated_to}")
    _require_member(chat, user_id)
    if thread_id is not None and thread_id not in chat.topics:
        raise EmulatorError(f"chat {chat_id} has no topic {thread_id}; create_topic() first")
    return chat


def _user_post(
    core: Core, user_id: int, chat_id: int, fields: dict[str, Any], thread_id: int | None = None
) -> dict[str, Any]:
    user = core.world.user(user_id)
    chat = _user_chat(core, user_id, chat_id, thread_id)
    message = core.world.post(chat, user, fields, thread_id)
    if chat.type == "private":
        core.world.started.add(user_id)
    if core.world.bot_receives(chat, message):
        core.world.enqueue("message", message)
    return dict(message)


def send_message(
    core: Core, user_id: int, chat_id: int, text: str, message_thread_id: int | None = None,
    reply_to_message_id: int | None = None,
) -> dict[str, Any]:
    """A user writes text (commands get their bot_command entity), optionally as a reply."""
    if not text:
        raise EmulatorError("text must not be empty")
    fields: dict[str, Any] = {"text": text}
    if reply_to_message_id is not None:
        target = core.world.message(chat_id, reply_to_message_id)
        if target is None:
            raise EmulatorError(f"no message {reply_to_message_id} in chat {chat_id} to reply to")
        fields["reply_to_message"] = {k: v for k, v in target.items() if k != "reply_to_message"}
    entities = auto_entities(text)
    if entities:
        fields["entities"] = entities
    return _user_post(core, user_id, chat_id, fields, message_thread_id)


def send_document(
    core: Core, user_id: int, chat_id: int, filename: str, data: bytes,
    caption: str | None = None, mime_type: str | None = None,
) -> dict[str, Any]:
    """A user sends a file; the bot can getFile and download it."""
    fields: dict[str, Any] = {"document": core.world.files.add_document(data, filename, mime_type)}
    if caption:
        fields["caption"] = caption
        entities = auto_entities(caption)
        if entities:
            fields["caption_entities"] = entities
    return _user_post(core, user_id, chat_id, fields)


def open_start_link(core: Core, user_id: int, url_or_payload: str) -> dict[str, Any]:
    """Follow https://t.me/<bot>?start=X: the client sends "/start X" in the private chat."""
    payload = url_or_payload
    match = _START_LINK.fullmatch(url_or_payload)
    if match:
        if match.group(1).lower() != core.bot_username.lower():
            raise EmulatorError(f"{url_or_payload!r} is a link to another bot")
        payload = match.group(2)
    if not DEEP_LINK_PAYLOAD.fullmatch(payload):
        raise EmulatorError(f"deep link payload {payload!r} is not 1-64 chars of A-Za-z0-9_-")
    return send_message(core, user_id, user_id, f"/start {payload}")


# --- callback buttons and inline mode -------------------------------------------------


def _query_id(core: Core, user_id: int) -> str:
    # Telegram query ids are long decimal strings; uniqueness is all that matters.
    return f"{user_id}{core.world.new_id():010d}"


def _has_button(message: dict[str, Any], data: str) -> bool:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return any(b.get("callback_data") == data for row in rows for b in row)


def _buttons(message: dict[str, Any]) -> list[str]:
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return [b["callback_data"] for row in rows for b in row if "callback_data" in b]


def inline_message_id_of(core: Core, message: dict[str, Any]) -> str | None:
    """The inline_message_id of a message posted via inline mode, if it is one."""
    key = (message["chat"]["id"], message["message_id"])
    return next((i for i, loc in core.world.inline_messages.items() if loc == key), None)


def tap_button(core: Core, user_id: int, message: dict[str, Any], data: str, *,
               forged: bool = False) -> str:
    """A callback_query for a button of `message` (inline-mode messages work too).

    ``forged=True`` skips the check that the button exists: a modified client can send any
    callback data for any message it sees, and the bot must cope.
    """
    inline_id = inline_message_id_of(core, message)
    if inline_id is not None:
        return tap_inline_button(core, user_id, inline_id, data, forged=forged)
    world = core.world
    user = world.user(user_id)
    chat_id = message["chat"]["id"]
    current = world.message(chat_id, message["message_id"])
    if current is None:
        raise EmulatorError(f"message {message['message_id']} in {chat_id} no longer exists")
    _require_member(world.chat(chat_id), user_id)
    if world.chat(chat_id).type == "private" and chat_id != user_id:
        raise EmulatorError("a user can only tap buttons in their own private chat")
    if not forged and not _has_button(current, data):
        raise EmulatorError(f"no button with callback_data {data!r}; buttons: {_buttons(current)}")
    qid = _query_id(core, user_id)
    world.callback_queries[qid] = {"answered": False, "user_id": user_id}
    world.enqueue("callback_query", {"id": qid, "from": user, "message": dict(current),
                                     "chat_instance": str(abs(chat_id) * 7 + 1), "data": data})
    return qid


def tap_inline_button(core: Core, user_id: int, inline_message_id: str, data: str, *,
                      forged: bool = False) -> str:
    """A callback_query for a button of a message sent in inline mode."""
    world = core.world
    user = world.user(user_id)
    location = world.inline_messages.get(inline_message_id)
    current = world.message(*location) if location else None
    if current is None:
        raise EmulatorError(f"unknown inline message {inline_message_id!r}")
    if not forged and not _has_button(current, data):
        raise EmulatorError(f"no button with callback_data {data!r}; buttons: {_buttons(current)}")
    qid = _query_id(core, user_id)
    world.callback_queries[qid] = {"answered": False, "user_id": user_id}
    world.enqueue("callback_query", {"id": qid, "from": user, "inline_message_id": inline_message_id,
                                     "chat_instance": str(abs(current["chat"]["id"]) * 7 + 3),
                                     "data": data})
    return qid


def inline_query(core: Core, user_id: int, query: str, chat_type: str = "sender", offset: str = "") -> str:
    """A user types "@bot query" (or scrolls to ``offset``); returns the inline query id."""
    if len(query) > 256:
        raise EmulatorError("inline queries are at most 256 characters")
    user = core.world.user(user_id)
    qid = _query_id(core, user_id)
    core.world.inline_queries[qid] = {"user_id": user_id, "query": query, "results": None}
    core.world.enqueue("inline_query", {"id": qid, "from": user, "query": query, "offset": offset,
                                        "chat_type": chat_type})
    return qid


def choose_inline_result(
    core: Core, user_id: int, query_id: str, result_id: str, chat_id: int
) -> dict[str, Any]:
    """Post a result of answerInlineQuery into a chat "via" the bot; emits chosen_inline_result."""
    world = core.world
    query = world.inline_queries.get(query_id)
    if query is None:
        raise EmulatorError(f"unknown inline query {query_id!r}")
    if query["results"] is None:
        raise EmulatorError(f"the bot has not answered inline query {query_id!r} yet")
    result = next((r for r in query["results"] if r.get("id") == result_id), None)
    if result is None:
        ids = [r.get("id") for r in query["results"]]
        raise EmulatorError(f"no result {result_id!r} in the answer; results: {ids}")
    message = post_inline_result(core, user_id, result, chat_id)
    chosen: dict[str, Any] = {"result_id": result_id, "from": world.user(user_id),
                              "query": query["query"]}
    if result.get("reply_markup"):
        chosen["inline_message_id"] = inline_message_id_of(core, message)  # only with a keyboard
    world.enqueue("chosen_inline_result", chosen)
    return message


def post_inline_result(core: Core, user_id: int, result: dict[str, Any], chat_id: int) -> dict[str, Any]:
    """Post an inline result (answered or prepared) into a chat "via" the bot."""
    world = core.world
    user = world.user(user_id)
    chat = _user_chat(core, user_id, chat_id, None)
    fields = {**_result_content(core, result), "via_bot": core.bot}
    markup = result.get("reply_markup")
    if markup:
        fields["reply_markup"] = markup
    message = world.post(chat, user, fields)
    world.inline_messages[f"AgAAAemu{world.new_id():08d}"] = (chat.id, message["message_id"])
    if chat.type == "private":
        world.started.add(user_id)
    if world.bot_receives(chat, message):
        world.enqueue("message", message)
    return dict(message)


def _result_content(core: Core, result: dict[str, Any]) -> dict[str, Any]:
    """Message fields for an inline result (input_message_content wins, as on Telegram)."""
    content = result.get("input_message_content")
    if isinstance(content, dict) and "message_text" in content:
        text, entities = parse_content(content["message_text"], content.get("parse_mode"),
                                       content.get("entities"), caption=False)
        return {"text": text, **({"entities": entities} if entities else {})}
    files = core.world.files
    kind = result.get("type")
    if kind == "photo":
        if "photo_file_id" in result:
            sizes = files.photo_sizes(result["photo_file_id"]) or []
        else:
            sizes = files.add_photo(None, result.get("photo_width", 800),
                                    result.get("photo_height", 600))
        fields: dict[str, Any] = {"photo": sizes}
    elif kind == "document" and "document_file_id" in result:
        stored = files.get(result["document_file_id"])
        if stored is None:
            raise EmulatorError(f"unknown document_file_id in inline result {result.get('id')!r}")
        fields = {"document": document(stored)}
    else:
        raise EmulatorError(f"the emulator cannot post inline results of type {kind!r}")
    if result.get("caption"):
        caption, entities = parse_content(result["caption"], result.get("parse_mode"),
                                          result.get("caption_entities"), caption=True)
        if caption:
            fields["caption"] = caption
            if entities:
                fields["caption_entities"] = entities
    return fields
