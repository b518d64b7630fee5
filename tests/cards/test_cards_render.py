"""The deal card: determinism, glyphs, placeholder, strikethrough, badge, odd input."""

from __future__ import annotations

import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image, ImageDraw

from bot.cards.fonts import find_font, load_font
from bot.cards.render import (
    HEIGHT,
    PHOTO_HEIGHT,
    WIDTH,
    CardInput,
    badge_text,
    compose_card,
    discount_percent,
    draw_struck_text,
    render_card,
)

ZH_TITLE = "苹果 iPhone 15 Pro Max 256GB 原色钛金属，限时特价！双卡双待 5G 手机官方旗舰店正品保障"
NOTDEF = chr(0x10FFFD)


def _card(**changes: object) -> CardInput:
    values: dict[str, object] = {
        "title": ZH_TITLE,
        "merchant": "京东自营",
        "price": 3900,
        "original_price": 6000,
        "currency": "CNY",
        "image": None,
        "locale": "zh_CN",
    }
    values.update(changes)
    return CardInput(**values)  # type: ignore[arg-type]


def _has_solid_row(image: Image.Image, box: tuple[int, int, int, int], share: float) -> bool:
    """Whether some row inside ``box`` is dark across at least ``share`` of its width."""
    gray = image.convert("L")
    left, top, right, bottom = box
    for y in range(top, bottom + 1):
        dark = sum(1 for x in range(left, right) if gray.getpixel((x, y)) < 200)
        if dark >= share * (right - left):
            return True
    return False


def test_same_input_gives_identical_bytes(jpeg_bytes: bytes) -> None:
    card = _card(image=jpeg_bytes)
    assert render_card(card) == render_card(card)
    assert render_card(_card()) == render_card(_card())
    assert render_card(card) != render_card(_card())


def test_output_is_a_jpeg_of_the_card_size(jpeg_bytes: bytes) -> None:
    data = render_card(_card(image=jpeg_bytes))
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        assert image.size == (WIDTH, HEIGHT)


def test_chinese_title_is_drawn_with_real_glyphs() -> None:
    composed = compose_card(_card())
    drawn = "".join(composed.title_lines).replace(" ", "")
    assert drawn.startswith("苹果iPhone15ProMax256GB原色钛金属，")
    font = load_font(find_font(), 50)
    box = bytes(font.getmask(NOTDEF))
    assert all(bytes(font.getmask(char)) != box for char in drawn if not char.isspace())
    # And the title area holds ink: the lines were really drawn, not left blank.
    title_area = composed.image.crop((60, PHOTO_HEIGHT + 20, WIDTH - 60, PHOTO_HEIGHT + 200))
    assert title_area.convert("L").getextrema()[0] < 80


def test_titles_wrap_to_at_most_three_lines_with_an_ellipsis() -> None:
    assert len(compose_card(_card(title="短标题")).title_lines) == 1
    long = compose_card(_card(title=ZH_TITLE * 5)).title_lines
    assert len(long) == 3 and long[-1].endswith("…")
    english = compose_card(_card(title="Ultra light down jacket " * 10, locale="en")).title_lines
    assert len(english) == 3 and english[-1].endswith("…")
    assert all(line.split()[0] in {"Ultra", "light", "down", "jacket"} for line in english)


def test_missing_image_gives_the_placeholder(jpeg_bytes: bytes) -> None:
    assert compose_card(_card(image=None)).placeholder
    assert compose_card(_card(image=b"")).placeholder
    assert not compose_card(_card(image=jpeg_bytes)).placeholder


@pytest.mark.parametrize(
    "data",
    [b"not an image", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, b"\xff\xd8\xff\xe0" + b"\x11" * 100],
)
def test_corrupt_image_gives_the_placeholder(data: bytes) -> None:
    composed = compose_card(_card(image=data))
    assert composed.placeholder
    photo = composed.image.crop((0, 0, WIDTH, PHOTO_HEIGHT))
    # A calm, mostly flat panel: the corners share the background tint.
    corners = {photo.getpixel(p) for p in [(5, PHOTO_HEIGHT - 5), (WIDTH - 5, PHOTO_HEIGHT - 5)]}
    assert len(corners) == 1


def test_truncated_image_gives_the_placeholder(jpeg_bytes: bytes) -> None:
    assert compose_card(_card(image=jpeg_bytes[: len(jpeg_bytes) // 2])).placeholder


def test_decompression_bomb_gives_the_placeholder() -> None:
    out = io.BytesIO()
    Image.new("1", (10_000, 5_000)).save(out, "PNG")
    assert compose_card(_card(image=out.getvalue())).placeholder


@pytest.mark.parametrize(
    ("fmt", "mode"),
    [
        ("PNG", "RGBA"),
        ("PNG", "LA"),
        ("GIF", "P"),
        ("JPEG", "CMYK"),
        ("PNG", "I;16"),
        ("WEBP", "RGB"),
        ("BMP", "RGB"),
        ("TIFF", "RGB"),
    ],
)
def test_common_image_formats_are_used(make_image: Callable[..., bytes], fmt: str, mode: str) -> None:
    assert not compose_card(_card(image=make_image((500, 700), fmt, mode))).placeholder


def test_photo_is_cover_fitted(make_image: Callable[..., bytes]) -> None:
    # A tall photo fills the whole photo area: no letterbox bars at the sides.
    composed = compose_card(_card(image=make_image((300, 1200))))
    photo = composed.image.crop((0, 0, WIDTH, PHOTO_HEIGHT)).convert("L")
    assert photo.getpixel((WIDTH // 2, PHOTO_HEIGHT // 2)) < 120  # the product, centred
    assert photo.getpixel((3, PHOTO_HEIGHT // 2)) > 200  # its light background, not a bar


def test_original_price_is_struck_through() -> None:
    composed = compose_card(_card(price=3900, original_price=6000))
    assert composed.strike_box is not None
    left, top, right, bottom = composed.strike_box
    assert _has_solid_row(composed.image, (left, top, right, bottom), 0.97)


def test_no_strikethrough_or_badge_without_a_discount() -> None:
    composed = compose_card(_card(price=6000, original_price=6000))
    assert composed.strike_box is None
    assert composed.badge == ""


def test_draw_struck_text_draws_a_line_through_the_text() -> None:
    font = load_font(find_font(), 44)
    plain = Image.new("RGB", (400, 100), "white")
    ImageDraw.Draw(plain).text((10, 70), "¥129.00", font=font, fill="black", anchor="ls")
    struck = Image.new("RGB", (400, 100), "white")
    box = draw_struck_text(ImageDraw.Draw(struck), (10, 70), "¥129.00", font, (0, 0, 0))
    assert _has_solid_row(struck, box, 0.97)
    assert not _has_solid_row(plain, box, 0.97)  # the digits alone never make a full row


@pytest.mark.parametrize(
    ("price", "original", "percent"),
    [
        (3900, 6000, 35),
        (6000, 6000, 0),
        (7000, 6000, 0),
        (0, 6000, 100),
        (100, 0, 0),
        (1, 3, 66),
        (5999, 6000, 0),
        (3333, 10000, 66),
    ],
)
def test_discount_percent(price: int, original: int, percent: int) -> None:
    assert discount_percent(price, original) == percent


def test_badge_text_per_locale() -> None:
    assert badge_text(35, "zh_CN") == "省35%"
    assert badge_text(35, "en") == "35% OFF"
    assert badge_text(0, "en") == ""
    assert compose_card(_card(locale="en")).badge == "35% OFF"
    assert compose_card(_card(locale="zh_CN")).badge == "省35%"


def test_badge_and_price_are_drawn_in_the_accent_colour() -> None:
    raw = compose_card(_card()).image.tobytes()
    pixels = zip(raw[0::3], raw[1::3], raw[2::3], strict=True)
    red = sum(1 for r, g, b in pixels if r > 200 and g < 90 and b < 80)
    assert red > 5000


def test_emoji_and_unknown_glyphs_do_not_crash() -> None:
    card = _card(
        title="🔥🔥 爆款 \U0001f600 deal \u200d\ufe0f \ue000 \U00020000 ١٢٣ 🇨🇳",
        merchant="🛒🛍",
        locale="en",
    )
    composed = compose_card(card)
    assert "🔥" not in "".join(composed.title_lines)
    assert render_card(card)[:2] == b"\xff\xd8"
    assert compose_card(_card(title="🎉🎉🎉", merchant="")).title_lines == ()


def test_huge_prices_and_other_currencies_render() -> None:
    for currency in ("JPY", "KRW", "MYR", "USD", "EUR"):
        composed = compose_card(
            _card(price=123_456_789_012, original_price=999_999_999_999, currency=currency)
        )
        assert composed.strike_box is not None
        assert composed.strike_box[2] <= WIDTH


def test_unknown_locale_is_rejected() -> None:
    with pytest.raises(ValueError, match="locale"):
        render_card(_card(locale="fr"))


def test_renders_in_parallel_threads_match_sequential_ones(jpeg_bytes: bytes) -> None:
    # The bot renders via asyncio.to_thread, sharing the cached fonts between threads.
    cards = [
        _card(title=f"{ZH_TITLE} {i}", image=jpeg_bytes if i % 2 else None, locale=locale)
        for i in range(6)
        for locale in ("en", "zh_CN")
    ]
    expected = [render_card(card) for card in cards]
    with ThreadPoolExecutor(max_workers=6) as pool:
        assert list(pool.map(render_card, cards * 2)) == expected * 2
