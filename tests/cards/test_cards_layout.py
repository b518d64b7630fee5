"""Line breaking: Chinese per character, English per word, long words broken, ellipsis."""

from __future__ import annotations

import pytest
from PIL import ImageFont

from bot.cards.fonts import find_font, load_font
from bot.cards.layout import ELLIPSIS, tokens, wrap_text


@pytest.fixture(scope="module")
def font() -> ImageFont.FreeTypeFont:
    return load_font(find_font(), 50)


def test_chinese_breaks_between_any_two_characters(font: ImageFont.FreeTypeFont) -> None:
    text = "小米充电宝两万毫安快充版大容量便携移动电源适用苹果华为手机"
    lines = wrap_text(text, font, 500, 10)
    assert len(lines) > 1
    assert "".join(lines) == text  # nothing lost, nothing added, no spaces needed to break
    assert all(font.getlength(line) <= 500 for line in lines)
    # Lines are filled: one more character would not have fitted.
    rest = text
    for line in lines[:-1]:
        rest = rest[len(line) :]
        assert font.getlength(line + rest[0]) > 500


def test_english_breaks_only_between_words(font: ImageFont.FreeTypeFont) -> None:
    text = "Wireless noise cancelling headphones with thirty hour battery and fast charging"
    lines = wrap_text(text, font, 600, 10)
    assert len(lines) > 1
    assert " ".join(lines) == text
    words = set(text.split())
    assert all(word in words for line in lines for word in line.split())
    assert all(font.getlength(line) <= 600 for line in lines)


def test_a_word_longer_than_a_line_is_broken(font: ImageFont.FreeTypeFont) -> None:
    word = "Supercalifragilisticexpialidocious" * 2
    lines = wrap_text(word, font, 400, 10)
    assert "".join(lines) == word
    assert all(font.getlength(line) <= 400 for line in lines)


def test_mixed_title_keeps_latin_words_whole(font: ImageFont.FreeTypeFont) -> None:
    text = "苹果iPhone15ProMax手机原色钛金属双卡双待全网通官方旗舰店正品"
    lines = wrap_text(text, font, 420, 10)
    assert "".join(lines) == text
    assert any("iPhone15ProMax" in line for line in lines)


def test_closing_punctuation_never_starts_a_line(font: ImageFont.FreeTypeFont) -> None:
    text = "限时特价，" * 20
    for width in range(300, 700, 37):
        for line in wrap_text(text, font, width, 50):
            assert not line.startswith("，")


def test_too_much_text_is_cut_to_max_lines_with_an_ellipsis(font: ImageFont.FreeTypeFont) -> None:
    for text in ("超长标题" * 100, "word " * 200, "x" * 500):
        lines = wrap_text(text, font, 800, 3)
        assert len(lines) == 3
        assert lines[-1].endswith(ELLIPSIS)
        assert all(font.getlength(line) <= 800 for line in lines)


def test_text_that_fits_has_no_ellipsis(font: ImageFont.FreeTypeFont) -> None:
    assert wrap_text("短标题 short", font, 800, 3) == ["短标题 short"]
    assert wrap_text("", font, 800, 3) == []


def test_tokens() -> None:
    assert tokens("Apple iPhone（256GB）手机，好") == [
        "Apple",
        " ",
        "iPhone",
        "（256GB）",
        "手",
        "机，",
        "好",
    ]
