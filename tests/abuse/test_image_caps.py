"""Images over 12 megapixels (read from the header, before decoding) or 5 MB are refused, and a
card whose image cannot be used gets the placeholder with a WARNING naming the reason."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from bot.cards.images import DEFAULT_MAX_BYTES, fetch_image, image_problem
from bot.cards.render import CardInput, compose_card
from tests.abuse.servers import Served, serve


def bomb(size: tuple[int, int]) -> bytes:
    """A small PNG that declares a big canvas (one grey level compresses to almost nothing)."""
    out = io.BytesIO()
    Image.new("L", size, 128).save(out, "PNG", optimize=True)
    return out.getvalue()


@pytest.fixture(scope="module")
def over_cap() -> bytes:
    return bomb((4000, 3001))  # 12,004,000 pixels: just over the cap, far under the old 40 Mpx


@pytest.fixture
def images(over_cap: bytes) -> Iterator[Served]:
    fine = bomb((400, 300))
    heavy = b"\x89PNG\r\n\x1a\n" + b"\0" * DEFAULT_MAX_BYTES  # just over 5 MB

    def route(path: str) -> tuple[int, dict[str, str], bytes]:
        body = {"/over-cap.png": over_cap, "/fine.png": fine, "/heavy.png": heavy}.get(path)
        return (200, {"Content-Type": "image/png"}, body) if body else (404, {}, b"")

    with serve("127.0.0.1", route) as served:
        yield served


def test_the_pixel_cap_is_read_from_the_header(over_cap: bytes) -> None:
    assert len(over_cap) < 100_000
    assert image_problem(over_cap) == "4000x3001 is over 12000000 pixels"
    assert image_problem(bomb((4000, 3000))) is None  # exactly 12 Mpx is fine


async def test_fetch_refuses_too_many_pixels_and_too_many_bytes(
    images: Served, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="bot.cards.images"):
        over = await fetch_image(images.url("/over-cap.png"), cache_dir=tmp_path, allow_private=True)
        heavy = await fetch_image(images.url("/heavy.png"), cache_dir=tmp_path, allow_private=True)
        fine = await fetch_image(images.url("/fine.png"), cache_dir=tmp_path, allow_private=True)
    assert (over, heavy) == (None, None)
    assert fine is not None
    reasons = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("over-cap.png not used: 4000x3001 is over 12000000 pixels" in m for m in reasons)
    assert any("heavy.png not used" in m and f"over {DEFAULT_MAX_BYTES}" in m for m in reasons)
    assert len(list(tmp_path.iterdir())) == 1  # only the fine one was cached


def test_the_renderer_uses_the_placeholder_for_a_bomb(over_cap: bytes,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    card = CardInput(title="Thermos", merchant="acme", price=3900, original_price=5900, currency="CNY",
                     image=over_cap, locale="en")
    with caplog.at_level(logging.WARNING, logger="bot.cards.render"):
        composed = compose_card(card)
    assert composed.placeholder
    assert any("4000x3001 is over 12000000 pixels" in r.getMessage() for r in caplog.records)


def test_the_renderer_logs_why_an_image_was_unusable(caplog: pytest.LogCaptureFixture) -> None:
    card = CardInput(title="Thermos", merchant="acme", price=3900, original_price=5900, currency="CNY",
                     image=b"\x89PNG\r\n\x1a\n broken", locale="en")
    with caplog.at_level(logging.WARNING, logger="bot.cards.render"):
        assert compose_card(card).placeholder
    assert any(r.levelno == logging.WARNING and "product image not used" in r.getMessage()
               for r in caplog.records)
