"""fetch_image against a local HTTP server: success, cache, and every way it returns None."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from bot.cards.images import cache_path, fetch_image

if TYPE_CHECKING:
    from tests.cards.conftest import ImageServer

CAP = 100_000  # well above the small PNG, well below the big BMP
# The image server is on loopback, which the SSRF guard refuses unless allowed (as a catalog
# served from one's own network would be); tests/abuse/test_ssrf.py tests the guard itself.
fetch_local = functools.partial(fetch_image, allow_private=True)


async def test_fetches_an_image_and_serves_the_second_call_from_cache(
    image_server: ImageServer, tmp_path: Path, png_bytes: bytes
) -> None:
    url = image_server.url("/ok.png?v=1")
    assert await fetch_local(url, cache_dir=tmp_path, max_bytes=CAP) == png_bytes
    assert image_server.hits["/ok.png?v=1"] == 1
    assert await fetch_local(url, cache_dir=tmp_path, max_bytes=CAP) == png_bytes
    assert image_server.hits["/ok.png?v=1"] == 1  # not contacted again
    stored = tmp_path / hashlib.sha256(url.encode()).hexdigest()
    assert stored == cache_path(tmp_path, url)
    assert stored.read_bytes() == png_bytes
    assert [p.name for p in tmp_path.iterdir()] == [stored.name]  # no temp files left behind


async def test_a_damaged_cache_entry_is_fetched_again(
    image_server: ImageServer, tmp_path: Path, png_bytes: bytes
) -> None:
    url = image_server.url("/ok.png?v=damaged")
    cache_path(tmp_path, url).write_bytes(b"half a file")
    assert await fetch_local(url, cache_dir=tmp_path) == png_bytes
    assert image_server.hits["/ok.png?v=damaged"] == 1
    assert cache_path(tmp_path, url).read_bytes() == png_bytes


async def test_creates_the_cache_folder(image_server: ImageServer, tmp_path: Path, png_bytes: bytes) -> None:
    folder = tmp_path / "a" / "b"
    assert await fetch_local(image_server.url("/ok.png?v=dir"), cache_dir=folder) == png_bytes
    assert len(list(folder.iterdir())) == 1


async def test_content_type_is_matched_case_insensitively(
    image_server: ImageServer, tmp_path: Path, png_bytes: bytes
) -> None:
    assert await fetch_local(image_server.url("/ok-charset.png"), cache_dir=tmp_path) == png_bytes


async def test_follows_a_redirect(image_server: ImageServer, tmp_path: Path, png_bytes: bytes) -> None:
    assert await fetch_local(image_server.url("/redirect"), cache_dir=tmp_path) == png_bytes


async def test_uses_a_given_client(image_server: ImageServer, tmp_path: Path, png_bytes: bytes) -> None:
    async with httpx.AsyncClient() as client:
        got = await fetch_local(image_server.url("/ok.png?v=client"), cache_dir=tmp_path, client=client)
        assert got == png_bytes
        assert not client.is_closed  # a caller's client is left open for the caller


async def test_wrong_content_type_gives_none(image_server: ImageServer, tmp_path: Path) -> None:
    assert await fetch_local(image_server.url("/page"), cache_dir=tmp_path) is None
    assert list(tmp_path.iterdir()) == []


async def test_image_type_with_bytes_that_are_not_an_image_gives_none(
    image_server: ImageServer, tmp_path: Path
) -> None:
    assert await fetch_local(image_server.url("/corrupt.png"), cache_dir=tmp_path) is None
    assert list(tmp_path.iterdir()) == []


async def test_body_over_max_bytes_gives_none(image_server: ImageServer, tmp_path: Path) -> None:
    declared = await fetch_local(image_server.url("/big.bmp"), cache_dir=tmp_path, max_bytes=CAP)
    assert declared is None
    # Without a Content-Length the streamed byte count stops it.
    url = image_server.url("/big-stream.bmp")
    assert await fetch_local(url, cache_dir=tmp_path, max_bytes=CAP) is None
    assert list(tmp_path.iterdir()) == []


async def test_same_body_under_a_larger_cap_is_fine(image_server: ImageServer, tmp_path: Path) -> None:
    got = await fetch_local(image_server.url("/big-stream.bmp"), cache_dir=tmp_path)
    assert got is not None and len(got) > CAP


async def test_slow_server_times_out_to_none(image_server: ImageServer, tmp_path: Path) -> None:
    url = image_server.url("/slow.png")
    assert await fetch_local(url, cache_dir=tmp_path, timeout=0.3) is None


async def test_trickling_server_hits_the_overall_deadline(image_server: ImageServer, tmp_path: Path) -> None:
    # Each byte arrives well within a per-read timeout; only a total deadline catches it.
    url = image_server.url("/trickle.png")
    assert await fetch_local(url, cache_dir=tmp_path, timeout=0.5) is None


async def test_http_errors_give_none(image_server: ImageServer, tmp_path: Path) -> None:
    assert await fetch_local(image_server.url("/missing.png"), cache_dir=tmp_path) is None
    assert await fetch_local(image_server.url("/error"), cache_dir=tmp_path) is None


async def test_unreachable_host_gives_none(tmp_path: Path) -> None:
    # Port 9 on localhost: nothing listens there, the connection is refused at once.
    assert await fetch_local("http://127.0.0.1:9/x.png", cache_dir=tmp_path, timeout=2) is None


async def test_only_http_and_https_are_fetched(tmp_path: Path) -> None:
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"x")
    for url in (
        f"file://{secret}",
        "ftp://127.0.0.1/x.png",
        "javascript:alert(1)",
        "",
        "/x.png",
        "http://",
    ):
        assert await fetch_local(url, cache_dir=tmp_path / "cache", timeout=1) is None
