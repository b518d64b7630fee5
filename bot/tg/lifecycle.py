"""Group lifecycle in one place: the bot added or removed, and group → supergroup migration."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType

from bot.tg.common import is_group_admin, lang
from bot.tg.context import KocContext
from bot.tg.keyboards import deep_link, link_keyboard
from bot.tg.texts import say

log = logging.getLogger(__name__)
PRESENT = (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER,
           ChatMemberStatus.RESTRICTED)


async def my_chat_member(update: Update, context: KocContext) -> None:
    """The bot's own membership changed: register, greet or ask for a claim; or deactivate."""
    change = update.my_chat_member
    if change is None or change.chat.type in (ChatType.PRIVATE, ChatType.CHANNEL):
        return
    runtime = context.runtime
    chat = change.chat
    was = change.old_chat_member.status in PRESENT
    now = change.new_chat_member.status in PRESENT
    if now and not was:
        adder = change.from_user.id
        # getChatMember, not the update: the update says who added the bot, not their rights.
        admin = await is_group_admin(context, chat.id, adder)
        added = await runtime.db.run(runtime.services.groups.bot_added, chat_id=chat.id,
                                     title=chat.title or "", bot_id=context.bot.id,
                                     by_user_id=adder, adder_is_admin=admin)
        log.info("bot added to group", extra={"group": chat.id, "user": change.from_user.id,
                                               "claimed": not added.needs_claim})
        language = lang(update)
        if added.needs_claim:
            url = deep_link(context.bot.username, f"g_{added.group.claim_token}")
            await context.bot.send_message(chat.id, say("claim_needed", language),
                                           reply_markup=link_keyboard(
                                               url=url, label=say("claim_button", language)))
        else:
            await runtime.db.run(runtime.services.posting.reschedule, chat.id)
            await context.bot.send_message(chat.id, say("added_owned", language, times=added.group.times,
                                                        tz=added.group.timezone), parse_mode="HTML")
    elif was and not now:
        await runtime.db.run(runtime.services.groups.bot_removed, chat.id)
        log.info("bot removed from group", extra={"group": chat.id})


async def migrated(update: Update, context: KocContext) -> None:
    """A group became a supergroup: keep its settings and history under the new id."""
    message = update.effective_message
    if message is None:
        return
    if message.migrate_to_chat_id:
        old, new = message.chat.id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id:
        old, new = message.migrate_from_chat_id, message.chat.id
    else:
        return
    await context.runtime.db.run(context.runtime.services.groups.migrate, old, new)
    log.info("group migrated", extra={"group": new, "old_group": old})
