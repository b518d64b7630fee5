"""The earnings report image: members ranked by earnings, then clicks per day."""

from __future__ import annotations

import io
from datetime import date, timedelta

from PIL import Image, ImageDraw

from bot.cards.fonts import drawable, find_font, load_font
from bot.cards.layout import ellipsize
from bot.cards.palette import ACCENT, INK, MUTED, WHITE
from bot.cards.render import LOCALES
from bot.domain.money import format_money

WIDTH = 1080
MARGIN = 56
MAX_ROWS = 15  # more members than this are summed into one "others" row
ROW_HEIGHT = 78
BAR_HEIGHT = 34
PLOT_HEIGHT = 250

BACKGROUND = WHITE
TRACK = (243, 244, 247)
GRID = (229, 231, 236)
ACCENT_SOFT = (246, 150, 138)
CLICKS = (64, 112, 232)
CLICKS_SOFT = (172, 194, 246)
MEDALS = ((240, 176, 32), (160, 168, 180), (205, 127, 70))

TEXT = {
    "en": {
        "total": "Total {amount} for {count} members",
        "others": "{count} others",
        "empty": "No earnings yet",
        "clicks": "Clicks per day",
        "clicks_total": "{count} clicks",
        "no_clicks": "No clicks yet",
    },
    "zh_CN": {
        "total": "合计 {amount}，共 {count} 人",
        "others": "其他 {count} 人",
        "empty": "暂无收益",
        "clicks": "每日点击",
        "clicks_total": "共 {count} 次",
        "no_clicks": "暂无点击",
    },
}


def render_report_chart(
    *,
    title: str,
    rows: list[tuple[str, int]],
    series: list[tuple[date, int]] | None,
    currency: str,
    locale: str,
    font_path: str = "",
) -> bytes:
    """PNG of per-member earnings as ranked bars and, if given, clicks per day as columns."""
    if locale not in LOCALES:
        raise ValueError(f"unsupported locale {locale!r}; expected one of {LOCALES}")
    path = find_font(font_path)
    text = TEXT[locale]
    ranked = _ranked(rows, text)
    days = _daily(series) if series is not None else None

    bars_height = max(1, len(ranked)) * ROW_HEIGHT
    clicks_height = 0 if days is None else 130 + PLOT_HEIGHT + 70
    height = 200 + bars_height + clicks_height + MARGIN
    image = Image.new("RGB", (WIDTH, height), BACKGROUND)
    draw = ImageDraw.Draw(image)

    title_font = load_font(path, 50)
    heading = ellipsize(drawable(title, path), title_font, WIDTH - 2 * MARGIN)
    draw.text(
        (MARGIN, MARGIN + 50),
        heading,
        font=title_font,
        fill=INK,
        anchor="ls",
        stroke_width=1,
        stroke_fill=INK,
    )
    total = sum(value for _, value in rows)
    summary = text["total"].format(amount=format_money(total, currency), count=len(rows))
    draw.text((MARGIN, MARGIN + 100), summary, font=load_font(path, 30), fill=MUTED, anchor="ls")

    top = 200
    if ranked:
        _draw_bars(draw, ranked, currency, path, top=top, summed_tail=len(rows) > MAX_ROWS)
    else:
        draw.text(
            (WIDTH // 2, top + ROW_HEIGHT // 2),
            text["empty"],
            font=load_font(path, 32),
            fill=MUTED,
            anchor="mm",
        )
    if days is not None:
        _draw_clicks(draw, days, text, path, top=top + bars_height + 40)

    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _ranked(rows: list[tuple[str, int]], text: dict[str, str]) -> list[tuple[str, int]]:
    """Rows by earnings, highest first (ties by name, so output is stable), tail summed last."""
    ordered = sorted(rows, key=lambda row: (-row[1], row[0]))
    if len(ordered) <= MAX_ROWS:
        return ordered
    head, tail = ordered[: MAX_ROWS - 1], ordered[MAX_ROWS - 1 :]
    return [*head, (text["others"].format(count=len(tail)), sum(v for _, v in tail))]


def _daily(series: list[tuple[date, int]]) -> list[tuple[date, int]]:
    """Clicks per calendar day from first to last, days without clicks filled with 0."""
    if not series:
        return []
    totals: dict[date, int] = {}
    for day, count in series:
        totals[day] = totals.get(day, 0) + count
    first, last = min(totals), max(totals)
    return [
        (first + timedelta(days=i), totals.get(first + timedelta(days=i), 0))
        for i in range((last - first).days + 1)
    ]


def _draw_bars(
    draw: ImageDraw.ImageDraw,
    ranked: list[tuple[str, int]],
    currency: str,
    path: str,
    *,
    top: int,
    summed_tail: bool,
) -> None:
    """One row per member: rank, name, a bar on a light track, the amount after the bar.

    A summed "others" row gets no bar: its total is not one member's and would dwarf the scale.
    """
    label_font = load_font(path, 32)
    value_font = load_font(path, 30)
    rank_font = load_font(path, 26)
    values = [format_money(value, currency) for _, value in ranked]
    label_left = MARGIN + 56
    bar_left = label_left + 250
    value_room = max(value_font.getlength(v) for v in values) + 20
    bar_room = WIDTH - MARGIN - bar_left - value_room
    members = ranked[:-1] if summed_tail else ranked
    biggest = max(max(value for _, value in members), 1)
    for index, ((label, value), amount) in enumerate(zip(ranked, values, strict=True)):
        centre = top + index * ROW_HEIGHT + ROW_HEIGHT // 2
        if summed_tail and index == len(ranked) - 1:
            draw.text((label_left, centre), label, font=label_font, fill=MUTED, anchor="lm")
            draw.text((bar_left + bar_room + 16, centre), amount, font=value_font, fill=MUTED, anchor="lm")
            break
        # Medal colours for the top three, a plain number after that.
        if index < len(MEDALS) and value > 0:
            draw.ellipse((MARGIN, centre - 20, MARGIN + 40, centre + 20), fill=MEDALS[index])
            draw.text(
                (MARGIN + 20, centre),
                str(index + 1),
                font=rank_font,
                fill=BACKGROUND,
                anchor="mm",
                stroke_width=0.5,
                stroke_fill=BACKGROUND,
            )
        else:
            draw.text((MARGIN + 20, centre), str(index + 1), font=rank_font, fill=MUTED, anchor="mm")
        name = ellipsize(drawable(label, path) or "?", label_font, bar_left - label_left - 20)
        draw.text((label_left, centre), name, font=label_font, fill=INK, anchor="lm")
        box = (bar_left, centre - BAR_HEIGHT // 2, bar_left + bar_room, centre + BAR_HEIGHT // 2)
        draw.rounded_rectangle(box, radius=BAR_HEIGHT // 2, fill=TRACK)
        length = round(bar_room * max(value, 0) / biggest)
        if length > 0:
            # Never thinner than the rounded ends, so a small amount still shows as a bar.
            end = bar_left + max(length, BAR_HEIGHT)
            colour = ACCENT if index == 0 else ACCENT_SOFT
            draw.rounded_rectangle((bar_left, box[1], end, box[3]), radius=BAR_HEIGHT // 2, fill=colour)
        draw.text(
            (bar_left + bar_room + 16, centre),
            amount,
            font=value_font,
            fill=INK if value > 0 else MUTED,
            anchor="lm",
        )


def _draw_clicks(
    draw: ImageDraw.ImageDraw,
    days: list[tuple[date, int]],
    text: dict[str, str],
    path: str,
    *,
    top: int,
) -> None:
    """A column chart of clicks per day with a light grid and a few date labels."""
    heading_font = load_font(path, 36)
    small = load_font(path, 24)
    draw.line((MARGIN, top, WIDTH - MARGIN, top), fill=GRID, width=2)
    draw.text(
        (MARGIN, top + 70),
        text["clicks"],
        font=heading_font,
        fill=INK,
        anchor="ls",
        stroke_width=0.6,
        stroke_fill=INK,
    )
    total = sum(count for _, count in days)
    draw.text(
        (WIDTH - MARGIN, top + 70),
        text["clicks_total"].format(count=total),
        font=load_font(path, 30),
        fill=MUTED,
        anchor="rs",
    )
    plot_top, plot_bottom = top + 120, top + 120 + PLOT_HEIGHT
    plot_left, plot_right = MARGIN + 60, WIDTH - MARGIN
    if not days:
        draw.text(
            ((plot_left + plot_right) // 2, (plot_top + plot_bottom) // 2),
            text["no_clicks"],
            font=load_font(path, 32),
            fill=MUTED,
            anchor="mm",
        )
        return
    peak = max(max(count for _, count in days), 1)
    for fraction in (0.0, 0.5, 1.0):
        y = round(plot_bottom - fraction * PLOT_HEIGHT)
        draw.line((plot_left, y, plot_right, y), fill=GRID if fraction else MUTED, width=1)
        draw.text(
            (plot_left - 12, y),
            _compact(round(peak * fraction)),
            font=small,
            fill=MUTED,
            anchor="rm",
        )
    slot = (plot_right - plot_left) / len(days)
    width = max(1.0, slot * 0.68)
    best = max(range(len(days)), key=lambda i: (days[i][1], -i))
    for i, (_day, count) in enumerate(days):
        if count <= 0:
            continue
        x0 = plot_left + i * slot + (slot - width) / 2
        y0 = plot_bottom - PLOT_HEIGHT * count / peak
        colour = CLICKS if i == best else CLICKS_SOFT
        radius = min(6, int(width / 2))
        draw.rounded_rectangle(
            (x0, y0, x0 + width, plot_bottom),
            radius=radius,
            fill=colour,
            corners=(True, True, False, False),
        )
    # A handful of evenly spaced date labels, always including the first and last day.
    step = max(1, -(-len(days) // 7))
    marks = sorted({*range(0, len(days), step), len(days) - 1})
    if len(marks) > 1 and marks[-1] - marks[-2] < step:
        marks.pop(-2)
    for i in marks:
        x = plot_left + i * slot + slot / 2
        day = days[i][0]
        draw.text((x, plot_bottom + 34), f"{day.month}/{day.day}", font=small, fill=MUTED, anchor="ms")


def _compact(number: int) -> str:
    """Axis numbers short: 950, 1.2k, 35k."""
    if number < 1000:
        return str(number)
    if number < 10_000:
        return f"{number / 1000:.1f}k".replace(".0k", "k")
    return f"{number // 1000}k"
