"""Commands in a group: settings for group admins, /report, and /commission for anyone."""

from __future__ import annotations

import asyncio
from html import escape

from telegram import InputFile, Update

from bot.cards.chart import render_report_chart
from bot.domain.money import format_money
from bot.services.base import ServiceError
from bot.services.reports import parse_since
from bot.tg.common import group_admin, lang, refusals_replied, reply
from bot.tg.context import KocContext
from bot.tg.keyboards import deep_link, link_keyboard
from bot.tg.private import commission_text
from bot.tg.texts import Html, local_time, party, say, window_text


def _chat_id(update: Update) -> int:
    chat = update.effective_chat
    assert chat is not None
    return chat.id


async def _next_text(context: KocContext, chat_id: int, tz_name: str) -> str:
    """When the next scheduled post goes out, in the group's time zone (as its schedule is)."""
    runtime = context.runtime
    nxt = await runtime.db.run(runtime.services.posting.reschedule, chat_id)
    return f"{local_time(nxt, tz_name)} {tz_name}" if nxt else "—"


@group_admin
async def schedule(update: Update, context: KocContext) -> None:
    """Show or set posting times: ``/schedule``, ``/schedule 09:00 20:00``, ``/schedule off``."""
    runtime = context.runtime
    language = lang(update)
    chat_id = _chat_id(update)
    args = context.args or []
    try:
        if args == ["off"]:
            await runtime.db.run(runtime.services.groups.set_schedule, chat_id, args)
            await runtime.db.run(runtime.services.posting.reschedule, chat_id)
            await reply(update, say("schedule_off", language))
            return
        if args:
            await runtime.db.run(runtime.services.groups.set_schedule, chat_id, args)
            await runtime.db.run(runtime.services.posting.reschedule, chat_id)
        group = await runtime.db.run(runtime.services.groups.find, chat_id)
        if group is None:
            raise ServiceError("group_not_registered")
    except ServiceError as exc:
        # One line, as for every bad argument: the reason, then how to say it.
        await reply(update, say("error_usage", language, reason=" ".join(exc.text(language).split()),
                                usage="/schedule 09:00 12:30 20:00 · /schedule off"))
        return
    paused = say("paused_flag", language) if group.paused else ""
    await reply(update, say("schedule_show", language, times=group.times or "—", tz=group.timezone,
                            paused=Html(paused)))


@group_admin
@refusals_replied
async def timezone(update: Update, context: KocContext) -> None:
    """Set the group's IANA time zone."""
    language = lang(update)
    if len(context.args or []) != 1:
        await reply(update, say("usage", language, usage="/timezone Asia/Shanghai"))
        return
    runtime = context.runtime
    group = await runtime.db.run(runtime.services.groups.set_timezone, _chat_id(update),
                                 context.args[0])
    await reply(update, say("timezone_set", language, tz=group.timezone,
                            next=await _next_text(context, group.chat_id, group.timezone)))


@group_admin
@refusals_replied
async def categories(update: Update, context: KocContext) -> None:
    """Show or set which product categories this group gets."""
    language = lang(update)
    args = context.args or []
    if args:
        runtime = context.runtime
        group = await runtime.db.run(runtime.services.groups.set_categories, _chat_id(update), args)
    else:
        runtime = context.runtime
        group = await runtime.db.run(runtime.services.groups.find, _chat_id(update))
        if group is None:
            raise ServiceError("group_not_registered")
    await reply(update, say("categories_show", language,
                            cats=group.categories or say("all_categories", language)))


@group_admin
@refusals_replied
async def post(update: Update, context: KocContext) -> None:
    """Post the best deal (or the given sku) now."""
    runtime = context.runtime
    args = context.args or []
    if len(args) > 1:
        await reply(update, say("usage", lang(update), usage="/post [sku]"))
        return
    message = update.effective_message
    key = f"m{message.message_id}" if message is not None else None  # a redelivered /post adds nothing
    await runtime.db.run(runtime.services.posting.post_now, _chat_id(update),
                         sku=args[0] if args else None, key=key)
    runtime.sender.wake()


@group_admin
async def topic(update: Update, context: KocContext) -> None:
    """In a forum, post into the topic this command was sent in (``/topic off`` to stop)."""
    language = lang(update)
    message = update.effective_message
    chat_id = _chat_id(update)
    groups = context.runtime.services.groups
    if context.args == ["off"]:
        await context.runtime.db.run(groups.set_topic, chat_id, None)
        await reply(update, say("topic_off", language))
        return
    if message is None or not message.is_topic_message or message.message_thread_id is None:
        await reply(update, say("topic_not_forum", language))
        return
    # The topic it was sent in is known from now on (the mini app offers it), then chosen
    # through the same rule as the mini app's choice.
    created = message.reply_to_message.forum_topic_created if message.reply_to_message else None
    await context.runtime.db.run(groups.topic_seen, chat_id, message.message_thread_id,
                                 created.name if created is not None else None)
    await context.runtime.db.run(groups.set_topic, chat_id, message.message_thread_id)
    await reply(update, say("topic_set", language))


async def topic_event(update: Update, context: KocContext) -> None:
    """A forum topic was created or renamed: remember it, so the owner can pick it in the app."""
    message = update.effective_message
    if message is None or message.message_thread_id is None:
        return
    event = message.forum_topic_created or message.forum_topic_edited
    name = event.name if event is not None else None
    await context.runtime.db.run(context.runtime.services.groups.topic_seen, _chat_id(update),
                                 message.message_thread_id, name)


@group_admin
@refusals_replied
async def pause(update: Update, context: KocContext) -> None:
    """Stop scheduled posts."""
    runtime = context.runtime
    await runtime.db.run(runtime.services.groups.update, _chat_id(update), paused=True)
    await reply(update, say("paused", lang(update)))


@group_admin
@refusals_replied
async def resume(update: Update, context: KocContext) -> None:
    """Restart scheduled posts from the next slot (missed ones are not made up)."""
    chat_id = _chat_id(update)
    runtime = context.runtime
    group = await runtime.db.run(runtime.services.groups.update, chat_id, paused=False)
    await reply(update, say("resumed", lang(update), next=await _next_text(context, chat_id, group.timezone)))


@group_admin
@refusals_replied
async def report(update: Update, context: KocContext) -> None:
    """Per-member earnings from this group: a table and a chart image."""
    runtime = context.runtime
    language = lang(update)
    args = context.args or []
    try:
        if len(args) > 1:
            raise ValueError("too many arguments")
        window = parse_since(args[0] if args else "30d")
    except ValueError:
        await reply(update, say("usage", language, usage="/report [7d|30d|all]"))
        return
    data = await runtime.db.run(runtime.services.reports.group_report, _chat_id(update), window)
    if data is None:
        raise ServiceError("group_not_registered")
    text = report_text(data, language, runtime.config.commission.currency,
                       window_text(window, language))
    await reply(update, text)
    if data.rows:
        # Drawing the chart takes tens of milliseconds of CPU: off the loop, which every chat shares.
        chart = await asyncio.to_thread(
            render_report_chart, title=data.title, rows=[(r.name, r.commission) for r in data.rows[:12]],
            series=data.clicks_per_day, currency=runtime.config.commission.currency, locale=language,
            font_path=runtime.config.card.font_path)
        await update.effective_message.reply_photo(InputFile(chart, filename="report.png"),
                                                   do_quote=False)


def report_text(data, language: str, currency: str, window: str) -> str:  # type: ignore[no-untyped-def]
    """The /report table as HTML (a <pre> block keeps the columns aligned); ``window`` is the
    period in words, as ``window_text`` gives it."""
    m = lambda v: format_money(v, currency)  # noqa: E731
    head = say("report_title", language, title=data.title, window=window)
    if not data.rows:
        return head + "\n" + say("report_empty", language)
    lines = [say("report_header", language)]
    for r in data.rows[:30]:
        lines.append(f"{r.name[:16]} · {r.clicks} · {r.orders} · {m(r.sales)} · {m(r.commission)}")
    table = escape("\n".join(lines), quote=False)
    total = say("report_total", language, clicks=data.total_clicks, orders=data.total_orders,
                sales=m(data.total_sales), commission=m(data.total_commission))
    parts = ", ".join(f"{party(p, language)} {m(a)}" for p, a in sorted(data.by_party.items()))
    return f"{head}\n<pre>{table}</pre>\n{total}\n" + say("report_split", language, parts=parts or "—")


async def group_commission(update: Update, context: KocContext) -> None:
    """Any member: own earnings, sent in private (or a button to start the bot first)."""
    runtime = context.runtime
    user = update.effective_user
    language = lang(update)
    if user is None:
        return
    known = await runtime.db.run(runtime.services.promoters.get, user.id)
    if known is None or known.registered_at is None:
        await reply(update, say("start_me", language), reply_markup=link_keyboard(
            url=deep_link(context.bot.username, "c"), label=say("start_button", language)))
        return
    try:
        await context.bot.send_message(user.id, await commission_text(context, user.id, language),
                                       parse_mode="HTML")
    except Exception:  # noqa: BLE001 - blocked or never started: offer the button instead
        await reply(update, say("start_me", language), reply_markup=link_keyboard(
            url=deep_link(context.bot.username, "c"), label=say("start_button", language)))
        return
    await reply(update, say("commission_sent", language))
