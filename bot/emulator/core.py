"""Shared state of one emulator instance plus the access rules every Bot API handler applies."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from .faults import TENTHS_PER_PAID_MESSAGE, FaultPlan, RateLimiter
from .models import Call, UploadedFile, Violation, world_error
from .spec import Spec
from .world import ChatState, World


@dataclass
class Observations:
    """Everything tests look at after the bot ran."""

    calls: list[Call] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    callback_answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    inline_answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    uploads: int = 0
    sent_from: int = 0  # index into World.bot_sent where sent() starts (reset_observations)


@dataclass
class ApiRequest:
    """One decoded Bot API call while it is being handled."""

    method: str
    params: dict[str, Any]
    files: dict[str, UploadedFile]
    soft: list[str] = field(default_factory=list)  # violations that do not fail the call
    # Set by the server: has the HTTP client gone away (cancelled long poll)?
    disconnected: Callable[[], Awaitable[bool]] | None = None


class Core:
    """What the handlers, the user-action helpers and the facade share."""

    def __init__(self, token: str, bot_user: dict[str, Any], spec: Spec) -> None:
        self.token = token
        self.bot_username: str = bot_user["username"]
        self.spec = spec
        self.world = World(bot_user)
        self.obs = Observations()
        self.faults = FaultPlan()
        self.rate = RateLimiter()
        # The bot's Star transactions, oldest first: paid-broadcast fees, one per minute of use.
        self.star_transactions: list[dict[str, Any]] = []
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}  # None: the default button
        self.prepared: dict[str, dict[str, Any]] = {}  # savePreparedInlineMessage, by id
        self.webhook: dict[str, Any] | None = None
        self.webhook_error: tuple[int, str] | None = None
        self.fail_unknown_thread = True
        self.closing = asyncio.Event()
        self.poll_generation = 0  # bumped by each getUpdates; an older poll then gets 409
        # Set by the server: starts/stops pushing the queue to a configured webhook.
        self.on_webhook_change: Callable[[], None] | None = None

    def bill_paid_message(self) -> None:
        """Charge 0.1 Star for one paid message over the free limit, to this minute's transaction."""
        minute = int(time.time()) // 60 * 60
        last = self.star_transactions[-1] if self.star_transactions else None
        if last is None or last["date"] != minute:
            last = {"id": f"paid-broadcast-{minute}", "date": minute, "amount": 0,
                    "receiver": {"type": "telegram_api", "request_count": 0}}
            self.star_transactions.append(last)
        count = last["receiver"]["request_count"] = last["receiver"]["request_count"] + 1
        tenths = count * TENTHS_PER_PAID_MESSAGE
        last["amount"] = tenths // 10
        if tenths % 10:
            last["nanostar_amount"] = tenths % 10 * 100_000_000
        else:
            last.pop("nanostar_amount", None)

    def changed_webhook(self) -> None:
        """Tell the webhook sender that setWebhook/deleteWebhook ran."""
        if self.on_webhook_change is not None:
            self.on_webhook_change()

    @property
    def bot(self) -> dict[str, Any]:
        """The bot's own User dict."""
        return self.world.bot

    def violation(self, method: str, reason: str, params: dict[str, Any]) -> None:
        """Record a malformed call."""
        self.obs.violations.append(Violation(method, reason, dict(params)))

    async def sleep(self, seconds: float) -> None:
        """Sleep, but wake early when the emulator stops (so shutdown never hangs)."""
        if seconds <= 0:
            return
        try:
            await asyncio.wait_for(self.closing.wait(), seconds)
        except TimeoutError:
            pass

    # --- access rules -----------------------------------------------------------------

    def find_chat(self, chat_id: int | str) -> ChatState:
        """Look a chat_id up the way Telegram does: unknown -> 400 chat not found."""
        world = self.world
        if isinstance(chat_id, str):
            # Emulated chats have no public @usernames.
            raise world_error(400, "chat not found")
        chat = world.chats.get(chat_id)
        if chat is not None:
            return chat
        if chat_id > 0 and chat_id in world.users:
            return world.chat(chat_id)
        raise world_error(400, "chat not found")

    def writable_chat(self, chat_id: int | str) -> ChatState:
        """A chat the bot may post to, or the error Telegram gives (kicked, migrated, ...)."""
        chat = self.find_chat(chat_id)
        if chat.type == "private":
            if chat.id not in self.world.started:
                raise world_error(403, "bot can't initiate conversation with a user")
            return chat
        if chat.migrated_to is not None:
            raise world_error(
                400, "group chat was upgraded to a supergroup chat",
                migrate_to_chat_id=chat.migrated_to,
            )
        kind = "supergroup" if chat.type == "supergroup" else "group"
        if chat.bot_status == "kicked":
            raise world_error(403, f"bot was kicked from the {kind} chat")
        if not chat.bot_present:
            raise world_error(403, f"bot is not a member of the {kind} chat")
        return chat

    def thread(self, chat: ChatState, thread_id: int | None) -> int | None:
        """Validate message_thread_id: it must be a topic of a forum supergroup."""
        if thread_id is None:
            return None
        if chat.is_forum and thread_id in chat.topics:
            return thread_id
        if self.fail_unknown_thread:
            raise world_error(400, "message thread not found")
        return thread_id

    def reply_to(self, chat: ChatState, params: dict[str, Any]) -> dict[str, Any] | None:
        """The message a send replies to (reply_parameters), or the Telegram error."""
        reply = params.get("reply_parameters")
        if not isinstance(reply, dict) or "message_id" not in reply:
            return None
        target_chat = reply.get("chat_id", chat.id)
        target = self.world.message(target_chat if isinstance(target_chat, int) else chat.id,
                                    reply["message_id"])
        if target is None:
            if reply.get("allow_sending_without_reply"):
                return None
            raise world_error(400, "message to be replied not found")
        return {k: v for k, v in target.items() if k != "reply_to_message"}

    def bot_post(
        self, method: str, chat: ChatState, fields: dict[str, Any], thread_id: int | None
    ) -> dict[str, Any]:
        """Store a message sent by the bot and count it for flood control."""
        message = self.world.post(chat, self.bot, fields, thread_id)
        self.world.bot_sent.append((method, chat.id, message["message_id"]))
        self.rate.record(chat.id)
        return message

    def sent(self, chat_id: int | None = None, method: str | None = None) -> list[dict[str, Any]]:
        """Copies of the messages the bot sent (current version, deleted left out), oldest first."""
        result = []
        for sent_method, cid, mid in self.world.bot_sent[self.obs.sent_from:]:
            if chat_id is not None and cid != chat_id:
                continue
            if method is not None and sent_method != method:
                continue
            message = self.world.message(cid, mid)
            if message is not None:
                result.append(dict(message))
        return result
