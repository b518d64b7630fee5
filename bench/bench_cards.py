"""Card render timing: one cold render, p50/p95 over warm renders, against a bare Pillow baseline.

Run from the repository root: ``python bench/bench_cards.py``. Prints only; asserts nothing.
"""

from __future__ import annotations

import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a plain checkout

from PIL import Image, ImageDraw  # noqa: E402

from bot.cards.render import HEIGHT, JPEG_QUALITY, WIDTH, CardInput, render_card  # noqa: E402

RUNS = 50


def product_photo() -> bytes:
    """A 1200×1200 synthetic product photo as JPEG, like a typical merchant image."""
    image = Image.new("RGB", (1200, 1200), (236, 240, 246))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((300, 180, 900, 1020), radius=80, fill=(40, 60, 120))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def bare_pillow() -> bytes:
    """The floor: a blank image of the card's size encoded the same way."""
    out = io.BytesIO()
    Image.new("RGB", (WIDTH, HEIGHT), (255, 255, 255)).save(
        out, "JPEG", quality=JPEG_QUALITY, subsampling=0, optimize=True
    )
    return out.getvalue()


def timings(work: Callable[[], object], runs: int) -> list[float]:
    """Wall-clock milliseconds of ``runs`` calls of ``work``."""
    result = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        result.append((time.perf_counter() - start) * 1000)
    return result


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def main() -> None:
    """Time the card renderer and print the figures."""
    photo = product_photo()
    card = CardInput(
        title="苹果 iPhone 15 Pro Max 256GB 原色钛金属 5G 双卡双待手机，限时特价！官方旗舰店正品",
        merchant="京东自营旗舰店",
        price=799900,
        original_price=999900,
        currency="CNY",
        image=photo,
    )
    placeholder = CardInput(card.title, card.merchant, card.price, card.original_price, "CNY")

    cold = timings(lambda: render_card(card), 1)[0]
    warm = timings(lambda: render_card(card), RUNS)
    no_photo = timings(lambda: render_card(placeholder), RUNS)
    base = timings(bare_pillow, RUNS)

    p50, p95, b50 = percentile(warm, 0.5), percentile(warm, 0.95), percentile(base, 0.5)
    print(f"card {WIDTH}x{HEIGHT} JPEG q{JPEG_QUALITY}, {len(render_card(card)):,} bytes")
    print(f"first render (cold font cache): {cold:8.1f} ms")
    print(f"warm, with photo   p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   ({RUNS} runs)")
    print(
        f"warm, placeholder  p50 {percentile(no_photo, 0.5):7.1f} ms   "
        f"p95 {percentile(no_photo, 0.95):7.1f} ms"
    )
    print(f"baseline Image.new + save JPEG  p50 {b50:7.1f} ms   p95 {percentile(base, 0.95):7.1f} ms")
    print(f"ratio card p50 / baseline p50: {p50 / b50:.1f}x   (mean {statistics.mean(warm):.1f} ms)")


if __name__ == "__main__":
    main()
