"""The public facade: a local Telegram Bot API for tests and the offline demo."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from . import actions, methods_webapp
from .core import Core
from .models import Call, EmulatorError, Violation
from .server import HttpServer
from .spec import Spec
from .webhook import WebhookSender


class Emulator:
    """A Bot API server on 127.0.0.1 plus a scriptable world of users and chats."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",  # noqa: S107 - a fake token for an offline server
        bot_username: str = "kocbot_demo_bot",
        bot_id: int | None = None,
        spec_path: str | os.PathLike[str] | None = None,
    ) -> None:
        if bot_id is None:
            prefix = token.split(":", 1)[0]
            bot_id = int(prefix) if prefix.isdigit() else 1
        name = bot_username.removesuffix("_bot").removesuffix("bot").replace("_", " ").strip()
        bot_user = {
            "id": bot_id,
            "is_bot": True,
            "first_name": name.title() or bot_username,
            "username": bot_username,
            "can_join_groups": True,
            "supports_inline_queries": True,
        }
        self.spec = Spec.load(spec_path)
        self.core = Core(token, bot_user, self.spec)
        self._http = HttpServer(self.core)
        self._webhook = WebhookSender(self.core)
        self.port: int | None = None

    # --- lifecycle --------------------------------------------------------------------

    async def start(self) -> Emulator:
        """Serve on 127.0.0.1:<free port> as a task of the running event loop."""
        if self.port is not None:
            raise EmulatorError("emulator already started")
        self.core.closing = asyncio.Event()
        self.port = await self._http.start()
        if self.core.webhook is not None:
            self._webhook.refresh()
        return self

    async def stop(self) -> None:
        """Release long polls and delayed answers, stop webhook delivery and the server."""
        self.core.closing.set()
        self.core.world.notify()
        await self._webhook.stop()
        await self._http.stop()
        self.port = None

    async def __aenter__(self) -> Emulator:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT"""
        if self.port is None:
            raise EmulatorError("emulator not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """Pass to ApplicationBuilder().base_url(); PTB appends the token."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """Pass to ApplicationBuilder().base_file_url()."""
        return f"{self.url}/file/bot"

    @property
    def token(self) -> str:
        """The only token the emulator accepts."""
        return self.core.token

    @property
    def bot_user(self) -> dict[str, Any]:
        """The bot's User dict."""
        return self.core.bot

    # --- world model ------------------------------------------------------------------

    def add_user(self, user_id: int, first_name: str, *, username: str | None = None,
                 language_code: str = "en") -> dict[str, Any]:
        """Register a user; returns its User dict."""
        return self.core.world.add_user(user_id, first_name, username=username,
                                        language_code=language_code)

    def create_group(self, title: str, *, admins: list[int], members: list[int] | tuple[int, ...] = (),
                     supergroup: bool = False, forum: bool = False,
                     chat_id: int | None = None) -> int:
        """Create a group (bot not in it yet: use add_bot_to_group); returns the chat id."""
        return self.core.world.create_group(title, admins, members, supergroup, forum, chat_id)

    def add_member(self, chat_id: int, user_id: int) -> None:
        """Make a user a member of a group (no update is emitted)."""
        self.core.world.user(user_id)
        self.core.world.chat(chat_id).members.setdefault(user_id, "member")

    def set_admin(self, chat_id: int, user_id: int, is_admin: bool = True) -> None:
        """Promote/demote a member; for the bot's own id this emits my_chat_member."""
        chat = self.core.world.chat(chat_id)
        if user_id == self.core.bot["id"]:
            if not chat.bot_present:
                raise EmulatorError("add the bot to the group before promoting it")
            status = "administrator" if is_admin else "member"
            if chat.bot_status != status:
                creator = next(uid for uid, s in chat.members.items() if s == "creator")
                actions.set_bot_status(self.core, chat, creator, status)
            return
        if chat.members.get(user_id) == "creator":
            raise EmulatorError("the creator's status cannot change")
        self.core.world.user(user_id)
        chat.members[user_id] = "administrator" if is_admin else "member"

    def create_topic(self, chat_id: int, name: str) -> int:
        """Create a topic in a forum supergroup; returns its message_thread_id."""
        return actions.create_topic(self.core, chat_id, name)

    @property
    def privacy_mode(self) -> bool:
        """Group privacy (default on): a non-admin bot sees only commands/mentions/replies."""
        return self.core.world.privacy_mode

    @privacy_mode.setter
    def privacy_mode(self, value: bool) -> None:
        self.core.world.privacy_mode = value

    @property
    def fail_unknown_thread(self) -> bool:
        """A message_thread_id that is no forum topic -> 400 message thread not found."""
        return self.core.fail_unknown_thread

    @fail_unknown_thread.setter
    def fail_unknown_thread(self, value: bool) -> None:
        self.core.fail_unknown_thread = value

    # --- user actions -----------------------------------------------------------------

    def add_bot_to_group(self, chat_id: int, by_user_id: int) -> dict[str, Any]:
        """my_chat_member left -> member (plus the new_chat_members service message)."""
        return actions.add_bot_to_group(self.core, chat_id, by_user_id)

    def remove_bot_from_group(self, chat_id: int, by_user_id: int) -> dict[str, Any]:
        """my_chat_member member -> kicked; later sends get 403."""
        return actions.remove_bot_from_group(self.core, chat_id, by_user_id)

    def migrate_group(self, chat_id: int) -> int:
        """Upgrade a basic group to a supergroup; returns the new chat id."""
        return actions.migrate_group(self.core, chat_id)

    def send_message(self, user_id: int, chat_id: int, text: str, *,
                     message_thread_id: int | None = None,
                     reply_to_message_id: int | None = None) -> dict[str, Any]:
        """A user writes (chat_id == user_id: the private chat with the bot)."""
        return actions.send_message(self.core, user_id, chat_id, text, message_thread_id,
                                    reply_to_message_id)

    def send_command(self, user_id: int, chat_id: int, command: str, *,
                     message_thread_id: int | None = None) -> dict[str, Any]:
        """Alias of send_message for "/cmd args"."""
        return self.send_message(user_id, chat_id, command, message_thread_id=message_thread_id)

    def send_document(self, user_id: int, chat_id: int, filename: str, data: bytes, *,
                      caption: str | None = None, mime_type: str | None = None) -> dict[str, Any]:
        """A user sends a file (getFile + download work for the bot)."""
        return actions.send_document(self.core, user_id, chat_id, filename, data, caption,
                                     mime_type)

    def tap_button(self, user_id: int, message: dict[str, Any], callback_data: str) -> str:
        """Tap a callback button of a message (also inline-mode ones); returns the query id."""
        return actions.tap_button(self.core, user_id, message, callback_data)

    def forge_callback(self, user_id: int, message: dict[str, Any], callback_data: str) -> str:
        """A callback query with arbitrary data, as a modified client could send."""
        return actions.tap_button(self.core, user_id, message, callback_data, forged=True)

    def tap_inline_button(self, user_id: int, inline_message_id: str, callback_data: str) -> str:
        """Tap a callback button of an inline-mode message by its inline_message_id."""
        return actions.tap_inline_button(self.core, user_id, inline_message_id, callback_data)

    def inline_message_id(self, message: dict[str, Any]) -> str | None:
        """inline_message_id of a message returned by choose_inline_result (else None)."""
        return actions.inline_message_id_of(self.core, message)

    def inline_query(self, user_id: int, query: str, *, chat_type: str = "sender", offset: str = "") -> str:
        """A user types "@bot query" (``offset``: the next_offset of a previous answer); returns its id."""
        return actions.inline_query(self.core, user_id, query, chat_type, offset)

    def choose_inline_result(self, user_id: int, query_id: str, result_id: str,
                             chat_id: int) -> dict[str, Any]:
        """Post an answered inline result into chat_id "via" the bot; returns the message."""
        return actions.choose_inline_result(self.core, user_id, query_id, result_id, chat_id)

    def init_data(self, user_id: int, *, auth_date: int | None = None,
                  start_param: str | None = None) -> str:
        """Signed initData for a Mini App this user opens (``auth_date`` defaults to now)."""
        return methods_webapp.init_data(self.core, user_id, auth_date=auth_date,
                                        start_param=start_param)

    def share_prepared_message(self, user_id: int, prepared_id: str, chat_id: int) -> dict[str, Any]:
        """``WebApp.shareMessage``: the user sends a prepared message into ``chat_id``."""
        return methods_webapp.share_prepared(self.core, user_id, prepared_id, chat_id)

    @property
    def prepared_messages(self) -> dict[str, dict[str, Any]]:
        """Every savePreparedInlineMessage so far, by prepared id."""
        return self.core.prepared

    @property
    def menu_buttons(self) -> dict[int | None, dict[str, Any]]:
        """setChatMenuButton results by chat id (None: the default button)."""
        return self.core.menu_buttons

    def open_start_link(self, user_id: int, url_or_payload: str) -> dict[str, Any]:
        """Follow t.me/<bot>?start=X: "/start X" in the user's private chat."""
        return actions.open_start_link(self.core, user_id, url_or_payload)

    # --- observations -----------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """Every request answered, in order."""
        return self.core.obs.calls

    @property
    def violations(self) -> list[Violation]:
        """Calls Telegram would reject as malformed (spec, limits, unknown methods)."""
        return self.core.obs.violations

    @property
    def callback_answers(self) -> dict[str, dict[str, Any]]:
        """query id -> answerCallbackQuery params."""
        return self.core.obs.callback_answers

    @property
    def inline_answers(self) -> dict[str, dict[str, Any]]:
        """inline query id -> answerInlineQuery params."""
        return self.core.obs.inline_answers

    @property
    def uploads(self) -> int:
        """Requests that carried file uploads (multipart parts)."""
        return self.core.obs.uploads

    @property
    def commands(self) -> dict[str, list[dict[str, Any]]]:
        """setMyCommands lists keyed by scope ("default", "chat:-100…", "default/ru", ...)."""
        return self.core.commands

    @property
    def webhook(self) -> dict[str, Any] | None:
        """The webhook the bot set (url, secret_token, ...) or None."""
        return self.core.webhook

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by the bot."""
        return list(self.core.world.updates)

    def sent(self, chat_id: int | None = None, method: str | None = None) -> list[dict[str, Any]]:
        """Messages the bot sent (edits applied, deleted ones left out), oldest first."""
        return self.core.sent(chat_id, method)

    def file_bytes(self, file_id: str) -> bytes | None:
        """The bytes behind a file id the bot uploaded (None for unknown or URL-sent files)."""
        stored = self.core.world.files.get(file_id)
        return stored.data if stored is not None else None

    def messages_in(self, chat_id: int) -> list[dict[str, Any]]:
        """Every existing message of a chat (users', bot's, service), oldest first."""
        chat = self.core.world.chats.get(chat_id)
        if chat is None:
            return []
        return [dict(m) for mid, m in chat.messages.items() if mid not in chat.deleted]

    def reset_observations(self) -> None:
        """Forget calls, violations, answers, uploads and sent() history (the world stays)."""
        obs = self.core.obs
        # Cleared in place: tests may hold references to these lists and dicts.
        obs.calls.clear()
        obs.violations.clear()
        obs.callback_answers.clear()
        obs.inline_answers.clear()
        obs.uploads = 0
        obs.sent_from = len(self.core.world.bot_sent)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0,
                       message: str | None = None) -> None:
        """Poll until predicate() is true, else TimeoutError describing the recent traffic."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                what = message or getattr(predicate, "__name__", "condition")
                raise TimeoutError(f"{what} not met within {timeout} s\n{self.describe()}")
            await asyncio.sleep(0.01)

    async def wait_sent(self, chat_id: int, count: int = 1,
                        timeout: float = 5.0) -> list[dict[str, Any]]:
        """Wait until the bot sent at least `count` messages to chat_id; returns them all."""
        await self.wait_for(lambda: len(self.sent(chat_id)) >= count, timeout,
                            f"{count} message(s) sent to chat {chat_id}")
        return self.sent(chat_id)

    async def wait_callback_answer(self, query_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """Wait for the bot's answerCallbackQuery for query_id; returns its params."""
        await self.wait_for(lambda: query_id in self.callback_answers, timeout,
                            f"answerCallbackQuery for {query_id}")
        return self.callback_answers[query_id]

    def describe(self, last: int = 15) -> str:
        """A readable summary of recent calls and all violations (for failure messages)."""
        lines = ["recent calls:"]
        calls = [c for c in self.calls if c.method != "getUpdates"][-last:]
        for call in calls:
            detail = call.response.get("description") or ""
            shown = {k: str(v)[:60] for k, v in call.params.items()
                     if k in ("chat_id", "text", "caption")}
            lines.append(f"  {call.method} {call.status} {shown} {detail}".rstrip())
        if not calls:
            lines.append("  (none besides getUpdates)")
        lines.append(f"pending updates: {len(self.core.world.updates)}")
        for violation in self.violations:
            lines.append(f"violation: {violation.method}: {violation.reason}")
        return "\n".join(lines)

    # --- faults -----------------------------------------------------------------------

    def set_rate_limits(self, enabled: bool = True, per_second: int | None = 30,
                        per_group_per_minute: int | None = 20,
                        per_chat_per_second: int | None = None,
                        paid_per_second: int | None = 1000) -> None:
        """Turn flood control on/off (off by default); over a limit -> 429 retry_after.
        ``paid_per_second`` applies to messages sent with allow_paid_broadcast."""
        self.core.rate.configure(enabled, per_second, per_group_per_minute, per_chat_per_second)
        self.core.rate.paid_per_second = paid_per_second

    def stars_spent_tenths(self) -> int:
        """Paid-broadcast fees charged so far, in tenths of a Star (exact)."""
        return sum(t["receiver"]["request_count"] for t in self.core.star_transactions)

    def inject(self, error: str, *, method: str | None = None, chat_id: int | None = None,
               times: int = 1, retry_after: int = 1, delay: float | None = None,
               deliver: bool = True) -> None:
        """Arm a fault for the next matching request(s); see faults.ERRORS."""
        self.core.faults.arm(error, method=method, chat_id=chat_id, times=times,
                             retry_after=retry_after, delay=delay, deliver=deliver)

    def clear_faults(self) -> None:
        """Disarm all injected faults."""
        self.core.faults.clear()
