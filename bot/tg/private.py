"""Commands in a private chat with the bot: /start (and its payloads), /help, /commission,
/team, /invite, /groups."""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.constants import ChatType

from bot.domain.money import format_money
from bot.domain.tiers import Progress, progress
from bot.services.base import ServiceError
from bot.services.reports import Earnings
from bot.tg.common import (
    is_group_admin,
    is_private,
    lang,
    person_of,
    private_only,
    reply,
)
from bot.tg.context import KocContext
from bot.tg.keyboards import deep_link, link_keyboard
from bot.tg.texts import (
    ADMIN_COMMANDS,
    GROUP_COMMANDS,
    MEMBER_COMMANDS,
    PROMOTER_COMMANDS,
    Command,
    Html,
    local_time,
    party,
    say,
)
from bot.tg.webapp import app_keyboard


def command_lines(commands: list[Command], language: str) -> str:
    """``/name <args> — description`` lines in the user's language."""
    return "\n".join(command.line(language) for command in commands)


def help_text(language: str, *, is_admin: bool, in_group: bool, group_admin: bool = False,
              owns_groups: bool = False, registered: bool = True) -> Html:
    """The help for this user's roles: platform admin, group admin, promoter, member."""
    def section(title: str, commands: list[Command]) -> list[str]:
        return ["", say(title, language), escape(command_lines(commands, language), quote=False)]

    parts = [say("help_intro", language)]
    if in_group:
        parts += ["", say("help_member_intro", language)]
        parts += section("help_group", GROUP_COMMANDS) if group_admin else section(
            "help_member", MEMBER_COMMANDS)
        return Html("\n".join(parts))
    parts += section("help_private", PROMOTER_COMMANDS)
    if owns_groups or group_admin:
        parts += section("help_group", GROUP_COMMANDS)
    if is_admin:
        parts += section("help_admin", ADMIN_COMMANDS)
    parts += ["", say("help_add", language) if registered else say("help_register", language)]
    return Html("\n".join(parts))


async def start(update: Update, context: KocContext) -> None:
    """Register the user; act on an l_, r_ or g_ payload."""
    if not is_private(update):
        await help_command(update, context)
        return
    runtime = context.runtime
    person = person_of(update)
    payload = context.args[0] if context.args else ""
    invite = payload[2:] if payload.startswith("r_") else None
    registration = await runtime.db.run(runtime.services.promoters.register, person,
                                        invite_code=invite)
    language = lang(update)
    if payload.startswith("l_"):
        await send_link(update, context, payload[2:])
        return
    if payload.startswith("g_"):
        await claim_group(update, context, payload[2:])
        return
    is_admin = person.id in runtime.config.telegram.admins
    key = "welcome" if registration.created else "welcome_back"
    owns = bool(await runtime.db.run(runtime.services.groups.owned_by, person.id))
    await reply(update, say(key, language, name=person.first_name,
                            help=help_text(language, is_admin=is_admin, in_group=False, owns_groups=owns)),
                reply_markup=app_keyboard(runtime.config.web.public_url, language))


async def send_link(update: Update, context: KocContext, code: str) -> None:
    """Reply with the member's personal tracked link as a URL button."""
    runtime = context.runtime
    language = lang(update)
    found = await runtime.db.run(runtime.services.tracking.link_by_code, code)
    if found is None:
        await reply(update, say("link_unknown", language))
        return
    link, product = found
    url = f"{runtime.config.web.public_url.rstrip('/')}/c/{link.code}"
    price = format_money(product.price, product.currency)
    await reply(update, say("your_link", language, title=product.title, price=price),
                reply_markup=link_keyboard(url=url, label=say("open_link", language, price=price)))


async def claim_group(update: Update, context: KocContext, token: str) -> None:
    """A group admin opened the g_ link: the group becomes theirs."""
    runtime = context.runtime
    language = lang(update)
    person = person_of(update)
    group = await runtime.db.run(runtime.services.groups.claim_target, token)
    if group is None:
        await reply(update, say("error", language, reason=ServiceError("group_link_invalid").text(language)))
        return
    admin = await is_group_admin(context, group.chat_id, person.id)
    try:
        group = await runtime.db.run(runtime.services.groups.claim, token=token, user_id=person.id,
                                     is_admin=admin)
    except ServiceError as exc:
        await reply(update, say("error", language, reason=exc.text(language)))
        return
    await runtime.db.run(runtime.services.posting.reschedule, group.chat_id)
    await reply(update, say("group_claimed", language, title=group.title))


async def help_command(update: Update, context: KocContext) -> None:
    """What the bot does and the commands this user may use."""
    runtime = context.runtime
    user, chat = update.effective_user, update.effective_chat
    language = lang(update)
    in_group = chat is not None and chat.type != ChatType.PRIVATE
    is_admin = user is not None and user.id in runtime.config.telegram.admins and not in_group
    group_admin = in_group and user is not None and await is_group_admin(context, chat.id, user.id)
    known = await runtime.db.run(runtime.services.promoters.get, user.id) if user is not None else None
    owns = (user is not None and not in_group
            and bool(await runtime.db.run(runtime.services.groups.owned_by, user.id)))
    await reply(update, help_text(language, is_admin=is_admin, in_group=in_group,
                                  group_admin=bool(group_admin), owns_groups=owns,
                                  registered=known is not None and known.registered_at is not None))


@private_only
async def commission(update: Update, context: KocContext) -> None:
    """Own earnings: pending, confirmed, paid, reversed; clicks, orders; 7/30 days; per group."""
    await reply(update, await commission_text(context, update.effective_user.id, lang(update)))


async def commission_text(context: KocContext, user_id: int, language: str) -> str:
    """The /commission answer for one user."""
    runtime = context.runtime
    e = await runtime.db.run(runtime.services.reports.commission, user_id)
    return earnings_text(e, runtime.config.commission.currency, language)


def earnings_text(e: Earnings, cur: str, language: str) -> str:
    """One user's earnings as the /commission answer (HTML)."""
    m = lambda v: format_money(v, cur)  # noqa: E731
    text = say("commission", language, pending=m(e.buckets.get("pending", 0)), confirmed=m(e.confirmed_total),
               payable=m(e.buckets.get("payable", 0)), paid=m(e.buckets.get("paid", 0)),
               reversed=m(e.buckets.get("reversed", 0)), clicks=e.clicks, unique=e.unique_clicks,
               orders=e.orders, d7=m(e.last_7_days), d30=m(e.last_30_days))
    if e.buckets.get("payable", 0) < 0:
        text += say("owed", language, amount=m(e.buckets["payable"]))
    if e.per_group:
        text += say("per_group", language) + "".join(
            f"\n• {escape(title, quote=False)}: {m(amount)}" for title, amount in e.per_group)
    return text


@private_only
async def team(update: Update, context: KocContext) -> None:
    """Own tier, progress to the next tier, direct invitees and the team's earnings."""
    runtime = context.runtime
    language = lang(update)
    user_id = update.effective_user.id
    # On demand: the tier shown is computed from data now, not at the last hourly job.
    await runtime.db.run_threaded(runtime.services.promoters.refresh_tiers)
    info = await runtime.db.run(runtime.services.promoters.team, user_id)
    tiers = runtime.config.tiers
    where = progress(tier=info.tier, active_invitees=info.active_invitees,
                     mentor_invitees=info.mentor_invitees,
                     mentor_min_active_invitees=tiers.mentor_min_active_invitees,
                     partner_min_mentors=tiers.partner_min_mentors)
    await reply(update, say("team", language, tier=party(info.tier, language), count=len(info.invitees),
                            active=info.active_invitees, mentors=info.mentor_invitees,
                            earned=format_money(info.team_earned, runtime.config.commission.currency),
                            progress=progress_text(where, language)))


def progress_text(where: Progress, language: str) -> str:
    """The way to the next tier, in the user's language."""
    if where.next_tier is None:
        return say("progress_top", language)
    if where.missing == 0:
        return say("progress_ready", language, tier=party(where.next_tier, language))
    if where.next_tier == "mentor":
        noun = "invitee" if where.missing == 1 else "invitees"
        return say("progress_mentor", language, missing=where.missing, invitees=noun)
    noun = "invitee who is a mentor" if where.missing == 1 else "invitees who are mentors"
    return say("progress_partner", language, missing=where.missing, invitees=noun)


@private_only
async def invite(update: Update, context: KocContext) -> None:
    """Own invite link ``t.me/<bot>?start=r_<code>``."""
    runtime = context.runtime
    reg = await runtime.db.run(runtime.services.promoters.register, person_of(update))
    await reply(update, say("invite", lang(update),
                            url=deep_link(context.bot.username, f"r_{reg.user.invite_code}")))


@private_only
async def groups(update: Update, context: KocContext) -> None:
    """Groups owned, with schedule, pause state and last post."""
    runtime = context.runtime
    language = lang(update)
    owned = await runtime.db.run(runtime.services.groups.owned_by, update.effective_user.id)
    if not owned:
        await reply(update, say("groups_none", language))
        return
    lines = []
    for g in owned:
        state = say("paused_flag", language) if g.paused else ""
        state += "" if g.active else say("inactive_flag", language)
        # In the group's time zone, like the schedule on the same line.
        last = local_time(g.last_post_at, g.timezone) if g.last_post_at else say("never", language)
        lines.append(say("groups_line", language, title=g.title, times=g.times or "—", tz=g.timezone,
                         state=Html(state), last=last))
    await reply(update, "\n".join(lines))


async def hint(update: Update, context: KocContext) -> None:
    """Anything else said in private (text, an unknown command, an uncaptioned file): one line
    on what the bot understands, instead of silence."""
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None:
        return
    language = lang(update)
    text = message.text or ""
    if message.document is not None and user.id in context.runtime.config.telegram.admins:
        await reply(update, say("hint_document", language))
    elif text.startswith("/"):
        command = text.split()[0].split("@", 1)[0][:33]
        await reply(update, say("hint_command", language, command=command))
    else:
        await reply(update, say("hint_text", language))
