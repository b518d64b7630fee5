"""Deal captions for Telegram (parse_mode HTML), rendered from per-locale Jinja2 templates."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from html.parser import HTMLParser

import jinja2

from bot.cards.render import LOCALES, discount_percent
from bot.domain.money import format_money
from bot.resources import templates_dir

CAPTION_LIMIT = 1024
TEMPLATE = "caption.html.j2"
# Merchant and category are capped up front so the rest of a caption is bounded and the
# title alone can always be shortened to fit.
FIELD_LIMIT = 80
ELLIPSIS = "…"


def make_environment() -> jinja2.Environment:
    """A Jinja2 environment over templates_dir(): autoescaped .html.j2, strict, money filter."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = format_money
    return env


class _TextOnly(HTMLParser):
    """Collects the text of an HTML fragment, entities decoded, tags dropped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def visible_text(html: str) -> str:
    """The text Telegram shows for an HTML-formatted message, without leading/trailing space."""
    parser = _TextOnly()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts).strip()


def visible_length(html: str) -> int:
    """The length Telegram counts for an HTML caption: its text, in UTF-16 code units."""
    # Telegram measures message text in UTF-16 code units (its entity offsets are too), so an
    # emoji outside the BMP counts 2; counting that way never undercounts.
    return len(visible_text(html).encode("utf-16-le")) // 2


def render_caption(
    *,
    locale: str,
    title: str,
    merchant: str,
    price: int,
    original_price: int,
    currency: str,
    category: str = "",
    ends_at: datetime | None = None,
    env: jinja2.Environment | None = None,
) -> str:
    """The HTML caption for a deal, at most CAPTION_LIMIT visible characters (title shortened).

    ``ends_at`` is shown as given: convert it to the chat's time zone first.
    """
    if locale not in LOCALES:
        raise ValueError(f"unsupported locale {locale!r}; expected one of {LOCALES}")
    template = (env or make_environment()).get_template(f"{locale}/{TEMPLATE}")
    fields = {
        "merchant": _shorten(_one_line(merchant), FIELD_LIMIT),
        "price": price,
        "original_price": original_price,
        "currency": currency,
        "discount": discount_percent(price, original_price),
        "category": _shorten(_one_line(category), FIELD_LIMIT),
        "ends_at": ends_at,
    }
    title = _one_line(title)
    html = template.render(title=title, **fields).strip()
    if visible_length(html) <= CAPTION_LIMIT:
        return html
    # Binary search the longest title prefix whose caption still fits.
    low, high = 0, len(title)
    best = template.render(title=ELLIPSIS, **fields).strip()
    while low < high:
        middle = (low + high + 1) // 2
        candidate = template.render(title=_shorten(title, middle), **fields).strip()
        if visible_length(candidate) <= CAPTION_LIMIT:
            low, best = middle, candidate
        else:
            high = middle - 1
    return best


def _one_line(text: str) -> str:
    """Collapse newlines and runs of whitespace, so a field cannot break the caption's layout."""
    return " ".join(text.split())


def _shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters (ellipsis included), not inside a combined glyph."""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - 1)]
    # Do not leave a dangling joiner, variation selector or combining mark at the cut.
    while cut and (cut[-1] in "\u200d\ufe0e\ufe0f" or unicodedata.combining(cut[-1])):
        cut = cut[:-1]
    return cut.rstrip() + ELLIPSIS
