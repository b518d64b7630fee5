"""Inline mode: ``@<bot> words`` offers deal cards that post attributed to the sharer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from telegram import InlineQueryResultCachedPhoto, InlineQueryResultPhoto, Update

from bot.domain.money import format_money
from bot.tg.common import person_of
from bot.tg.context import KocContext
from bot.tg.keyboards import card_keyboard

if TYPE_CHECKING:
    from bot.runtime import Runtime
    from bot.storage.models import Product

MAX_RESULTS = 20
MAX_OFFSET = 10_000  # deeper than anyone scrolls; a bigger offset is forged and answers nothing


async def inline_query(update: Update, context: KocContext) -> None:
    """Answer with up to 20 matching deals as cached card photos."""
    query = update.inline_query
    if query is None:
        return
    runtime = context.runtime  # throttled already, in the gate (bot/tg/handlers.py)
    sharer = person_of(update)
    # isascii: '²'.isdigit() is true but int('²') fails. An offset we never gave is no number
    # (start over) or past the end (nothing more); the length check keeps int() cheap.
    raw = query.offset
    offset = 0
    if raw.isascii() and raw.isdigit():
        if len(raw) > len(str(MAX_OFFSET)) or int(raw) > MAX_OFFSET:
            await query.answer([], cache_time=0, is_personal=True, next_offset="")
            return
        offset = int(raw)
    products = await runtime.db.run(runtime.services.catalog.search, query.query[:100],
                                    limit=MAX_RESULTS, offset=offset)
    shares = await runtime.db.run(runtime.services.tracking.shares_for, sharer=sharer,
                                  product_ids=[p.id for p in products],
                                  promoters=runtime.services.promoters)
    results = [await shared_card(runtime, product, shares[product.id]) for product in products]
    next_offset = str(offset + MAX_RESULTS) if len(products) == MAX_RESULTS else ""
    await query.answer(results, cache_time=0, is_personal=True, next_offset=next_offset)


async def shared_card(runtime: Runtime, product: Product,
                      share_code: str) -> InlineQueryResultCachedPhoto | InlineQueryResultPhoto:
    """A deal's card as an inline result whose Buy button credits the share's sharer (inline
    mode and the mini app's prepared messages post the same card)."""
    card = await runtime.cards.prepare(product.id)
    keyboard = card_keyboard(lang=runtime.config.card.locale, sku=product.sku, share_code=share_code,
                             price_text=format_money(product.price, product.currency))
    if card.file_id:
        return InlineQueryResultCachedPhoto(
            id=share_code, photo_file_id=card.file_id, caption=card.caption, parse_mode="HTML",
            reply_markup=keyboard)
    url = f"{runtime.config.web.public_url.rstrip('/')}/card/{product.id}.jpg"
    return InlineQueryResultPhoto(id=share_code, photo_url=url, thumbnail_url=url,
                                  caption=card.caption, parse_mode="HTML", reply_markup=keyboard)


async def chosen_result(update: Update, context: KocContext) -> None:
    """The sharer posted a result: the share is live (needs inline feedback on in BotFather)."""
    chosen = update.chosen_inline_result
    if chosen is None:
        return
    await context.runtime.db.run(context.runtime.services.tracking.share_chosen, share_code=chosen.result_id,
                                                  inline_message_id=chosen.inline_message_id)
