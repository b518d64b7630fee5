"""Keyboards, deep links and the mini app URL, built without a bot."""

from __future__ import annotations

import pytest

from bot.tg.keyboards import card_keyboard, card_markup, deep_link, link_keyboard
from bot.tg.webapp import app_keyboard, app_url


def test_deep_link() -> None:
    assert deep_link("kocbot_test_bot", "r_abc-1") == "https://t.me/kocbot_test_bot?start=r_abc-1"


def test_card_keyboard_buy_by_post_code_and_share_by_sku() -> None:
    (buy, share), = card_keyboard(lang="en", price_text="¥39.00", sku="SKU-1",
                                  post_code="p1").inline_keyboard
    assert (buy.text, buy.callback_data) == ("🛒 Buy ¥39.00", "buy:p1")
    assert (share.text, share.switch_inline_query) == ("📣 Share", "SKU-1")


def test_card_keyboard_in_chinese_with_a_share_code() -> None:
    (buy, share), = card_keyboard(lang="zh_CN", price_text="¥1.00", sku="S",
                                  share_code="s9").inline_keyboard
    assert (buy.text, buy.callback_data) == ("🛒 购买 ¥1.00", "sbuy:s9")
    assert share.text == "📣 分享"


def test_card_keyboard_with_a_login_url_opens_it() -> None:
    (buy, _), = card_keyboard(lang="en", price_text="$2.00", sku="S", post_code="p",
                              login_url="https://example.test/l/x").inline_keyboard
    assert buy.login_url.url == "https://example.test/l/x"
    assert buy.callback_data is None


def test_callback_data_stays_under_telegrams_64_bytes() -> None:
    (buy, _), = card_keyboard(lang="en", price_text="x", sku="S", post_code="A" * 32).inline_keyboard
    assert len(buy.callback_data.encode()) <= 64


def test_link_keyboard() -> None:
    (button,), = link_keyboard(url="https://t.me/x?start=c", label="Start").inline_keyboard
    assert (button.text, button.url) == ("Start", "https://t.me/x?start=c")


@pytest.mark.parametrize(("public_url", "expected"), [
    ("https://shop.example/", "https://shop.example/app"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/app"),
    ("http://[::1]:8080/", "http://[::1]:8080/app"),
    ("http://localhost:8080", "http://localhost:8080/app"),
    ("http://shop.example", None),
    ("ftp://127.0.0.1", None),
])
def test_app_url_only_where_telegram_opens_it(public_url: str, expected: str | None) -> None:
    assert app_url(public_url) == expected


def test_app_keyboard() -> None:
    assert app_keyboard("http://shop.example", "en") is None
    (button,), = app_keyboard("https://shop.example", "en").inline_keyboard
    assert button.web_app.url == "https://shop.example/app"


@pytest.mark.parametrize("options", [
    {"lang": "en", "post_code": "p1"},
    {"lang": "zh_CN", "share_code": "s9"},
    {"lang": "en", "post_code": "p", "login_url": "https://example.test/l/x"},
])
def test_card_markup_is_the_card_keyboard_as_json(options: dict[str, str]) -> None:
    both = {"price_text": "¥39.00", "sku": "SKU-1", **options}
    assert card_markup(**both) == card_keyboard(**both).to_dict()
