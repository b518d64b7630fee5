"""The mini app's doors in chat: the chat menu button and the /start web_app button."""

from __future__ import annotations

import ipaddress
import logging
from urllib.parse import urlsplit

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, MenuButtonWebApp, WebAppInfo
from telegram.error import TelegramError

from bot.tg.texts import say

log = logging.getLogger(__name__)


def app_url(public_url: str) -> str | None:
    """``<public_url>/app`` when Telegram can open it, else None.

    Telegram opens only HTTPS mini apps; its test environment (and the local emulator) also
    take plain HTTP on a loopback or IP address, which is what a local run has.
    """
    url = public_url.rstrip("/") + "/app"
    parts = urlsplit(url)
    if parts.scheme == "https":
        return url
    host = parts.hostname or ""
    try:
        is_ip = bool(ipaddress.ip_address(host))
    except ValueError:
        is_ip = host == "localhost"
    return url if parts.scheme == "http" and is_ip else None


async def set_menu_button(bot: Bot, public_url: str, *, lang: str) -> bool:
    """Make the chat menu button open the mini app; a refusal is logged, not fatal."""
    url = app_url(public_url)
    if url is None:
        log.warning("mini app menu button not set: public_url is not HTTPS")
        return False
    try:
        await bot.set_chat_menu_button(menu_button=MenuButtonWebApp(
            text=say("app_button", lang), web_app=WebAppInfo(url=url)))
    except TelegramError as exc:
        log.warning("mini app menu button not set", extra={"error": str(exc)})
        return False
    return True


def app_keyboard(public_url: str, lang: str) -> InlineKeyboardMarkup | None:
    """A one-button keyboard that opens the mini app (None when it cannot be opened)."""
    url = app_url(public_url)
    if url is None:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(say("app_button", lang),
                                                       web_app=WebAppInfo(url=url))]])
