"""The UI text table and its helpers, without a bot: every key in both languages, escaping."""

from __future__ import annotations

import string

import pytest

from bot.tg.texts import PARTIES, TEXTS, Html, lang_of, party, say


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("key", sorted(TEXTS))
def test_every_text_has_both_languages_and_chinese_needs_no_other_value(key: str) -> None:
    entry = TEXTS[key]
    assert set(entry) == {"en", "zh_CN"}
    # Callers pass what the English text needs; a Chinese placeholder beyond it would raise
    # KeyError there. (English may use more: plural nouns that Chinese has no need of.)
    assert _fields(entry["zh_CN"]) <= _fields(entry["en"])


def test_say_escapes_values_but_not_html() -> None:
    assert say("report_split", "en", parts="<b>&") == "Split: &lt;b&gt;&amp;"
    assert say("report_split", "en", parts=Html("<b>x</b>")) == "Split: <b>x</b>"


def test_say_picks_the_language_and_formats_numbers() -> None:
    assert say("report_split", "zh_CN", parts=3) == "分成：3"
    assert say("report_empty", "en") == "No activity yet."


def test_say_falls_back_to_english_for_a_language_it_lacks() -> None:
    assert say("report_empty", "fr") == "No activity yet."


@pytest.mark.parametrize(("code", "expected"), [
    (None, "en"), ("", "en"), ("en-GB", "en"), ("de", "en"),
    ("zh", "zh_CN"), ("zh-hans", "zh_CN"), ("ZH-TW", "zh_CN"),
])
def test_lang_of(code: str | None, expected: str) -> None:
    assert lang_of(code) == expected


def test_lang_of_keeps_the_default_only_without_a_code() -> None:
    assert lang_of(None, "zh_CN") == "zh_CN"
    assert lang_of("en", "zh_CN") == "en"


def test_party_names_in_both_languages_and_unknown_ones_as_is() -> None:
    assert {party(p, "en") for p in PARTIES} == {"platform", "promoter", "mentor", "partner"}
    assert party("mentor", "zh_CN") == "导师"
    assert party("someone", "zh_CN") == "someone"


def test_command_lines_and_menus_come_from_the_one_table() -> None:
    from bot.tg.texts import GROUP_COMMANDS, MENU_MEMBER, START_COMMAND

    timezone = next(c for c in GROUP_COMMANDS if c.name == "timezone")
    assert timezone.line("en") == "/timezone <IANA name> — the group's time zone"
    assert timezone.line("zh_CN") == "/timezone <时区> — 本群时区"
    assert timezone.menu() == ("timezone", "the group's time zone", "本群时区")
    assert START_COMMAND.menu() == ("start", "register", "注册")
    assert [c.name for c in MENU_MEMBER] == ["commission", "help"]
