"""Callback buttons: Buy on a card (posted or shared), and the /deals buttons.

Callback data is ``<kind>:<value>``. The value is a random code or a number that is looked
up, never trusted: forged data finds nothing and gets a short answer.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest

from bot.domain.links import looks_like_code
from bot.services.base import ServiceError
from bot.tg.common import lang, person_of
from bot.tg.context import KocContext
from bot.tg.deals import on_deals_button
from bot.tg.keyboards import deep_link
from bot.tg.texts import say

log = logging.getLogger(__name__)
MAX_ID = 2**63 - 1  # database ids are signed 64-bit; a bigger number is no id (and overflows SQLite)


def parse_id(value: str) -> int | None:
    """``value`` as a database id, or None: ASCII digits only ('²'.isdigit() is true) and at most MAX_ID."""
    if not (value.isascii() and value.isdigit() and len(value) <= 19):
        return None
    number = int(value)
    return number if number <= MAX_ID else None


async def on_button(update: Update, context: KocContext) -> None:
    """Route a callback query by its kind; always answer it."""
    query = update.callback_query
    if query is None:
        return
    kb = context.kocbot
    lg = lang(update)
    kind, _, value = (query.data or "").partition(":")
    if not kb.throttle.allow(query.from_user.id):
        await query.answer(say("too_fast", lg))
        return
    person = person_of(update)
    promoters = kb.services.promoters
    number = parse_id(value)
    # Codes are checked for shape before any look-up: forged data may hold a NUL byte, which
    # PostgreSQL refuses in a text parameter (an error, not "no such code").
    code = value if looks_like_code(value) else None
    try:
        if kind in ("buy", "sbuy") and code is None:
            raise ServiceError("no_such_deal")  # answered like a code that finds nothing
        if kind == "buy":
            link = await kb.taps.tap(value, person)
        elif kind == "sbuy":
            link = kb.services.tracking.tap_share(share_code=value, person=person, promoters=promoters)
        elif kind == "gl" and number is not None:
            link = kb.services.tracking.direct_link(product_id=number, person=person,
                                                    promoters=promoters)
        elif kind in ("dp", "pk") and number is not None:
            try:
                await on_deals_button(update, context, kind, number)
            except BadRequest as exc:
                # Paging data forged onto a message that is no /deals list (a card photo has
                # no text to edit): the query is answered already; nothing to change.
                log.info("deals button on a message it does not fit", extra={"error": str(exc)})
            return
        else:
            await query.answer(say("unknown_button", lg))
            return
    except ServiceError:
        await query.answer(say("deal_gone", lg), show_alert=True)
        return
    kb.metrics.taps.inc()
    await query.answer(url=deep_link(context.bot.username, f"l_{link.code}"))
