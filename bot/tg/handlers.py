"""Every handler of the bot, registered in one block: one screen shows the whole bot."""

from __future__ import annotations

import logging

from telegram import (
    BotCommand,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    Update,
)
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    ChatMemberHandler,
    ChosenInlineResultHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.tg import admin, buttons, group, lifecycle, private
from bot.tg.common import lang
from bot.tg.context import KocContext
from bot.tg.deals import deals
from bot.tg.inline import chosen_result, inline_query
from bot.tg.texts import (
    GROUP_COMMANDS,
    HELP_COMMAND,
    MENU_MEMBER,
    PROMOTER_COMMANDS,
    START_COMMAND,
    say,
)

log = logging.getLogger(__name__)
PRIVATE = filters.ChatType.PRIVATE
GROUPS = filters.ChatType.GROUPS
THROTTLED = frozenset({"message", "callback_query", "inline_query"})


async def gate(update: Update, context: KocContext) -> None:
    """Before any handler: count the update, and stop a user who floods the bot.

    The one throttle: a flooded message is dropped, a button gets "too fast", an inline
    query gets no results."""
    runtime = context.runtime
    kind = next((name for name in ("message", "callback_query", "inline_query", "my_chat_member",
                                   "chosen_inline_result", "edited_message")
                 if getattr(update, name, None) is not None), "other")
    runtime.metrics.updates.labels(kind=kind).inc()
    user = update.effective_user
    if kind not in THROTTLED or user is None or runtime.throttle.allow(user.id):
        return
    log.info("update throttled", extra={"user": user.id, "kind": kind})
    if update.callback_query is not None:
        await update.callback_query.answer(say("too_fast", lang(update)))
    elif update.inline_query is not None:
        await update.inline_query.answer([], cache_time=1, is_personal=True)
    raise ApplicationHandlerStop


def register_handlers(app: Application) -> None:
    """Attach every handler to the application."""
    app.add_handler(TypeHandler(Update, gate), group=-1)
    app.add_handlers([
        # private chat
        CommandHandler("start", private.start),
        CommandHandler("help", private.help_command),
        CommandHandler("deals", deals, filters=PRIVATE),
        CommandHandler("commission", private.commission, filters=PRIVATE),
        CommandHandler("team", private.team),
        CommandHandler("invite", private.invite),
        CommandHandler("groups", private.groups),
        # platform admins (documents carry the command in their caption)
        MessageHandler(filters.Document.ALL & filters.CaptionRegex(r"^/import(\s|@|$)"),
                       admin.import_document),
        MessageHandler(filters.Document.ALL & filters.CaptionRegex(r"^/orders(\s|@|$)"),
                       admin.orders_document),
        CommandHandler("import", admin.import_document),
        CommandHandler("orders", admin.orders_document),
        CommandHandler("feature", admin.feature),
        CommandHandler("unfeature", admin.unfeature),
        CommandHandler("broadcast", admin.broadcast),
        CommandHandler("stats", admin.stats),
        CommandHandler("payout", admin.payout),
        # groups
        CommandHandler("schedule", group.schedule),
        CommandHandler("timezone", group.timezone),
        CommandHandler("categories", group.categories),
        CommandHandler("post", group.post),
        CommandHandler("topic", group.topic),
        CommandHandler("pause", group.pause),
        CommandHandler("resume", group.resume),
        CommandHandler("report", group.report),
        CommandHandler("commission", group.group_commission, filters=GROUPS),
        # buttons, inline mode, lifecycle
        CallbackQueryHandler(buttons.buy, pattern=buttons.BUY),
        CallbackQueryHandler(buttons.share_buy, pattern=buttons.SHARE_BUY),
        CallbackQueryHandler(buttons.get_link, pattern=buttons.GET_LINK),
        CallbackQueryHandler(buttons.deals_button, pattern=buttons.DEALS),
        CallbackQueryHandler(buttons.unknown),  # any other data: a short answer
        InlineQueryHandler(inline_query),
        ChosenInlineResultHandler(chosen_result),
        ChatMemberHandler(lifecycle.my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER),
        MessageHandler(filters.StatusUpdate.MIGRATE, lifecycle.migrated),
        MessageHandler(GROUPS & (filters.StatusUpdate.FORUM_TOPIC_CREATED
                                 | filters.StatusUpdate.FORUM_TOPIC_EDITED), group.topic_event),
        # Last: whatever else a user says in private gets a one-line hint, not silence.
        MessageHandler(PRIVATE & filters.UpdateType.MESSAGE & ~filters.StatusUpdate.ALL
                       & ~filters.VIA_BOT, private.hint),
    ])
    app.add_error_handler(on_error)


async def on_error(update: object, context: KocContext) -> None:
    """Log the failure; tell the user one line, never a traceback."""
    log.error("handler failed", exc_info=context.error)
    if isinstance(update, Update):
        if update.callback_query is not None:
            try:
                await update.callback_query.answer("⚠️ Something went wrong; please try again.")
            except Exception:  # noqa: BLE001, S110 - the query may already be answered
                pass
        elif update.effective_message is not None and update.effective_chat is not None:
            try:
                await update.effective_message.reply_text("⚠️ Something went wrong; please try again.",
                                                          do_quote=False)
            except Exception:  # noqa: BLE001, S110 - nothing more to do
                pass


def _commands(rows: list[tuple[str, str, str]], zh: bool) -> list[BotCommand]:
    return [BotCommand(name, zh_text if zh else en) for name, en, zh_text in rows]


async def set_menus(app: Application) -> None:
    """Command menus per scope: private chats, group chats, group administrators."""
    scopes = [
        (BotCommandScopeAllPrivateChats(), [c.menu() for c in (START_COMMAND, *PROMOTER_COMMANDS)]),
        (BotCommandScopeAllGroupChats(), [c.menu() for c in MENU_MEMBER]),
        (BotCommandScopeAllChatAdministrators(), [c.menu() for c in (*GROUP_COMMANDS, HELP_COMMAND)]),
    ]
    for scope, rows in scopes:
        await app.bot.set_my_commands(_commands(rows, False), scope=scope)
        await app.bot.set_my_commands(_commands(rows, True), scope=scope, language_code="zh")
