"""The report chart: a PNG of the right size, deterministic, Chinese names, edge cases."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from PIL import Image

from bot.cards.chart import MAX_ROWS, ROW_HEIGHT, WIDTH, render_report_chart

ROWS = [("王小明", 128_050), ("Alice", 96_400), ("李娜", 45_000), ("张伟🚀", 0)]
SERIES = [(date(2025, 6, 1) + timedelta(days=i), i * 7 % 30) for i in range(14) if i != 5]


def _open(data: bytes) -> Image.Image:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _chart(**changes: object) -> bytes:
    values: dict[str, object] = {
        "title": "本周收益榜",
        "rows": ROWS,
        "series": SERIES,
        "currency": "CNY",
        "locale": "zh_CN",
    }
    values.update(changes)
    return render_report_chart(**values)  # type: ignore[arg-type]


def test_renders_a_png_of_the_expected_size() -> None:
    with_series = _open(_chart())
    without = _open(_chart(series=None))
    assert with_series.format == "PNG"
    assert with_series.width == without.width == WIDTH
    assert with_series.height > without.height
    more_rows = _open(_chart(series=None, rows=[*ROWS, ("赵六", 5), ("钱七", 6)]))
    assert more_rows.height == without.height + 2 * ROW_HEIGHT


def test_is_deterministic() -> None:
    assert _chart() == _chart()
    assert _chart(locale="en", title="Weekly") == _chart(locale="en", title="Weekly")


def test_row_order_in_the_input_does_not_matter() -> None:
    assert _chart(rows=list(reversed(ROWS))) == _chart()


def test_many_members_are_capped_with_an_others_row() -> None:
    rows = [(f"成员{i}", i * 100) for i in range(40)]
    capped = _open(_chart(rows=rows, series=None))
    exact = _open(_chart(rows=rows[:MAX_ROWS], series=None))
    assert capped.height == exact.height


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_empty_and_odd_input_still_renders(locale: str) -> None:
    for rows, series in (([], []), ([], None), ([("a", -500), ("b", 0)], [(date(2025, 1, 1), 0)])):
        assert _open(_chart(rows=rows, series=series, locale=locale)).width == WIDTH


def test_chinese_names_are_drawn() -> None:
    # The label column differs when only the Chinese name differs: glyphs, not identical boxes.
    one = _open(_chart(rows=[("王小明", 100)], series=None)).crop((100, 200, 360, 280))
    two = _open(_chart(rows=[("李娜娜", 100)], series=None)).crop((100, 200, 360, 280))
    assert one.tobytes() != two.tobytes()
    assert one.convert("L").getextrema()[0] < 100


def test_unknown_locale_is_rejected() -> None:
    with pytest.raises(ValueError, match="locale"):
        _chart(locale="de")
