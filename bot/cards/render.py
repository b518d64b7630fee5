"""The deal card: product photo, title, price, struck original price, discount badge, merchant."""

from __future__ import annotations

import hashlib
import io
import logging
import re
import warnings
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont, ImageOps

from bot.cards.fonts import drawable, find_font, has_glyph, load_font
from bot.cards.layout import ellipsize, wrap_text
from bot.cards.palette import ACCENT, INK, MUTED, WHITE
from bot.domain.money import format_money

log = logging.getLogger(__name__)

LOCALES = ("en", "zh_CN")
WIDTH, HEIGHT = 1080, 1350  # 4:5, the tallest photo Telegram shows uncropped in a chat
PHOTO_HEIGHT = 810  # 4:3 product photo on top
MARGIN = 60
JPEG_QUALITY = 88
# Refuse to decode absurd images (decompression bombs) and use the placeholder instead: the
# size comes from the header, so a 151 KB PNG declaring 6300x6300 is refused before decoding.
MAX_SOURCE_PIXELS = 12_000_000

SOFT = (78, 89, 105)
ACCENT_TINT = (253, 236, 234)
RULE = (236, 238, 242)
# Placeholder backgrounds with a darker ink each: calm enough to read as "no photo", not an error.
PLACEHOLDER_PALETTE = (
    ((255, 239, 229), (222, 112, 60)),
    ((232, 244, 236), (62, 142, 96)),
    ((231, 240, 252), (58, 110, 190)),
    ((243, 236, 251), (128, 86, 190)),
    ((252, 241, 222), (190, 132, 30)),
    ((236, 241, 244), (84, 110, 128)),
)

TITLE_SIZE, TITLE_LINE, TITLE_LINES = 50, 70, 3
PRICE_SIZE, PRICE_MIN_SIZE = 112, 48
PRICE_GAP = 136  # from the last title baseline to the price baseline
ORIGINAL_SIZE = 44
FOOTER_TOP = 1248
BADGE_SIZE = 46
MERCHANT_SIZE = 34

_MONEY_PARTS = re.compile(r"^(?P<prefix>\D*?)(?P<whole>\d[\d,]*)(?P<fraction>\.\d+)?(?P<suffix>.*)$")


@dataclass(frozen=True)
class CardInput:
    """What a deal card shows; prices are integer minor units of ``currency``."""

    title: str
    merchant: str
    price: int
    original_price: int
    currency: str
    image: bytes | None = None
    locale: str = "zh_CN"


@dataclass(frozen=True)
class ComposedCard:
    """A rendered card before encoding, with where things went (for tests and previews)."""

    image: Image.Image
    title_lines: tuple[str, ...]
    placeholder: bool
    badge: str
    strike_box: tuple[int, int, int, int] | None


def discount_percent(price: int, original_price: int) -> int:
    """Whole percent off ``original_price`` (rounded down, never overstated), 0 if none."""
    if original_price <= 0 or price >= original_price:
        return 0
    return min(100, (original_price - max(price, 0)) * 100 // original_price)


def badge_text(percent: int, locale: str) -> str:
    """The discount badge for ``locale``: ``省35%`` or ``35% OFF``; empty for no discount."""
    if percent <= 0:
        return ""
    return f"省{percent}%" if locale == "zh_CN" else f"{percent}% OFF"


def render_card(card: CardInput, *, font_path: str = "") -> bytes:
    """The card as JPEG bytes; the same input always gives the same bytes."""
    composed = compose_card(card, font_path=font_path)
    out = io.BytesIO()
    # 4:4:4 keeps red text on white crisp; no EXIF or timestamps, so output is deterministic.
    composed.image.save(out, "JPEG", quality=JPEG_QUALITY, subsampling=0, optimize=True)
    return out.getvalue()


def compose_card(card: CardInput, *, font_path: str = "") -> ComposedCard:
    """Draw the card into a Pillow image."""
    if card.locale not in LOCALES:
        raise ValueError(f"unsupported locale {card.locale!r}; expected one of {LOCALES}")
    path = find_font(font_path)
    canvas = Image.new("RGB", (WIDTH, HEIGHT), WHITE)
    draw = ImageDraw.Draw(canvas)

    photo = _product_photo(card.image, (WIDTH, PHOTO_HEIGHT))
    placeholder = photo is None
    canvas.paste(photo or _placeholder(card.merchant, path, (WIDTH, PHOTO_HEIGHT)), (0, 0))

    badge = badge_text(discount_percent(card.price, card.original_price), card.locale)
    if badge:
        _draw_badge(canvas, badge, path)

    text_width = WIDTH - 2 * MARGIN
    title_font = load_font(path, TITLE_SIZE)
    lines = wrap_text(drawable(card.title, path), title_font, text_width, TITLE_LINES)
    # Title and price form one block centred between photo and footer, so a one-line title
    # does not leave a hole above the price.
    ascent = title_font.getmetrics()[0]
    block = ascent + (len(lines) - 1) * TITLE_LINE + PRICE_GAP + 12
    y = PHOTO_HEIGHT + max(44, (FOOTER_TOP - PHOTO_HEIGHT - block) // 2) + ascent
    for line in lines:
        # A hairline stroke in the text colour: a semibold look from the one Regular face.
        draw.text(
            (MARGIN, y),
            line,
            font=title_font,
            fill=INK,
            anchor="ls",
            stroke_width=0.6,
            stroke_fill=INK,
        )
        y += TITLE_LINE
    baseline = y - TITLE_LINE + PRICE_GAP if lines else FOOTER_TOP - 60
    strike_box = _draw_prices(draw, card, path, baseline=baseline, width=text_width)
    _draw_merchant(canvas, card.merchant, path, top=FOOTER_TOP)
    return ComposedCard(canvas, tuple(lines), placeholder, badge, strike_box)


def _product_photo(data: bytes | None, size: tuple[int, int]) -> Image.Image | None:
    """``data`` decoded and cover-fitted to ``size``, or None if missing or not an image."""
    if not data:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(io.BytesIO(data))
            if image.width * image.height > MAX_SOURCE_PIXELS:
                log.warning("product image not used: %dx%d is over %d pixels",
                            image.width, image.height, MAX_SOURCE_PIXELS)
                return None
            image.draft("RGB", (size[0] * 2, size[1] * 2))  # JPEG: decode at a smaller scale
            image = ImageOps.exif_transpose(image)
            image.load()
            if image.mode in {"RGBA", "LA", "P", "PA"} or "transparency" in image.info:
                rgba = image.convert("RGBA")
                image = Image.new("RGB", rgba.size, WHITE)
                image.paste(rgba, mask=rgba.getchannel("A"))
            else:
                image = image.convert("RGB")
            return ImageOps.fit(image, size, method=Image.Resampling.LANCZOS)
    except Exception as exc:  # Pillow raises many types for bad data; all mean "no photo"
        log.warning("product image not used: %s", exc.__class__.__name__)
        return None


def _initial(merchant: str, path: str) -> str:
    """The first drawable letter or ideograph of the merchant's name, upper-cased."""
    for char in drawable(merchant, path):
        if char.isalnum() and has_glyph(path, char.upper()[:1]):
            return char.upper()[:1]
    return "?"


def _placeholder(merchant: str, path: str, size: tuple[int, int]) -> Image.Image:
    """A calm tinted panel with the merchant's initial in a circle, for a missing photo."""
    # Colour from a stable hash, so one merchant always gets the same tint.
    pick = hashlib.sha256(merchant.encode("utf-8")).digest()[0] % len(PLACEHOLDER_PALETTE)
    background, ink = PLACEHOLDER_PALETTE[pick]
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    cx, cy, radius = size[0] // 2, size[1] // 2 - 30, 150
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=WHITE)
    draw.text((cx, cy), _initial(merchant, path), font=load_font(path, 160), fill=ink, anchor="mm")
    name = drawable(merchant, path)
    if name:
        font = load_font(path, 40)
        draw.text(
            (cx, cy + radius + 70),
            ellipsize(name, font, size[0] - 2 * MARGIN),
            font=font,
            fill=ink,
            anchor="mm",
        )
    return image


def _draw_badge(canvas: Image.Image, text: str, path: str) -> None:
    """The discount badge, a red pill in the photo's top-left corner."""
    font = load_font(path, BADGE_SIZE)
    draw = ImageDraw.Draw(canvas)
    pad_x, height = 28, 82
    width = int(font.getlength(text)) + 2 * pad_x
    box = (MARGIN - 20, MARGIN - 20, MARGIN - 20 + width, MARGIN - 20 + height)
    draw.rounded_rectangle(box, radius=height // 2, fill=ACCENT)
    centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    draw.text(centre, text, font=font, fill=WHITE, anchor="mm", stroke_width=1, stroke_fill=WHITE)


def _price_parts(text: str) -> list[tuple[str, float, int]]:
    """Split formatted money into (text, relative size, space after) for shop-style display.

    ``¥7,999.00`` becomes a small ``¥``, a big ``7,999`` and a smaller ``.00``.
    """
    match = _MONEY_PARTS.match(text)
    if not match:
        return [(text, 1.0, 0)]
    parts = [
        (match["prefix"], 0.5, 6),
        (match["whole"], 1.0, 0),
        (match["fraction"] or "", 0.55, 0),
        (match["suffix"], 0.5, 0),
    ]
    return [part for part in parts if part[0]]


def _parts_width(parts: list[tuple[str, float, int]], size: int, path: str) -> float:
    return sum(load_font(path, round(size * scale)).getlength(t) + after for t, scale, after in parts)


def _draw_prices(
    draw: ImageDraw.ImageDraw, card: CardInput, path: str, *, baseline: int, width: int
) -> tuple[int, int, int, int] | None:
    """The price big in the accent colour and the original price struck through beside it."""
    parts = _price_parts(format_money(card.price, card.currency))
    show_original = card.original_price > card.price
    original = format_money(card.original_price, card.currency) if show_original else ""
    original_font = load_font(path, ORIGINAL_SIZE)
    gap = 28
    room = width - (gap + original_font.getlength(original) if original else 0)
    size = PRICE_SIZE
    # Shrink a very long amount until price and original price share the row.
    while size > PRICE_MIN_SIZE and _parts_width(parts, size, path) > room:
        size -= 4
    x = float(MARGIN)
    for text, scale, after in parts:
        font = load_font(path, round(size * scale))
        # Faux bold (a stroke in the fill colour): the font ships one Regular weight.
        stroke = 2 if scale == 1.0 else 1
        draw.text(
            (x, baseline), text, font=font, fill=ACCENT, anchor="ls", stroke_width=stroke, stroke_fill=ACCENT
        )
        x += font.getlength(text) + after
    if not original:
        return None
    return draw_struck_text(draw, (x + gap, baseline), original, original_font, MUTED)


def draw_struck_text(
    draw: ImageDraw.ImageDraw,
    xy: tuple[float, float],
    text: str,
    font: ImageFont.FreeTypeFont,
    fill: tuple[int, int, int],
) -> tuple[int, int, int, int]:
    """Draw ``text`` at baseline ``xy`` with a line through it; returns the text's box."""
    x, y = xy
    draw.text((x, y), text, font=font, fill=fill, anchor="ls")
    box = draw.textbbox((x, y), text, font=font, anchor="ls")
    digit_top = font.getbbox("0", anchor="ls")[1]  # negative: height of a digit above baseline
    strike_y = round(y + digit_top * 0.42)
    thickness = max(2, round(font.size / 16))
    top = strike_y - thickness // 2
    draw.rectangle((box[0] - 2, top, box[2] + 2, top + thickness - 1), fill=fill)
    return (int(box[0]), int(box[1]), int(box[2]), int(box[3]))


def _draw_merchant(canvas: Image.Image, merchant: str, path: str, *, top: int) -> None:
    """A hairline rule, then the merchant's initial in a small disc and the merchant's name."""
    draw = ImageDraw.Draw(canvas)
    draw.line((MARGIN, top, WIDTH - MARGIN, top), fill=RULE, width=2)
    centre_y = top + (HEIGHT - top) // 2
    radius = 26
    draw.ellipse((MARGIN, centre_y - radius, MARGIN + 2 * radius, centre_y + radius), fill=ACCENT_TINT)
    draw.text(
        (MARGIN + radius, centre_y),
        _initial(merchant, path),
        font=load_font(path, 30),
        fill=ACCENT,
        anchor="mm",
    )
    font = load_font(path, MERCHANT_SIZE)
    x = MARGIN + 2 * radius + 18
    name = ellipsize(drawable(merchant, path), font, WIDTH - MARGIN - x)
    draw.text((x, centre_y), name, font=font, fill=SOFT, anchor="lm")
