"""Font lookup: the Simplified Chinese face, real glyphs rather than boxes, coverage."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import ImageFont

from bot.cards.fonts import coverage, drawable, face_index, find_font, has_glyph, load_font

NOTDEF = chr(0x10FFFD)  # plane-16 private use: in no font, so it draws the missing-glyph box


def _bitmap(font: ImageFont.FreeTypeFont, char: str) -> tuple[tuple[int, int], bytes]:
    mask = font.getmask(char)
    return mask.size, bytes(mask)


def test_default_font_is_the_pip_installed_noto_collection() -> None:
    path = find_font()
    assert Path(path).is_file()
    assert path.endswith(".ttc")


def test_configured_font_path_wins_and_a_missing_one_is_an_error(tmp_path: Path) -> None:
    assert find_font(find_font()) == find_font()
    with pytest.raises(FileNotFoundError):
        find_font(str(tmp_path / "nope.ttf"))


def test_the_simplified_chinese_face_is_chosen() -> None:
    path = find_font()
    assert load_font(path, 40).getname()[0] == "Noto Sans CJK SC"
    assert face_index(path) == 2


def test_load_font_is_cached() -> None:
    path = find_font()
    assert load_font(path, 41) is load_font(path, 41)


def test_chinese_glyphs_are_real_glyphs_not_the_missing_glyph_box() -> None:
    font = load_font(find_font(), 48)
    box = _bitmap(font, NOTDEF)
    assert box == _bitmap(font, "\ue000"), "both unmapped characters draw the same .notdef"
    for char in "苹果手机限时特价省钱京东自营旗舰店收益榜到手价":
        assert _bitmap(font, char) != box, f"{char!r} renders as a box"
    for char in "iPhone15¥€%":
        assert _bitmap(font, char) != box


def test_coverage_knows_what_the_font_lacks() -> None:
    path = find_font()
    assert coverage(path) is not None
    assert all(has_glyph(path, c) for c in "中文Latin¥€…")
    assert not has_glyph(path, "😀")
    assert not has_glyph(path, NOTDEF)


def test_drawable_drops_emoji_joiners_and_controls_and_keeps_text() -> None:
    text = "新品🎉 iPhone\u200d 15\ufe0f\n Pro 👍🏽\t特价\x00！"
    assert drawable(text, find_font()) == "新品 iPhone 15 Pro 特价！"
