"""The pure formatters of the chat handlers: report table, tier progress, help, ids, retries."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.domain.tiers import Progress
from bot.services.reports import GroupReport, MemberRow
from bot.tg.admin import SHOW_ERRORS, _error_lines
from bot.tg.buttons import MAX_ID, parse_id
from bot.tg.group import report_text
from bot.tg.private import help_text, progress_text
from bot.tg.ratelimit import is_group
from bot.tg.sender import backoff


def _report(rows: list[MemberRow], by_party: dict[str, int] | None = None) -> GroupReport:
    return GroupReport(title="Deals <&> Co", rows=rows, by_party=by_party or {},
                       clicks_per_day=[(date(2026, 12, 1), 3)],
                       total_clicks=sum(r.clicks for r in rows), total_orders=sum(r.orders for r in rows),
                       total_sales=sum(r.sales for r in rows),
                       total_commission=sum(r.commission for r in rows))


def test_report_text_escapes_the_title_and_aligns_rows_in_pre() -> None:
    rows = [MemberRow(user_id=1, name="Ann <admin>", clicks=3, orders=1, sales=3900, commission=195)]
    text = report_text(_report(rows, {"promoter": 117, "platform": 78}), "en", "CNY", "7d")
    assert text == (
        "📊 <b>Deals &lt;&amp;&gt; Co</b> — 7d\n"
        "<pre>member · clicks · orders · sales · commission\n"
        "Ann &lt;admin&gt; · 3 · 1 · ¥39.00 · ¥1.95</pre>\n"
        "Total: 3 clicks · 1 orders · ¥39.00 sales · ¥1.95 commission\n"
        "Split: platform ¥0.78, promoter ¥1.17"
    )


def test_report_text_empty_in_chinese() -> None:
    text = report_text(_report([]), "zh_CN", "CNY", "全部")
    assert text == "📊 <b>Deals &lt;&amp;&gt; Co</b> —— 全部\n暂无数据。"


def test_report_text_crops_names_and_shows_thirty_rows() -> None:
    rows = [MemberRow(user_id=i, name=f"{'N' * 20}{i}") for i in range(40)]
    table = report_text(_report(rows), "en", "USD", "all").split("<pre>")[1].split("</pre>")[0]
    lines = table.splitlines()
    assert len(lines) == 1 + 30
    assert lines[1].startswith("N" * 16 + " · 0 · 0 · $0.00")
    assert report_text(_report(rows), "en", "USD", "all").endswith("Split: —")


def _progress(next_tier: str | None, active: int = 0, mentors: int = 0) -> Progress:
    return Progress(tier="promoter", next_tier=next_tier, active_invitees=0, mentor_invitees=0,
                    active_needed=active, mentors_needed=mentors)


@pytest.mark.parametrize(("where", "lang", "expected"), [
    (_progress(None), "en", "Top tier reached."),
    (_progress("mentor", active=0), "zh_CN", "你已达到导师条件，等级每小时更新。"),
    (_progress("mentor", active=1), "en", "Next tier: mentor — 1 more active invitee needed "
                                          "(an invitee with a confirmed order in the last 30 days)."),
    (_progress("mentor", active=2), "en", "Next tier: mentor — 2 more active invitees needed "
                                          "(an invitee with a confirmed order in the last 30 days)."),
    (_progress("partner", mentors=1), "en", "Next tier: partner — 1 more invitee who is a mentor needed."),
    (_progress("partner", mentors=3), "zh_CN", "下一等级：合伙人 —— 还需 3 位成为导师的直接邀请人。"),
])
def test_progress_text(where: Progress, lang: str, expected: str) -> None:
    assert progress_text(where, lang) == expected


def test_help_for_a_member_in_a_group_lists_only_member_commands() -> None:
    text = help_text("en", is_admin=True, in_group=True)
    assert "/commission — your earnings, sent in private" in text
    assert "/schedule" not in text and "/payout" not in text


def test_help_in_private_grows_with_the_roles() -> None:
    promoter = help_text("en", is_admin=False, in_group=False)
    owner = help_text("en", is_admin=False, in_group=False, owns_groups=True)
    admin = help_text("zh_CN", is_admin=True, in_group=False, owns_groups=True)
    assert "/deals" in promoter and "/schedule" not in promoter and "/payout" not in promoter
    assert "/schedule" in owner and "/payout" not in owner
    assert "/payout &lt;用户ID|@用户名&gt; &lt;金额&gt; — 记录提现" in admin  # escaped, in Chinese


def test_help_asks_an_unregistered_user_to_register() -> None:
    assert help_text("en", is_admin=False, in_group=False, registered=False).endswith(
        "Send /start to register as a promoter (free).")


@pytest.mark.parametrize(("value", "expected"), [
    ("0", 0), ("42", 42), (str(MAX_ID), MAX_ID),
    (str(MAX_ID + 1), None), ("1" * 20, None), ("", None), ("-1", None), ("²", None), ("4 2", None),
])
def test_parse_id(value: str, expected: int | None) -> None:
    assert parse_id(value) == expected


def test_error_lines_escape_crop_and_count_the_rest() -> None:
    errors = ["line 2: <bad>"] + ["x" * 400] * (SHOW_ERRORS + 2)
    text = _error_lines(errors)
    lines = text.split("\n")[1:]
    assert lines[0] == "line 2: &lt;bad&gt;"
    assert lines[1] == "x" * 299 + "…"
    assert lines[-1] == "… +3"
    assert len(lines) == SHOW_ERRORS + 1


@pytest.mark.parametrize(("attempts", "seconds"), [(0, 1), (1, 1), (2, 2), (3, 4), (7, 60), (40, 60)])
def test_backoff_doubles_up_to_a_minute(attempts: int, seconds: int) -> None:
    assert backoff(attempts) == timedelta(seconds=seconds)


@pytest.mark.parametrize(("chat_id", "expected"), [
    (-1001234, True), ("-42", True), ("@channel", True), (12345, False), ("12345", False), (None, False),
])
def test_is_group(chat_id: object, expected: bool) -> None:
    assert is_group(chat_id) is expected
