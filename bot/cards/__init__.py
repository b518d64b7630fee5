"""Deal cards: the rendered photo, the HTML caption, product image fetching, report charts."""

from bot.cards.captions import CAPTION_LIMIT, make_environment, render_caption, visible_length
from bot.cards.chart import render_report_chart
from bot.cards.fonts import find_font, load_font
from bot.cards.images import fetch_image
from bot.cards.render import CardInput, discount_percent, render_card

__all__ = [
    "CAPTION_LIMIT",
    "CardInput",
    "discount_percent",
    "fetch_image",
    "find_font",
    "load_font",
    "make_environment",
    "render_caption",
    "render_card",
    "render_report_chart",
    "visible_length",
]
