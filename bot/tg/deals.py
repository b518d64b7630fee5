"""``/deals [words]`` in private: a few deals per page, paged by editing the same message."""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.cards.render import discount_percent
from bot.domain.money import format_money
from bot.services.base import ServiceError
from bot.storage.models import Product
from bot.tg.common import NO_PREVIEW, lang, private_only, reply
from bot.tg.context import KocContext
from bot.tg.texts import say

PAGE = 3


def _page(products: list[Product], offset: int, language: str,
          more: bool) -> tuple[str, InlineKeyboardMarkup]:
    lines = [say("deals_title", language, page=offset // PAGE + 1)]
    rows: list[list[InlineKeyboardButton]] = []
    for n, p in enumerate(products, start=1):
        off = discount_percent(p.price, p.original_price)
        lines.append(
            f"{n}. <b>{escape(p.title, quote=False)}</b>\n    {format_money(p.price, p.currency)}"
            f" <s>{format_money(p.original_price, p.currency)}</s> −{off}%"
        )
        rows.append([
            InlineKeyboardButton(f"{n}. {say('get_link', language)}", callback_data=f"gl:{p.id}"),
            InlineKeyboardButton(say("share", language), switch_inline_query=p.sku),
            InlineKeyboardButton(say("pick", language), callback_data=f"pk:{p.id}"),
        ])
    nav = []
    if offset > 0:
        nav.append(InlineKeyboardButton(say("prev", language), callback_data=f"dp:{max(0, offset - PAGE)}"))
    if more:
        nav.append(InlineKeyboardButton(say("next", language), callback_data=f"dp:{offset + PAGE}"))
    if nav:
        rows.append(nav)
    return "\n".join(lines), InlineKeyboardMarkup(rows)


async def _fetch(context: KocContext, offset: int) -> tuple[list[Product], bool]:
    runtime = context.runtime
    words = (context.user_data or {}).get("deals_q", "")
    found = await runtime.db.run(runtime.services.catalog.search, words, limit=PAGE + 1, offset=offset)
    return found[:PAGE], len(found) > PAGE


@private_only
async def deals(update: Update, context: KocContext) -> None:
    """Browse current deals, optionally matching words."""
    language = lang(update)
    context.user_data["deals_q"] = " ".join(context.args or [])[:100]
    products, more = await _fetch(context, 0)
    if not products:
        await reply(update, say("deals_none", language))
        return
    text, keyboard = _page(products, 0, language, more)
    await reply(update, text, reply_markup=keyboard)


async def on_deals_button(update: Update, context: KocContext, kind: str, value: int) -> None:
    """Paging (``dp:<offset>``) edits the list in place; ``pk:<id>`` picks a deal."""
    query = update.callback_query
    language = lang(update)
    if kind == "pk":
        try:
            runtime = context.runtime
            await runtime.db.run(runtime.services.catalog.pick, user_id=query.from_user.id,
                                 product_id=value)
        except ServiceError:
            await query.answer(say("deal_gone", language))
            return
        await query.answer(say("picked", language))
        return
    offset = max(0, min(value, 10_000))
    products, more = await _fetch(context, offset)
    await query.answer()
    if products:
        text, keyboard = _page(products, offset, language, more)
        await query.edit_message_text(text, parse_mode="HTML", reply_markup=keyboard,
                                      link_preview_options=NO_PREVIEW)
