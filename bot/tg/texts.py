"""What the bot says, in the languages we ship (en, zh_CN). Texts are HTML: values are escaped
by ``say`` so a user's name or a product title can never break the markup."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from html import escape
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

TEXTS: dict[str, dict[str, str]] = {
    "welcome": {
        "en": "👋 Welcome, {name}! You are registered as a promoter.\n\n{help}",
        "zh_CN": "👋 欢迎，{name}！你已注册为推广员。\n\n{help}",
    },
    "welcome_back": {"en": "👋 Hi again, {name}.\n\n{help}", "zh_CN": "👋 {name}，欢迎回来。\n\n{help}"},
    "help_intro": {
        "en": "I post hand-picked deals into your groups. Members tap <b>Buy</b> and get a personal "
              "link; when they buy, you earn commission.",
        "zh_CN": "我会把精选优惠发到你的群里。群成员点击<b>购买</b>获得专属链接，成交后你获得佣金。",
    },
    "help_private": {"en": "<b>Your commands</b>", "zh_CN": "<b>你的命令</b>"},
    "help_admin": {"en": "<b>Platform admin</b>", "zh_CN": "<b>平台管理员</b>"},
    "help_group": {"en": "<b>Group admins</b>", "zh_CN": "<b>群管理员</b>"},
    "help_add": {
        "en": "Add me to a group to start: its deals are then credited to you.",
        "zh_CN": "把我加进群即可开始，该群的成交会记在你名下。",
    },
    "your_link": {
        "en": "🛒 <b>{title}</b>\nYour personal link for {price}:",
        "zh_CN": "🛒 <b>{title}</b>\n你的专属购买链接（{price}）：",
    },
    "app_button": {"en": "🛍 Deal center", "zh_CN": "🛍 好物中心"},
    "open_link": {"en": "🛒 Buy {price}", "zh_CN": "🛒 购买 {price}"},
    "link_unknown": {
        "en": "That link is not valid any more. Tap Buy on the card again.",
        "zh_CN": "该链接已失效，请在卡片上重新点击购买。",
    },
    "group_claimed": {
        "en": "✅ The group <b>{title}</b> is now yours. Deals start at its posting times.",
        "zh_CN": "✅ 群 <b>{title}</b> 已归你所有，将在设定时间推送优惠。",
    },
    "claim_needed": {
        "en": "Thanks for adding me! A group admin should tap the button below to claim this group. "
              "Until then I post nothing here.",
        "zh_CN": "感谢添加！请群管理员点击下方按钮认领本群，认领前我不会发送任何内容。",
    },
    "claim_button": {"en": "Claim this group", "zh_CN": "认领本群"},
    "added_owned": {
        "en": "Hello! I will post deals here at {times} ({tz}). Admins: /schedule, /pause, /post.",
        "zh_CN": "大家好！我会在 {times}（{tz}）推送优惠。管理员可用 /schedule、/pause、/post。",
    },
    "not_admin": {"en": "Only group admins can do that.", "zh_CN": "只有群管理员可以这样做。"},
    "not_platform_admin": {"en": "Only platform admins can do that.", "zh_CN": "只有平台管理员可以这样做。"},
    "groups_only": {"en": "Use this command in a group.", "zh_CN": "请在群里使用这个命令。"},
    "private_only": {"en": "Use this command in a private chat with me.", "zh_CN": "请在与我的私聊中使用这个命令。"},
    "usage": {"en": "Usage: {usage}", "zh_CN": "用法：{usage}"},
    "error_usage": {"en": "⚠️ {reason} · Usage: {usage}", "zh_CN": "⚠️ {reason} · 用法：{usage}"},
    "error": {"en": "⚠️ {reason}", "zh_CN": "⚠️ {reason}"},
    "schedule_show": {
        "en": "Posting times: {times} ({tz}){paused}",
        "zh_CN": "推送时间：{times}（{tz}）{paused}",
    },
    "schedule_off": {"en": "Scheduled posts are off.", "zh_CN": "已关闭定时推送。"},
    "paused_flag": {"en": " — paused", "zh_CN": " —— 已暂停"},
    "paused": {"en": "⏸ Paused. /resume to restart.", "zh_CN": "⏸ 已暂停，/resume 恢复。"},
    "resumed": {"en": "▶️ Resumed. Next post: {next}.", "zh_CN": "▶️ 已恢复，下一次推送：{next}。"},
    "timezone_set": {"en": "Time zone: {tz}. Next post: {next}.", "zh_CN": "时区：{tz}，下一次推送：{next}。"},
    "categories_show": {"en": "Categories: {cats}", "zh_CN": "分类：{cats}"},
    "all_categories": {"en": "all", "zh_CN": "全部"},
    "topic_set": {"en": "I will post in this topic from now on.", "zh_CN": "以后我会在这个话题里推送。"},
    "topic_off": {"en": "I will post in the general chat.", "zh_CN": "以后我会在主聊天里推送。"},
    "topic_not_forum": {"en": "Send /topic inside a forum topic.", "zh_CN": "请在论坛话题内发送 /topic。"},
    "post_queued": {"en": "📮 Posting {title} now.", "zh_CN": "📮 正在推送 {title}。"},
    "commission_sent": {"en": "📬 Sent to you in private.", "zh_CN": "📬 已私信发送给你。"},
    "start_me": {
        "en": "Start a chat with me first, then ask again:",
        "zh_CN": "请先与我开始私聊，然后再试：",
    },
    "start_button": {"en": "Open the bot", "zh_CN": "打开机器人"},
    "commission": {
        "en": "💰 <b>Your commission</b>\nPending: {pending}\nConfirmed: {confirmed} (payable {payable})\n"
              "Paid: {paid}\nReversed: {reversed}\n\nClicks: {clicks} (unique {unique}) · Orders: {orders}\n"
              "Last 7 days: {d7} · Last 30 days: {d30}",
        "zh_CN": "💰 <b>我的佣金</b>\n待确认：{pending}\n已确认：{confirmed}（可提现 {payable}）\n"
                 "已支付：{paid}\n已冲销：{reversed}\n\n点击：{clicks}（独立 {unique}）· 订单：{orders}\n"
                 "近7天：{d7} · 近30天：{d30}",
    },
    "per_group": {"en": "\n\n<b>By group</b>", "zh_CN": "\n\n<b>按群</b>"},
    "report_title": {"en": "📊 <b>{title}</b> — {window}", "zh_CN": "📊 <b>{title}</b> —— {window}"},
    "report_header": {"en": "member · clicks · orders · sales · commission",
                      "zh_CN": "成员 · 点击 · 订单 · 销售额 · 佣金"},
    "report_total": {
        "en": "Total: {clicks} clicks · {orders} orders · {sales} sales · {commission} commission",
        "zh_CN": "合计：{clicks} 点击 · {orders} 订单 · 销售额 {sales} · 佣金 {commission}",
    },
    "report_split": {"en": "Split: {parts}", "zh_CN": "分成：{parts}"},
    "report_empty": {"en": "No activity yet.", "zh_CN": "暂无数据。"},
    "team": {
        "en": "👥 <b>Your team</b>\nTier: {tier}\nDirect invitees: {count} (active {active}, mentors {mentors})\n"
              "Team earned: {earned}\n{progress}",
        "zh_CN": "👥 <b>我的团队</b>\n等级：{tier}\n直接邀请：{count}（活跃 {active}，导师 {mentors}）\n"
                 "团队收益：{earned}\n{progress}",
    },
    "invite": {
        "en": "Invite friends with your link. You earn an override on their sales once you are a mentor:\n{url}",
        "zh_CN": "用你的链接邀请好友，成为导师后可获得他们成交的额外分成：\n{url}",
    },
    "groups_none": {"en": "You own no groups yet. Add me to one!", "zh_CN": "你还没有群，把我加进群吧！"},
    "groups_line": {"en": "• <b>{title}</b>: {times} ({tz}){state} — last post: {last}",
                    "zh_CN": "• <b>{title}</b>：{times}（{tz}）{state} —— 上次推送：{last}"},
    "never": {"en": "never", "zh_CN": "从未"},
    "inactive_flag": {"en": " — inactive", "zh_CN": " —— 已失效"},
    "deals_none": {"en": "No deals match.", "zh_CN": "没有匹配的优惠。"},
    "deals_title": {"en": "🔥 <b>Deals</b> (page {page})", "zh_CN": "🔥 <b>优惠</b>（第 {page} 页）"},
    "get_link": {"en": "🔗 Get link", "zh_CN": "🔗 获取链接"},
    "share": {"en": "📣 Share", "zh_CN": "📣 分享"},
    "pick": {"en": "⭐ Pick for my groups", "zh_CN": "⭐ 选入我的群"},
    "picked": {"en": "Picked: it goes first in your groups.", "zh_CN": "已选入，将优先推送到你的群。"},
    "prev": {"en": "◀ Prev", "zh_CN": "◀ 上一页"},
    "next": {"en": "Next ▶", "zh_CN": "下一页 ▶"},
    "deal_gone": {"en": "This deal is no longer available.", "zh_CN": "该优惠已失效。"},
    "import_done": {
        "en": "📦 Import: {total} rows, {created} new, {updated} updated, {errors} errors.",
        "zh_CN": "📦 导入：共 {total} 行，新增 {created}，更新 {updated}，错误 {errors}。",
    },
    "import_rejected": {
        "en": "📦 Rejected (strict): {errors} bad rows, nothing imported.",
        "zh_CN": "📦 已拒绝（严格模式）：{errors} 行有误，未导入任何数据。",
    },
    "import_deactivated": {"en": "{count} products not in this feed were deactivated.",
                           "zh_CN": "{count} 个不在此清单中的商品已下架。"},
    "import_deactivation_skipped": {
        "en": "--deactivate-missing skipped: bad rows cannot be told apart from missing products.",
        "zh_CN": "未执行 --deactivate-missing：有错误行，无法区分缺失的商品。",
    },
    "orders_done": {
        "en": "🧾 Orders: {total} rows, {applied} applied, {repeated} repeated, {unattributed} unattributed, "
              "{errors} errors.",
        "zh_CN": "🧾 订单：共 {total} 行，生效 {applied}，重复 {repeated}，未归属 {unattributed}，错误 {errors}。",
    },
    "featured": {"en": "⭐ {sku} is featured.", "zh_CN": "⭐ {sku} 已设为平台精选。"},
    "unfeatured": {"en": "{sku} is no longer featured.", "zh_CN": "{sku} 已取消精选。"},
    "broadcast": {"en": "📣 Queued {sku} for {count} groups.", "zh_CN": "📣 已为 {count} 个群排队推送 {sku}。"},
    "payout_done": {
        "en": "💸 Paid {amount} to {user}. Settled balance left: {left}.",
        "zh_CN": "💸 已向 {user} 支付 {amount}，剩余可提现：{left}。",
    },
    "stats": {
        "en": "📈 <b>Platform</b> — {window}\nGroups: {groups} (active {active})\nPromoters: {promoters}\n"
              "Posts: {posts} · Taps: {taps} · Clicks: {clicks} (bot hits {bots})\nOrders: {orders} · GMV: {gmv}\n"
              "Commission: {parts}",
        "zh_CN": "📈 <b>平台数据</b> —— {window}\n群：{groups}（活跃 {active}）\n推广员：{promoters}\n"
                 "推送：{posts} · 点击购买：{taps} · 链接点击：{clicks}（爬虫 {bots}）\n订单：{orders} · GMV：{gmv}\n"
                 "佣金：{parts}",
    },
    "stats_stars": {"en": "Paid broadcast: {stars} Stars spent", "zh_CN": "付费群发：已花费 {stars} 星"},
    "stats_other_currency": {
        "en": "Booked in {currency} (not in the figures above): GMV {gmv} · Commission: {parts}",
        "zh_CN": "以 {currency} 记账（未计入上方数字）：GMV {gmv} · 佣金：{parts}",
    },
    "progress_top": {"en": "Top tier reached.", "zh_CN": "已是最高等级。"},
    "progress_mentor": {
        "en": "Next tier: mentor — {missing} more active {invitees} needed "
              "(an invitee with a confirmed order in the last 30 days).",
        "zh_CN": "下一等级：导师 —— 还需 {missing} 位活跃邀请人（近30天有已确认订单）。",
    },
    "progress_partner": {
        "en": "Next tier: partner — {missing} more {invitees} needed.",
        "zh_CN": "下一等级：合伙人 —— 还需 {missing} 位成为导师的直接邀请人。",
    },
    "progress_ready": {
        "en": "You qualify for {tier}; tiers are recomputed every hour.",
        "zh_CN": "你已达到{tier}条件，等级每小时更新。",
    },
    "owed": {
        "en": "\n⚠️ A refund after payout: {amount} will be taken from your next earnings.",
        "zh_CN": "\n⚠️ 已支付订单发生退款：{amount} 将从你之后的收益中扣除。",
    },
    "help_member": {"en": "<b>In a group</b>", "zh_CN": "<b>在群里</b>"},
    "help_member_intro": {
        "en": "Tap <b>Buy</b> under a deal card to get your personal link. Send me /start in private "
              "to become a promoter and earn on your own groups and shares.",
        "zh_CN": "点击优惠卡片下的<b>购买</b>即可获得专属链接。私聊我发送 /start 成为推广员，"
                 "在自己的群和分享中赚取佣金。",
    },
    "help_register": {
        "en": "Send /start to register as a promoter (free).",
        "zh_CN": "发送 /start 免费注册成为推广员。",
    },
    "hint_text": {
        "en": "I answer commands: /deals to browse deals, /help for the rest.",
        "zh_CN": "我只回应命令：/deals 浏览优惠，/help 查看全部命令。",
    },
    "hint_command": {
        "en": "I don't know {command}. /help lists my commands.",
        "zh_CN": "我不认识 {command}。/help 可查看全部命令。",
    },
    "hint_document": {
        "en": "To import this file, send it again with the caption /import (a product feed) or /orders (an order CSV).",
        "zh_CN": "要导入此文件，请重新发送并附言 /import（商品清单）或 /orders（订单 CSV）。",
    },
    "window_days": {"en": "last {days} days", "zh_CN": "近{days}天"},
    "window_all": {"en": "all time", "zh_CN": "全部时间"},
    "too_fast": {"en": "Slow down a little, please.", "zh_CN": "操作太频繁，请稍后再试。"},
    "unknown_button": {"en": "This button has expired.", "zh_CN": "该按钮已失效。"},
}

PARTIES = {
    "platform": {"en": "platform", "zh_CN": "平台"},
    "promoter": {"en": "promoter", "zh_CN": "推广员"},
    "mentor": {"en": "mentor", "zh_CN": "导师"},
    "partner": {"en": "partner", "zh_CN": "合伙人"},
}


# Why a use case refused (ServiceError keys). Plain text, not HTML: ``refusal`` fills them in and
# ``say`` escapes the result where it goes into a message. English is also what the CLI and the
# web API show.
ERRORS: dict[str, dict[str, str]] = {
    "deal_gone": {"en": "this deal is no longer available", "zh_CN": "该优惠已失效"},
    "unknown_deal": {"en": "unknown deal", "zh_CN": "未知的优惠"},
    "no_such_deal": {"en": "no such deal", "zh_CN": "没有这个优惠"},
    "no_product": {"en": "no product with sku {sku}", "zh_CN": "没有 sku 为 {sku} 的商品"},
    "not_available_now": {"en": "{sku} is not available now", "zh_CN": "{sku} 现在不可用"},
    "not_available_stock_or_dates": {
        "en": "{sku} is not available now (out of stock or outside its dates)",
        "zh_CN": "{sku} 现在不可用（缺货或不在有效期内）",
    },
    "group_not_registered": {
        "en": "this group is not registered; add the bot again",
        "zh_CN": "本群尚未登记，请重新添加机器人",
    },
    "group_not_claimed": {
        "en": "this group is not claimed yet; an admin must open the claim link",
        "zh_CN": "本群尚未认领，需由管理员打开认领链接",
    },
    "group_link_invalid": {"en": "this group link is not valid any more", "zh_CN": "该群链接已失效"},
    "owner_only": {"en": "only the group's owner can change its settings", "zh_CN": "只有群主可以修改本群设置"},
    "unknown_topic": {"en": "the bot has not seen that topic in this group: send /topic inside it once",
                      "zh_CN": "机器人还没见过该话题：请先在该话题内发送一次 /topic"},
    "claim_admin_only": {
        "en": "only an administrator of the group can claim it", "zh_CN": "只有本群管理员可以认领",
    },
    "no_deal_fits": {"en": "no deal fits this group now", "zh_CN": "现在没有适合本群的优惠"},
    "bad_times": {"en": "{reason}", "zh_CN": "时间格式有误：{reason}"},
    "unknown_timezone": {
        "en": "unknown time zone {name}; use an IANA name like Asia/Shanghai",
        "zh_CN": "未知时区 {name}，请使用 IANA 名称，如 Asia/Shanghai",
    },
    "too_many_categories": {"en": "too many categories", "zh_CN": "分类太多"},
    "start_first": {"en": "send /start to me first", "zh_CN": "请先私信我发送 /start"},
    "feed_unusable": {"en": "{reason}", "zh_CN": "商品文件无法使用：{reason}"},
    "bad_amount": {"en": "bad amount: {reason}", "zh_CN": "金额有误：{reason}"},
    "min_payout": {"en": "the minimum payout is {amount}", "zh_CN": "最低提现金额为 {amount}"},
    "no_user": {"en": "no user {user_id}", "zh_CN": "没有用户 {user_id}"},
    "balance_too_low": {
        "en": "the settled balance is {balance}; cannot pay more",
        "zh_CN": "已结算余额为 {balance}，不能支付更多",
    },
    "balance_changed": {
        "en": "the balance changed during the payout; try again", "zh_CN": "支付期间余额有变动，请重试",
    },
    "orders_columns": {
        "en": "the order report lacks the column(s): {columns}", "zh_CN": "订单报表缺少列：{columns}",
    },
    "orders_not_text": {
        "en": "the order report is neither UTF-8 nor GB18030/GBK text",
        "zh_CN": "订单报表既不是 UTF-8 也不是 GB18030/GBK 文本",
    },
    "not_a_user_ref": {"en": "{text} is not a user id or @username", "zh_CN": "{text} 不是用户 ID 或 @用户名"},
    "unknown_username": {
        "en": "no user @{name} has used the bot; see kocbot balances for ids",
        "zh_CN": "没有使用过机器人的用户 @{name}；用户 ID 见 kocbot balances",
    },
    "ambiguous_username": {
        "en": "@{name} names {count} users; use the id instead", "zh_CN": "@{name} 对应 {count} 个用户，请改用 ID",
    },
    "cannot_export": {
        "en": "cannot export {kind}; choose one of {choices}", "zh_CN": "无法导出 {kind}，可选：{choices}",
    },
    "products_no_group": {
        "en": "products belong to no group; drop --group", "zh_CN": "商品不属于任何群，请去掉 --group",
    },
    "no_group": {"en": "no group {group}; see kocbot groups", "zh_CN": "没有群 {group}；见 kocbot groups"},
    "merchant_not_configured": {
        "en": "no [merchants.{merchant}] in config: its commission_rate is needed",
        "zh_CN": "配置中没有 [merchants.{merchant}]：需要它的 commission_rate",
    },
    "not_user_id_or_name": {
        "en": "{text} is neither a user id nor an @username", "zh_CN": "{text} 既不是用户 ID 也不是 @用户名",
    },
    "username_never_seen": {
        "en": "no user @{name} has talked to the bot; use their numeric id",
        "zh_CN": "没有和机器人说过话的用户 @{name}，请使用数字 ID",
    },
    "username_matches_many": {
        "en": "@{name} matches users {ids}; use the numeric id", "zh_CN": "@{name} 对应多个用户 {ids}，请使用数字 ID",
    },
}


def refusal(key: str, params: Mapping[str, object], lang: str = "en") -> str:
    """The plain-text reason for a ServiceError's ``key`` and ``params``, in ``lang``."""
    entry = ERRORS[key]
    return (entry.get(lang) or entry["en"]).format(**params)


# -- commands: the only place their descriptions are written


class Command(NamedTuple):
    """A command as /help lists it: its name, what it takes, and what it does in en and zh_CN."""

    name: str
    en: str
    zh: str
    args: str = ""
    args_zh: str = ""

    def line(self, language: str) -> str:
        """``/name <args> — what it does`` in the user's language."""
        args = (self.args_zh or self.args) if language != "en" else self.args
        return f"/{' '.join(filter(None, (self.name, args)))} — {self.en if language == 'en' else self.zh}"

    def menu(self) -> tuple[str, str, str]:
        """(name, en, zh) for the command menu, which shows no arguments."""
        return self.name, self.en, self.zh


PROMOTER_COMMANDS = [
    Command("deals", "browse deals", "浏览优惠", "[words]", "[关键词]"),
    Command("commission", "your earnings", "我的佣金"),
    Command("team", "your tier and team", "我的团队"),
    Command("invite", "your invite link", "邀请链接"),
    Command("groups", "your groups", "我的群"),
    Command("help", "what I do", "帮助"),
]
ADMIN_COMMANDS = [
    Command("import", "send a CSV/JSON feed with this caption", "发送 CSV/JSON 商品文件并附此言"),
    Command("orders", "send an order CSV with this caption", "发送订单 CSV 并附此言"),
    Command("feature", "feature a deal", "设为精选", "<sku>"),
    Command("unfeature", "stop featuring a deal", "取消精选", "<sku>"),
    Command("broadcast", "post a deal to every group now", "立即推送到所有群", "<sku>"),
    Command("stats", "platform totals", "平台数据", "[7d|30d|all]"),
    Command("payout", "record a payout", "记录提现", "<user_id|@username> <amount>",
            "<用户ID|@用户名> <金额>"),
]
GROUP_COMMANDS = [
    Command("schedule", "posting times", "推送时间", "[HH:MM …|off]"),
    Command("timezone", "the group's time zone", "本群时区", "<IANA name>", "<时区>"),
    Command("categories", "which categories", "推送分类", "[a b …|all]", "[分类…|all]"),
    Command("post", "post a deal now", "立即推送", "[sku]"),
    Command("topic", "post in this forum topic", "在此话题推送", "[off]"),
    Command("pause", "stop scheduled posts", "暂停定时推送"),
    Command("resume", "restart scheduled posts", "恢复定时推送"),
    Command("report", "members' earnings", "成员收益报表", "[7d|30d|all]"),
    Command("commission", "your earnings, in private", "私信查看我的佣金"),
]
MEMBER_COMMANDS = [
    Command("commission", "your earnings, sent in private", "私信查看我的佣金"),
    Command("help", "what I do", "帮助"),
]
# The command menus Telegram shows (no arguments there): private chats also list /start, group
# members see their two commands, group administrators also get /help.
START_COMMAND = Command("start", "register", "注册")
HELP_COMMAND = Command("help", "what I do", "帮助")
MENU_MEMBER = [Command("commission", "your earnings, in private", "私信查看我的佣金"), HELP_COMMAND]


def lang_of(language_code: str | None, default: str = "en") -> str:
    """Pick a shipped language for a Telegram ``language_code``."""
    if not language_code:
        return default
    return "zh_CN" if language_code.lower().startswith("zh") else "en"


def say(key: str, lang: str, **values: Any) -> str:
    """The text ``key`` in ``lang``; string values are HTML-escaped, pre-built HTML goes via ``Html``."""
    template = TEXTS[key].get(lang) or TEXTS[key]["en"]
    safe = {k: (v if isinstance(v, Html) else escape(str(v), quote=False)) for k, v in values.items()}
    return template.format(**safe)


class Html(str):
    """A string that is already valid Telegram HTML and must not be escaped again."""


def party(name: str, lang: str) -> str:
    """A ledger party's name (platform, promoter, mentor, partner) in ``lang``."""
    return PARTIES.get(name, {}).get(lang, name)


def window_text(window: timedelta | None, lang: str) -> str:
    """A report window as words: "last 30 days", "all time" (``None`` is all time)."""
    if window is None:
        return say("window_all", lang)
    return say("window_days", lang, days=window.days)


def local_time(at: datetime, tz_name: str) -> str:
    """``at`` as ``YYYY-MM-DD HH:MM`` in a group's time zone, the one its schedule is in."""
    try:
        zone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        return at.strftime("%Y-%m-%d %H:%M UTC")  # a stored name this Python does not know
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
