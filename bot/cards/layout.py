"""Line breaking for card text: per character for Chinese, per word for English."""

from __future__ import annotations

import unicodedata

from PIL import ImageFont

ELLIPSIS = "…"
# Closing punctuation must not start a line and opening punctuation must not end one
# (the Chinese 避头尾 rule; the ASCII ones keep "Pro," or "(2024" together too).
NO_LINE_START = frozenset("，。、；：？！）》」』】〕〉’”…—～·%,.;:?!)]}>")
NO_LINE_END = frozenset("（《「『【〔〈‘“([{<")


def is_wide(char: str) -> bool:
    """Whether ``char`` is a CJK-width character that may break on either side."""
    return unicodedata.east_asian_width(char) in {"W", "F"}


def tokens(text: str) -> list[str]:
    """Split ``text`` into unbreakable pieces; a single space marks a breakable gap."""
    out: list[str] = []
    for char in text:
        last = out[-1] if out else ""
        if char.isspace():
            if last and last != " ":
                out.append(" ")
        elif last and last != " " and _joins(last[-1], char):
            out[-1] = last + char
        else:
            out.append(char)
    if out and out[-1] == " ":
        out.pop()
    return out


def _joins(before: str, char: str) -> bool:
    """Whether no line break is allowed between ``before`` and ``char``."""
    if char in NO_LINE_START or before in NO_LINE_END:
        return True
    # Latin letters and digits run together as a word; CJK characters stand alone.
    return not is_wide(char) and not is_wide(before)


def wrap_text(text: str, font: ImageFont.FreeTypeFont, max_width: float, max_lines: int) -> list[str]:
    """Break ``text`` into at most ``max_lines`` lines no wider than ``max_width``.

    Words too long for a line are broken per character; text that does not fit ends with "…".
    """
    if max_lines < 1:
        return []
    lines: list[str] = []
    current = ""
    gap = False
    truncated = False

    def fits(line: str) -> bool:
        return font.getlength(line) <= max_width

    def push() -> bool:
        """Close the current line; True when no line is left for what follows."""
        nonlocal current
        lines.append(current.rstrip())
        current = ""
        return len(lines) >= max_lines

    for piece in tokens(text):
        if piece == " ":
            gap = bool(current)
            continue
        sep = " " if gap else ""
        gap = False
        if fits(current + sep + piece):
            current += sep + piece
            continue
        if fits(piece):
            if current and push():
                truncated = True
                break
            current = piece
            continue
        # A word wider than a whole line: fill this line and break it anywhere.
        if current and fits(current + sep):
            current += sep
        for char in piece:
            if current and not fits(current + char) and push():
                truncated = True
                break
            current += char
        if truncated:
            break
    if current and not truncated:
        lines.append(current)
    if truncated and lines:
        lines[-1] = ellipsize(lines[-1], font, max_width, force=True)
    return lines


def ellipsize(text: str, font: ImageFont.FreeTypeFont, max_width: float, *, force: bool = False) -> str:
    """``text`` cut to ``max_width`` with a trailing "…" (always added when ``force``)."""
    if not force and font.getlength(text) <= max_width:
        return text
    while text and font.getlength(text.rstrip() + ELLIPSIS) > max_width:
        text = text[:-1]
    return text.rstrip() + ELLIPSIS
