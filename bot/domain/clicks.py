"""Click hygiene: bot detection, cropping, IP hashing and the unique-clicker key.

Bot detection decides whether a GET on a tracked link counts as a click or only as a bot
hit. It errs towards "bot" for things no person taps a link with:

- no user agent, or a blank one (every browser sends one);
- link-preview fetchers and crawlers: Telegram's (``TelegramBot (like TwitterBot)``),
  Googlebot, bingbot, facebookexternalhit, Twitterbot, Slackbot, WhatsApp, Discordbot and
  similar; any agent that names ``bot/``, ``crawler`` or ``spider``, or gives a
  ``+http`` info URL, as crawlers conventionally do;
- command-line tools and HTTP libraries (curl, Wget, python-requests, …): a promoter
  testing a link with curl should not inflate the click counts.

A plain ``bot`` substring is not enough on its own: some phone models (e.g. "CUBOT") put
it into real browsers' user agents. In-app browsers of chat apps (Telegram-Android,
WeChat's MicroMessenger, LINE) are people and count as clicks.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from datetime import date

UA_MAX = 256
REFERRER_MAX = 512

_BOT_TOKENS = (
    "telegrambot",
    "twitterbot",
    "googlebot",
    "bingbot",
    "facebookexternalhit",
    "facebot",
    "slackbot",
    "whatsapp",
    "discordbot",
    "linkedinbot",
    "applebot",
    "yandexbot",
    "duckduckbot",
    "baiduspider",
    "bytespider",
    "petalbot",
    "ahrefsbot",
    "semrushbot",
    "mj12bot",
    "pinterestbot",
    "redditbot",
    "skypeuripreview",
    "embedly",
    "vkshare",
    "headlesschrome",
    "lighthouse",
    "curl/",
    "wget/",
    "python-requests",
    "python-urllib",
    "python-httpx",
    "aiohttp",
    "go-http-client",
    "java/",
    "libwww-perl",
    "scrapy",
    "node-fetch",
    "axios/",
    "httpclient",
    "okhttp",
)
_BOT_PATTERN = re.compile(r"bot/|crawler|spider|\+https?://", re.IGNORECASE)


def is_probable_bot(user_agent: str | None) -> bool:
    """True when the user agent is missing or belongs to a crawler, previewer or tool."""
    if user_agent is None or not user_agent.strip():
        return True
    lowered = user_agent.lower()
    if any(token in lowered for token in _BOT_TOKENS):
        return True
    return bool(_BOT_PATTERN.search(user_agent))


def crop(text: str | None, limit: int) -> str | None:
    """``text`` cut to at most ``limit`` characters, without NULs; None stays None."""
    if limit < 0:
        raise ValueError(f"limit must not be negative, got {limit}")
    if text is None:
        return None
    # PostgreSQL text columns reject NUL, and a header may carry one.
    return text.replace("\x00", "")[:limit]


def hash_ip(ip: str, salt: bytes) -> str:
    """Hex HMAC-SHA256 of the client address keyed by ``salt``; the address is not stored."""
    if not salt:
        raise ValueError("an IP hash needs a non-empty salt")
    text = ip.strip()
    try:
        # One address, one hash: spellings such as "2001:DB8::1" and "2001:db8:0::1" agree.
        address = ipaddress.ip_address(text)
    except ValueError:
        pass  # not an address (a proxy's odd header); hash it as given
    else:
        # A dual-stack socket reports IPv4 clients as "::ffff:a.b.c.d"; same client, same hash.
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        text = address.compressed
    return hmac.new(salt, text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def unique_key(member_id: int, link_id: int, day: date) -> tuple[int, int, date]:
    """The key that makes a unique clicker: one member, one link, one day."""
    return (member_id, link_id, day)
