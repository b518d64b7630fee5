"""Small helpers shared by the handlers: who is asking, in which language, and replying safely."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import LinkPreviewOptions, Message, Update
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import TelegramError

from bot.services.base import ServiceError
from bot.services.promoters import Person
from bot.tg.context import KocContext
from bot.tg.texts import lang_of, say

log = logging.getLogger(__name__)
Handler = Callable[[Update, KocContext], Awaitable[None]]
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def person_of(update: Update) -> Person:
    """The Telegram user behind an update, as the services know them."""
    user = update.effective_user
    assert user is not None
    return Person(id=user.id, first_name=user.first_name or "", username=user.username,
                  language_code=user.language_code)


def lang(update: Update) -> str:
    """The language to answer this user in."""
    user = update.effective_user
    return lang_of(user.language_code if user else None)


async def reply(update: Update, text: str, **kwargs: Any) -> Message | None:
    """Answer in the same chat (and topic) as HTML, with link previews off."""
    message = update.effective_message
    if message is None:
        return None
    kwargs.setdefault("parse_mode", ParseMode.HTML)
    kwargs.setdefault("link_preview_options", NO_PREVIEW)
    return await message.reply_text(text, do_quote=False, **kwargs)


def is_private(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type == ChatType.PRIVATE


async def is_group_admin(context: KocContext, chat_id: int, user_id: int) -> bool:
    """Ask Telegram whether the user administers the chat."""
    try:
        member = await context.bot.get_chat_member(chat_id, user_id)
    except TelegramError as exc:
        log.warning("getChatMember failed", extra={"group": chat_id, "user": user_id, "error": str(exc)})
        return False
    return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


def platform_admin(handler: Handler) -> Handler:
    """Only users in ``[telegram].admins``, in private; everyone else gets a short refusal."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: KocContext) -> None:
        user = update.effective_user
        if user is None or user.id not in context.runtime.config.telegram.admins:
            await reply(update, say("not_platform_admin", lang(update)))
            return
        if not is_private(update):
            await reply(update, say("private_only", lang(update)))
            return
        await handler(update, context)

    return guarded


def group_admin(handler: Handler) -> Handler:
    """Only administrators of the group, and only in a group."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: KocContext) -> None:
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None or chat.type == ChatType.PRIVATE:
            await reply(update, say("groups_only", lang(update)))
            return
        if not await is_group_admin(context, chat.id, user.id):
            await reply(update, say("not_admin", lang(update)))
            return
        await handler(update, context)

    return guarded


def refusals_replied(handler: Handler) -> Handler:
    """A ServiceError from the handler is answered with its one-line reason in the user's language."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: KocContext) -> None:
        try:
            await handler(update, context)
        except ServiceError as exc:
            language = lang(update)
            await reply(update, say("error", language, reason=exc.text(language)))

    return guarded


def private_only(handler: Handler) -> Handler:
    """Commands about one's own money are answered in private only."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: KocContext) -> None:
        if not is_private(update):
            await reply(update, say("private_only", lang(update)))
            return
        await handler(update, context)

    return guarded
