"""Inline keyboards and deep links. Callback data is short, ASCII and well under 64 bytes."""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LoginUrl

from bot.tg.texts import say


def deep_link(bot_username: str, payload: str) -> str:
    """``https://t.me/<bot>?start=<payload>`` (payload: ≤ 64 chars of A-Za-z0-9_-)."""
    return f"https://t.me/{bot_username}?start={payload}"


def card_keyboard(*, lang: str, price_text: str, sku: str, post_code: str | None = None,
                  share_code: str | None = None, login_url: str | None = None) -> InlineKeyboardMarkup:
    """``[🛒 Buy ¥39.00] [📣 Share]`` under a card."""
    label = "🛒 " + ("购买 " if lang == "zh_CN" else "Buy ") + price_text
    if login_url is not None:
        buy = InlineKeyboardButton(label, login_url=LoginUrl(url=login_url))
    elif post_code is not None:
        buy = InlineKeyboardButton(label, callback_data=f"buy:{post_code}")
    else:
        buy = InlineKeyboardButton(label, callback_data=f"sbuy:{share_code}")
    share = InlineKeyboardButton(say("share", lang), switch_inline_query=sku)
    return InlineKeyboardMarkup([[buy, share]])


def link_keyboard(*, url: str, label: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, url=url)]])


def card_markup(*, lang: str, price_text: str, sku: str, post_code: str | None = None,
                share_code: str | None = None, login_url: str | None = None) -> dict[str, Any]:
    """``card_keyboard`` as the Bot API's JSON object, for the sender's raw requests: a fan-out
    builds one per post, and PTB's objects (built, frozen, then turned into this dict again)
    cost more than the rest of the request's preparation."""
    label = "🛒 " + ("购买 " if lang == "zh_CN" else "Buy ") + price_text
    buy: dict[str, Any] = {"text": label}
    if login_url is not None:
        buy["login_url"] = {"url": login_url}
    elif post_code is not None:
        buy["callback_data"] = f"buy:{post_code}"
    else:
        buy["callback_data"] = f"sbuy:{share_code}"
    return {"inline_keyboard": [[buy, {"text": say("share", lang), "switch_inline_query": sku}]]}
