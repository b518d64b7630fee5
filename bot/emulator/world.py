"""The simulated world: users, chats, memberships, messages and the pending update queue."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from .files import FileStore
from .models import EmulatorError

SUPERGROUP_BASE = 1_000_000_000_000  # "-100..." ids are -(SUPERGROUP_BASE + n)
_ADMIN_RIGHTS = (
    "can_manage_chat", "can_delete_messages", "can_manage_video_chats", "can_restrict_members",
    "can_promote_members", "can_change_info", "can_invite_users", "can_post_stories",
    "can_edit_stories", "can_delete_stories", "can_pin_messages", "can_manage_topics",
)
# Telegram's default allowed_updates leaves these out.
NOT_DEFAULT_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


@dataclass
class ChatState:
    """One chat as the emulator sees it."""

    id: int
    type: str  # private | group | supergroup
    title: str | None = None
    user_id: int | None = None  # the other side of a private chat
    is_forum: bool = False
    members: dict[int, str] = field(default_factory=dict)  # user id -> creator/administrator/member
    bot_status: str = "left"  # left | member | administrator | kicked
    migrated_to: int | None = None
    topics: dict[int, str] = field(default_factory=dict)
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)
    next_message_id: int = 1

    @property
    def bot_present(self) -> bool:
        """Is the bot currently in the chat (so it receives updates from it)?"""
        return self.bot_status in ("member", "administrator")


def member_dict(user: dict[str, Any], status: str) -> dict[str, Any]:
    """A ChatMember dict with every field PTB requires for that status."""
    if status == "creator":
        return {"status": "creator", "user": user, "is_anonymous": False}
    if status == "administrator":
        rights = {right: True for right in _ADMIN_RIGHTS}
        return {"status": "administrator", "user": user, "can_be_edited": False,
                "is_anonymous": False, **rights}
    if status == "kicked":
        return {"status": "kicked", "user": user, "until_date": 0}
    return {"status": status, "user": user}


class World:
    """State shared by the Bot API handlers and the user-action helpers."""

    def __init__(self, bot_user: dict[str, Any]) -> None:
        self.bot = bot_user
        self.users: dict[int, dict[str, Any]] = {}
        self.chats: dict[int, ChatState] = {}
        self.started: set[int] = set()  # users who wrote to the bot in private
        self.files = FileStore()
        self.privacy_mode = True
        self.updates: list[dict[str, Any]] = []  # unconfirmed, oldest first
        self.next_update_id = 100_000
        self.allowed_updates: frozenset[str] | None = None  # None = Telegram's default set
        self.callback_queries: dict[str, dict[str, Any]] = {}
        self.inline_queries: dict[str, dict[str, Any]] = {}
        self.inline_messages: dict[str, tuple[int, int]] = {}
        self.bot_sent: list[tuple[str, int, int]] = []  # (method, chat id, message id)
        self._event = asyncio.Event()
        self._ids = 0

    def new_id(self) -> int:
        """A fresh number for generated ids."""
        self._ids += 1
        return self._ids

    # --- users and chats ------------------------------------------------------------

    def add_user(
        self, user_id: int, first_name: str, *, username: str | None, language_code: str
    ) -> dict[str, Any]:
        """Register a user and return its User dict."""
        if user_id <= 0:
            raise EmulatorError("user ids must be positive")
        if user_id == self.bot["id"]:
            raise EmulatorError("that id belongs to the bot")
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name,
                                "language_code": language_code}
        if username:
            user["username"] = username
        self.users[user_id] = user
        return user

    def user(self, user_id: int) -> dict[str, Any]:
        """User dict of a registered user (EmulatorError otherwise)."""
        if user_id == self.bot["id"]:
            return self.bot
        try:
            return self.users[user_id]
        except KeyError:
            raise EmulatorError(f"unknown user {user_id}; call add_user() first") from None

    def chat(self, chat_id: int) -> ChatState:
        """A registered chat; private chats are created on first use."""
        if chat_id in self.chats:
            return self.chats[chat_id]
        if chat_id > 0:
            self.user(chat_id)
            chat = ChatState(id=chat_id, type="private", user_id=chat_id, bot_status="member")
            self.chats[chat_id] = chat
            return chat
        raise EmulatorError(f"unknown chat {chat_id}; call create_group() first")

    def create_group(
        self, title: str, admins: list[int], members: list[int] | tuple[int, ...],
        supergroup: bool, forum: bool, chat_id: int | None,
    ) -> int:
        """Create a basic group or supergroup; the first admin is the creator."""
        if not admins:
            raise EmulatorError("a group needs at least one admin (its creator)")
        supergroup = supergroup or forum
        if chat_id is None:
            n = self.new_id()
            chat_id = -(SUPERGROUP_BASE + n) if supergroup else -(4_000_000 + n)
        if chat_id >= 0 or chat_id in self.chats:
            raise EmulatorError(f"chat id {chat_id} must be negative and unused")
        chat = ChatState(id=chat_id, type="supergroup" if supergroup else "group", title=title,
                         is_forum=forum)
        for uid in [*admins, *members]:
            self.user(uid)
            chat.members.setdefault(uid, "member")
        for i, uid in enumerate(admins):
            chat.members[uid] = "creator" if i == 0 else "administrator"
        self.chats[chat_id] = chat
        return chat_id

    def chat_dict(self, chat: ChatState) -> dict[str, Any]:
        """The Chat dict embedded in messages and updates."""
        if chat.type == "private":
            user = self.user(chat.user_id or chat.id)
            result = {"id": chat.id, "type": "private", "first_name": user["first_name"]}
            if "username" in user:
                result["username"] = user["username"]
            return result
        result = {"id": chat.id, "type": chat.type, "title": chat.title}
        if chat.is_forum:
            result["is_forum"] = True
        return result

    def member_status(self, chat: ChatState, user_id: int) -> str:
        """creator/administrator/member/left/kicked for a user (or the bot) in a chat."""
        if user_id == self.bot["id"]:
            return chat.bot_status
        if chat.type == "private":
            return "member" if user_id == chat.id else "left"
        return chat.members.get(user_id, "left")

    # --- messages ---------------------------------------------------------------------

    def post(
        self, chat: ChatState, sender: dict[str, Any], fields: dict[str, Any],
        thread_id: int | None = None,
    ) -> dict[str, Any]:
        """Store a new message in a chat and return it."""
        message_id = chat.next_message_id
        chat.next_message_id += 1
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": sender,
            "chat": self.chat_dict(chat),
            "date": int(time.time()),
        }
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        message.update(fields)
        chat.messages[message_id] = message
        return message

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """A message that still exists (not deleted)."""
        chat = self.chats.get(chat_id)
        if chat is None or message_id in chat.deleted:
            return None
        return chat.messages.get(message_id)

    # --- updates ----------------------------------------------------------------------

    def enqueue(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue an Update of the given kind and wake pollers / the webhook sender."""
        update = {"update_id": self.next_update_id, kind: payload}
        self.next_update_id += 1
        if self.allowed(update):  # Telegram does not even store updates the bot opted out of
            self.updates.append(update)
            self.notify()
        return update

    def notify(self) -> None:
        """Wake everything waiting for updates (each waiter holds the event it saw)."""
        event, self._event = self._event, asyncio.Event()
        event.set()

    def update_event(self) -> asyncio.Event:
        """The event that the next enqueue() sets."""
        return self._event

    def allowed(self, update: dict[str, Any]) -> bool:
        """Does the current allowed_updates filter let this update through?"""
        kind = next(k for k in update if k != "update_id")
        if self.allowed_updates is None:
            return kind not in NOT_DEFAULT_UPDATES
        return kind in self.allowed_updates

    def drop_disallowed(self) -> None:
        """Discard queued updates of types the bot no longer wants (Telegram drops them)."""
        self.updates = [u for u in self.updates if self.allowed(u)]

    def confirm(self, offset: int) -> None:
        """getUpdates confirm-by-offset: forget updates with update_id < offset."""
        self.updates = [u for u in self.updates if u["update_id"] >= offset]

    def bot_receives(self, chat: ChatState, message: dict[str, Any]) -> bool:
        """Privacy mode: in groups a non-admin bot only sees commands, mentions, replies to it."""
        if not chat.bot_present:
            return False
        if chat.type == "private" or not self.privacy_mode or chat.bot_status == "administrator":
            return True
        text = message.get("text") or message.get("caption") or ""
        name = self.bot.get("username", "").lower()
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            target = command.partition("@")[2].lower()
            return not target or target == name
        if name and f"@{name}" in text.lower():
            return True
        reply = message.get("reply_to_message") or {}
        if (reply.get("from") or {}).get("id") == self.bot["id"]:
            return True
        return bool((message.get("via_bot") or {}).get("id") == self.bot["id"])
