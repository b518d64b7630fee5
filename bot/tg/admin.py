"""Platform admin commands, in private: imports, curation, broadcast, stats, payouts."""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.error import TelegramError

from bot.domain.money import format_money
from bot.services.reports import parse_since
from bot.tg.common import lang, platform_admin, refusals_replied, reply
from bot.tg.context import KocContext
from bot.tg.texts import party, say, window_text

MAX_DOCUMENT = 20 * 1024 * 1024  # what getFile can download
SHOW_ERRORS = 10


async def _download(update: Update, context: KocContext) -> tuple[bytes, str] | None:
    document = update.effective_message.document if update.effective_message else None
    language = lang(update)
    if document is None:
        await reply(update, say("usage", language, usage="send the file as a document with this caption"))
        return None
    if document.file_size and document.file_size > MAX_DOCUMENT:
        await reply(update, say("error", language, reason="the file is larger than 20 MB"))
        return None
    file = await document.get_file()
    data = bytes(await file.download_as_bytearray())
    return data, document.file_name or "upload"


def _crop(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _error_lines(errors: list[str]) -> str:
    """The first errors, one per line, escaped and cropped so ten long ones still fit one
    message (4096 characters), then how many more there are."""
    text = "".join(f"\n{escape(_crop(e), quote=False)}" for e in errors[:SHOW_ERRORS])
    if len(errors) > SHOW_ERRORS:
        text += f"\n… +{len(errors) - SHOW_ERRORS}"
    return text


@platform_admin
@refusals_replied
async def import_document(update: Update, context: KocContext) -> None:
    """A CSV or JSON feed sent with caption /import [--strict] [--deactivate-missing]."""
    runtime = context.runtime
    language = lang(update)
    got = await _download(update, context)
    if got is None:
        return
    data, name = got
    caption = (update.effective_message.caption or "").split()
    result = await runtime.db.run_threaded(
        runtime.services.catalog.import_feed, data, filename=name, strict="--strict" in caption,
        deactivate_missing="--deactivate-missing" in caption)
    # Rebuild the ranking index off the event loop (seconds for 100k products), not in a post.
    await runtime.db.run_threaded(runtime.services.catalog.index)
    key = "import_rejected" if result.rejected else "import_done"
    text = say(key, language, total=result.total, created=result.created, updated=result.updated,
               errors=len(result.errors))
    if result.deactivated:
        text += "\n" + say("import_deactivated", language, count=result.deactivated)
    if result.deactivation_skipped:
        text += "\n" + say("import_deactivation_skipped", language)
    # str(e) is "line N: reason" for CSV and "item N: reason" for JSON.
    text += _error_lines([str(e) for e in result.errors])
    await reply(update, text)


@platform_admin
@refusals_replied
async def orders_document(update: Update, context: KocContext) -> None:
    """An order report CSV sent with caption /orders."""
    runtime = context.runtime
    language = lang(update)
    got = await _download(update, context)
    if got is None:
        return
    data, _ = got
    await runtime.clicks.flush()  # orders may name clicks still in the buffer
    summary = await runtime.db.run_threaded(runtime.services.order_import.import_csv, data,
                                            source="csv")
    text = say("orders_done", language, total=summary.total, applied=summary.applied,
               repeated=summary.repeated, unattributed=summary.unattributed,
               errors=len(summary.errors))
    text += _error_lines([f"line {line}: {reason}" for line, reason in summary.errors])
    await reply(update, text)


async def _set_featured(update: Update, context: KocContext, featured: bool) -> None:
    language = lang(update)
    name = "feature" if featured else "unfeature"
    if len(context.args or []) != 1:
        await reply(update, say("usage", language, usage=f"/{name} <sku>"))
        return
    sku = context.args[0]
    await context.runtime.db.run(context.runtime.services.catalog.set_featured, sku, featured)
    await reply(update, say("featured" if featured else "unfeatured", language, sku=sku))


@platform_admin
@refusals_replied
async def feature(update: Update, context: KocContext) -> None:
    """Make a deal a platform pick."""
    await _set_featured(update, context, True)


@platform_admin
@refusals_replied
async def unfeature(update: Update, context: KocContext) -> None:
    """Stop featuring a deal."""
    await _set_featured(update, context, False)


@platform_admin
@refusals_replied
async def broadcast(update: Update, context: KocContext) -> None:
    """Post one deal now to every active group."""
    language = lang(update)
    if len(context.args or []) != 1:
        await reply(update, say("usage", language, usage="/broadcast <sku>"))
        return
    message = update.effective_message
    # Keyed by the command's message: a redelivered /broadcast queues nothing twice.
    key = f"{message.chat_id}:{message.message_id}" if message is not None else None
    runtime = context.runtime
    count = await runtime.db.run(runtime.services.posting.broadcast, context.args[0], key=key)
    context.runtime.sender.wake()
    await reply(update, say("broadcast", language, sku=context.args[0], count=count))


@platform_admin
async def stats(update: Update, context: KocContext) -> None:
    """Platform totals for 7d, 30d or all."""
    runtime = context.runtime
    language = lang(update)
    args = context.args or []
    try:
        if len(args) > 1:
            raise ValueError
        window = parse_since(args[0] if args else "30d")
    except ValueError:
        await reply(update, say("usage", language, usage="/stats [7d|30d|all]"))
        return
    s = await runtime.db.run(runtime.services.reports.stats, window)
    cur = runtime.config.commission.currency

    def parts(by_party: dict[str, int], currency: str) -> str:
        return ", ".join(f"{party(p, language)} {format_money(a, currency)}"
                         for p, a in sorted(by_party.items())) or "—"

    text = say("stats", language, window=window_text(window, language), groups=s.groups,
               active=s.active_groups, promoters=s.promoters, posts=s.posts, taps=s.taps,
               clicks=s.clicks, bots=s.bot_hits, orders=s.orders, gmv=format_money(s.gmv, cur),
               parts=parts(s.commission_by_party, cur))
    for other, money in s.other_currencies.items():  # never added to the booking currency's
        text += "\n" + say("stats_other_currency", language, currency=other,
                           gmv=format_money(money.gmv, other), parts=parts(money.commission_by_party, other))
    if runtime.config.telegram.paid_broadcast or runtime.stars_spent.fees:
        try:
            await runtime.stars_spent.refresh(context.bot)
            since = None if window is None else runtime.services.now() - window
            spent = f"{runtime.stars_spent.total(since):f}"
        except TelegramError:
            spent = "—"  # Telegram did not answer: the rest of /stats still stands
        text += "\n" + say("stats_stars", language, stars=spent)
    await reply(update, text)


@platform_admin
@refusals_replied
async def payout(update: Update, context: KocContext) -> None:
    """Record a payout against a promoter's confirmed, settled balance."""
    runtime = context.runtime
    language = lang(update)
    args = context.args or []
    if len(args) != 2 or not (args[0].lstrip("-").isdigit() or args[0].startswith("@")):
        await reply(update, say("usage", language, usage="/payout <user_id|@username> <amount>"))
        return
    user = await runtime.db.run(runtime.services.promoters.resolve, args[0])
    done = await runtime.db.run(runtime.services.orders.payout, user_id=user.id, amount_text=args[1],
                                admin_id=update.effective_user.id)
    left = await runtime.db.run(runtime.services.orders.payable, user.id)
    cur = runtime.config.commission.currency
    # Both: the name is what the admin typed, the id is what the ledger keeps.
    who = f"@{user.username} ({user.id})" if user.username else str(user.id)
    await reply(update, say("payout_done", language, amount=format_money(done.amount, cur), user=who,
                            left=format_money(left, cur)))
