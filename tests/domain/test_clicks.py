from datetime import date

import pytest

from bot.domain.clicks import REFERRER_MAX, UA_MAX, crop, hash_ip, is_probable_bot, unique_key

BOTS = [
    None,
    "",
    "   ",
    "TelegramBot (like TwitterBot)",
    "TelegramBot",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Twitterbot/1.0",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "WhatsApp/2.23.20.0 A",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
    "curl/8.4.0",
    "Wget/1.21.4",
    "python-requests/2.31.0",
    "SomeNewCrawler 0.1",
]
PEOPLE = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36 Telegram-Android/10.5.0",
    "Mozilla/5.0 (Linux; Android 12; CUBOT NOTE 30) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/119.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.42 NetType/WIFI Language/zh_CN",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
]


@pytest.mark.parametrize("ua", BOTS)
def test_bots(ua: str | None) -> None:
    assert is_probable_bot(ua)


@pytest.mark.parametrize("ua", PEOPLE)
def test_people(ua: str) -> None:
    assert not is_probable_bot(ua)


def test_crop() -> None:
    assert crop(None, UA_MAX) is None
    assert crop("abc", 2) == "ab"
    assert crop("x" * 1000, REFERRER_MAX) == "x" * REFERRER_MAX
    assert crop("a\x00b", 10) == "ab"
    assert crop("购物车", 2) == "购物"
    with pytest.raises(ValueError):
        crop("abc", -1)


def test_hash_ip() -> None:
    salt = b"pepper"
    digest = hash_ip("203.0.113.7", salt)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert "203.0.113.7" not in digest
    assert hash_ip("203.0.113.7", salt) == digest
    assert hash_ip(" 203.0.113.7 ", salt) == digest
    assert hash_ip("::ffff:203.0.113.7", salt) == digest
    assert hash_ip("2001:DB8::1", salt) == hash_ip("2001:db8:0::1", salt)
    assert hash_ip("203.0.113.8", salt) != digest
    assert hash_ip("203.0.113.7", b"other") != digest
    assert len(hash_ip("not-an-ip", salt)) == 64
    with pytest.raises(ValueError):
        hash_ip("203.0.113.7", b"")


def test_unique_key() -> None:
    day = date(2024, 5, 1)
    assert unique_key(1, 2, day) == unique_key(1, 2, day)
    assert unique_key(1, 2, day) != unique_key(1, 2, date(2024, 5, 2))
    assert unique_key(1, 2, day) != unique_key(2, 1, day)
