"""Codes for tracked links, invite links and posts: random, URL-safe and short.

A code travels in ``/c/<code>`` and in Telegram's start parameter (``l_<code>``), which
allows at most 64 characters of ``[A-Za-z0-9_-]``. 12 random bytes give 96 bits of
entropy in 16 characters, so codes cannot be guessed or enumerated.
"""

from __future__ import annotations

import re
import secrets

CODE_BYTES = 12  # 96 bits; base64url makes 16 characters of it
CODE_MIN = 8  # shorter text is not a code we could have issued
CODE_MAX = 22  # base64url of 16 bytes; leaves room for a prefix in a 64-char start parameter

_CODE = re.compile(rf"[A-Za-z0-9_-]{{{CODE_MIN},{CODE_MAX}}}")


def new_code() -> str:
    """A fresh random code: 16 URL-safe characters, 96 bits of entropy."""
    return secrets.token_urlsafe(CODE_BYTES)


def looks_like_code(text: str) -> bool:
    """True when ``text`` has the shape of a code (cheap pre-check before a database look-up)."""
    # fullmatch, not match with "$": "$" would also accept a trailing newline.
    return bool(_CODE.fullmatch(text))
