"""Captions: escaping, Telegram's allowed tags, the 1024-character limit, both locales."""

from __future__ import annotations

from datetime import datetime
from html.parser import HTMLParser

import jinja2
import pytest

from bot.cards.captions import (
    CAPTION_LIMIT,
    make_environment,
    render_caption,
    visible_length,
    visible_text,
)
from bot.domain.money import format_money

ALLOWED = {"b", "i", "u", "s", "code", "a", "blockquote"}
NASTY = 'Deal <b>bold</b> & <script>alert("x")</script> &amp; 5 < 6'


class TelegramHtmlChecker(HTMLParser):
    """Fails on tags Telegram rejects, on attributes, and on unbalanced nesting."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in ALLOWED:
            self.errors.append(f"tag <{tag}> not allowed")
        if attrs and tag != "a":
            self.errors.append(f"attributes on <{tag}>")
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(f"unbalanced </{tag}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.errors.append(f"self-closing <{tag}/>")


def check_telegram_html(html: str) -> list[str]:
    """The list of problems Telegram would have with ``html`` (empty when fine)."""
    checker = TelegramHtmlChecker()
    checker.feed(html)
    checker.close()
    if checker.stack:
        checker.errors.append(f"unclosed {checker.stack}")
    return checker.errors


def _caption(**changes: object) -> str:
    values: dict[str, object] = {
        "locale": "zh_CN",
        "title": "小米充电宝",
        "merchant": "小米有品",
        "price": 7900,
        "original_price": 12900,
        "currency": "CNY",
    }
    values.update(changes)
    return render_caption(**values)  # type: ignore[arg-type]


def test_checker_catches_bad_html() -> None:
    assert check_telegram_html("<b>ok</b> <s>x</s>") == []
    assert check_telegram_html("<script>x</script>")
    assert check_telegram_html("<b>x")
    assert check_telegram_html("<b><i>x</b></i>")


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_markup_in_fields_arrives_escaped(locale: str) -> None:
    html = _caption(locale=locale, title=NASTY, merchant="<i>M&S</i>", category="<u>x</u>&")
    assert check_telegram_html(html) == []
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "&amp;amp;" in html  # a literal "&amp;" in a title stays literal
    text = visible_text(html)
    assert NASTY in text
    assert "<i>M&S</i>" in text and "<u>x</u>&" in text


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_caption_uses_only_allowed_tags_with_bold_title_and_struck_price(locale: str) -> None:
    html = _caption(locale=locale, category="数码", ends_at=datetime(2025, 6, 18, 20, 0))
    assert check_telegram_html(html) == []
    assert "<b>小米充电宝</b>" in html
    assert "<s>¥129.00</s>" in html
    assert "¥79.00" in html


def test_locales_differ_in_wording() -> None:
    zh = visible_text(_caption(locale="zh_CN", ends_at=datetime(2025, 6, 18, 20, 0)))
    en = visible_text(_caption(locale="en", ends_at=datetime(2025, 6, 18, 20, 0)))
    assert "到手价" in zh and "省38%" in zh and "6月18日 20:00" in zh
    assert "Now" in en and "38% off" in en and "2025-06-18 20:00" in en


def test_no_discount_means_no_struck_price() -> None:
    html = _caption(price=12900, original_price=12900)
    assert "<s>" not in html and "省" not in visible_text(html)


def test_money_is_formatted_for_its_currency() -> None:
    assert "¥5,990" in _caption(price=5990, original_price=7990, currency="JPY")
    assert "$39.00" in _caption(locale="en", price=3900, original_price=5000, currency="USD")


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
@pytest.mark.parametrize("title", ["长" * 5000, "x" * 5000, "🔥" * 3000, "<&>" * 2000])
def test_long_titles_are_shortened_to_the_limit_and_prices_kept(locale: str, title: str) -> None:
    html = _caption(
        locale=locale,
        title=title,
        price=123456,
        original_price=654321,
        merchant="m" * 500,
        category="c" * 500,
        ends_at=datetime(2025, 1, 1),
    )
    assert visible_length(html) <= CAPTION_LIMIT
    assert visible_length(html) > CAPTION_LIMIT - 40  # shortened, not emptied
    assert check_telegram_html(html) == []
    text = visible_text(html)
    assert format_money(123456, "CNY") in text and format_money(654321, "CNY") in text
    assert "…</b>" in html


def test_newlines_in_a_title_are_flattened() -> None:
    assert "<b>a b c</b>" in _caption(title="a\nb\r\n\tc")


def test_visible_length_counts_text_as_telegram_does() -> None:
    assert visible_length("<b>a&amp;b</b>") == 3
    assert visible_length("<s>¥1</s>\n x") == 5
    assert visible_length("😀") == 2  # one code point, two UTF-16 units


def test_environment_is_strict_and_has_a_money_filter() -> None:
    env = make_environment()
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ missing }}").render()
    assert env.from_string("{{ 3900 | money('USD') }}").render() == "$39.00"
    assert callable(env.autoescape)
    assert env.autoescape("en/caption.html.j2") is True
    assert env.autoescape("en/plain.txt.j2") is False


def test_a_given_environment_is_used() -> None:
    env = make_environment()
    env.globals["unused"] = 1
    assert _caption(env=env) == _caption()


def test_unknown_locale_is_rejected() -> None:
    with pytest.raises(ValueError, match="locale"):
        _caption(locale="../web")
