"""Callback buttons: Buy on a card (posted or shared), Get link, and the /deals buttons.

Callback data is ``<kind>:<value>``; bot/tg/handlers.py routes each kind here with its own
``CallbackQueryHandler(pattern=...)``. The value is a random code or a number that is looked
up, never trusted: forged data finds nothing and gets a short answer. Throttling happens once,
in the gate before every handler (bot/tg/handlers.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable

from telegram import CallbackQuery, Update
from telegram.error import BadRequest

from bot.domain.links import looks_like_code
from bot.services.base import ServiceError
from bot.services.tracking import IssuedLink
from bot.tg.common import lang, person_of
from bot.tg.context import KocContext
from bot.tg.deals import on_deals_button
from bot.tg.keyboards import deep_link
from bot.tg.texts import say

log = logging.getLogger(__name__)
MAX_ID = 2**63 - 1  # database ids are signed 64-bit; a bigger number is no id (and overflows SQLite)
# One pattern per kind of callback data (what comes before the first colon, or the whole data);
# the value after the colon is checked by the handler.
BUY = r"^buy(?::|$)"
SHARE_BUY = r"^sbuy(?::|$)"
GET_LINK = r"^gl(?::|$)"
DEALS = r"^(?:dp|pk)(?::|$)"


def parse_id(value: str) -> int | None:
    """``value`` as a database id, or None: ASCII digits only ('²'.isdigit() is true) and at most MAX_ID."""
    if not (value.isascii() and value.isdigit() and len(value) <= 19):
        return None
    number = int(value)
    return number if number <= MAX_ID else None


def _value(query: CallbackQuery) -> str:
    return (query.data or "").partition(":")[2]


async def _answer_link(update: Update, context: KocContext, link: IssuedLink) -> None:
    """Count the tap and open the member's link in a private chat with the bot."""
    context.runtime.metrics.taps.inc()
    assert update.callback_query is not None
    await update.callback_query.answer(url=deep_link(context.bot.username, f"l_{link.code}"))


async def _link_or_gone(update: Update, context: KocContext, issuing: Awaitable[IssuedLink]) -> None:
    """Answer with the link ``issuing`` gives, or "deal gone" when the services refuse it."""
    try:
        link = await issuing
    except ServiceError:
        await _deal_gone(update)
        return
    await _answer_link(update, context, link)


async def _deal_gone(update: Update) -> None:
    assert update.callback_query is not None
    await update.callback_query.answer(say("deal_gone", lang(update)), show_alert=True)


async def buy(update: Update, context: KocContext) -> None:
    """``buy:<post code>``: Buy on a posted card (taps that arrive together share a transaction)."""
    query = update.callback_query
    assert query is not None
    code = _value(query)
    # Codes are checked for shape before any look-up: forged data may hold a NUL byte, which
    # PostgreSQL refuses in a text parameter (an error, not "no such code").
    if not looks_like_code(code):
        await _deal_gone(update)  # answered like a code that finds nothing
        return
    await _link_or_gone(update, context, context.runtime.taps.tap(code, person_of(update)))


async def share_buy(update: Update, context: KocContext) -> None:
    """``sbuy:<share code>``: Buy on a card shared through inline mode or the mini app."""
    query = update.callback_query
    assert query is not None
    runtime = context.runtime
    code = _value(query)
    if not looks_like_code(code):
        await _deal_gone(update)
        return
    await _link_or_gone(update, context, runtime.db.run(
        runtime.services.tracking.tap_share, share_code=code, person=person_of(update),
        promoters=runtime.services.promoters))


async def get_link(update: Update, context: KocContext) -> None:
    """``gl:<product id>``: the member's own link to a deal."""
    query = update.callback_query
    assert query is not None
    runtime = context.runtime
    product_id = parse_id(_value(query))
    if product_id is None:
        await unknown(update, context)
        return
    await _link_or_gone(update, context, runtime.db.run(
        runtime.services.tracking.direct_link, product_id=product_id, person=person_of(update),
        promoters=runtime.services.promoters))


async def deals_button(update: Update, context: KocContext) -> None:
    """``dp:<offset>`` pages a /deals list; ``pk:<product id>`` picks a deal."""
    query = update.callback_query
    assert query is not None
    kind, _, value = (query.data or "").partition(":")
    number = parse_id(value)
    if number is None:
        await unknown(update, context)
        return
    try:
        await on_deals_button(update, context, kind, number)
    except BadRequest as exc:
        # Paging data forged onto a message that is no /deals list (a card photo has
        # no text to edit): the query is answered already; nothing to change.
        log.info("deals button on a message it does not fit", extra={"error": str(exc)})


async def unknown(update: Update, context: KocContext) -> None:
    """Data no pattern matches (or a value of the wrong shape): a short answer, nothing else."""
    query = update.callback_query
    assert query is not None
    await query.answer(say("unknown_button", lang(update)))
