"""Product images are fetched only from public addresses: a local HTTP server plays the internal
service, and with the guard on it must receive no request at all, directly or via a redirect."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from sqlalchemy import select

from bot.cards.images import fetch_image, is_public_address
from bot.storage.models import Product
from tests.abuse.servers import Served, serve
from tests.support.flow import feed_csv

INTERNAL_HOST = "127.0.0.2"  # loopback too; the "public shop" stand-in listens on 127.0.0.1


def png(size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def internal() -> Iterator[Served]:
    """The internal service: it answers every path with an image, so any request would succeed."""
    body = png()
    with serve(INTERNAL_HOST, lambda _path: (200, {"Content-Type": "image/png"}, body)) as served:
        yield served


@pytest.fixture
def shop(internal: Served) -> Iterator[Served]:
    """A "public" shop on 127.0.0.1 whose /to?<url> redirects to <url> (and /to-chain twice)."""
    def route(path: str) -> tuple[int, dict[str, str], bytes]:
        if path.startswith("/to?"):
            return 302, {"Location": path[4:]}, b""
        if path == "/to-chain":
            return 301, {"Location": "/to?" + internal.url("/via-chain.png")}, b""
        return 404, {}, b""

    with serve("127.0.0.1", route) as served:
        yield served


def shop_is_public(address: str) -> bool:
    """The guard's real rule, except that 127.0.0.1 (the shop) stands in for the internet."""
    return address == "127.0.0.1" or is_public_address(address)


def test_the_address_rule() -> None:
    for address in ("127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "::1",
                    "fe80::1", "fc00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "0.0.0.0", "224.0.0.1",  # noqa: S104
                    "240.0.0.1", "100.64.0.1", "198.18.0.1", "255.255.255.255", "ff02::1"):
        assert not is_public_address(address), address
    for address in ("93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"):
        assert is_public_address(address), address


async def test_direct_internal_urls_get_no_request(internal: Served, tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    port = internal.base.rsplit(":", 1)[1]
    urls = [internal.url("/direct.png"), f"http://127.0.0.2:{port}/x.png",
            f"http://[::ffff:127.0.0.2]:{port}/mapped.png", f"http://2130706434:{port}/decimal.png",
            "http://169.254.169.254/latest/meta-data/image.png", "http://[::1]:9/x.png"]
    with caplog.at_level(logging.WARNING, logger="bot.cards.images"):
        for url in urls:
            assert await fetch_image(url, cache_dir=tmp_path) is None, url
    assert internal.requests == []
    refused = [r for r in caplog.records if "non-public address" in r.getMessage()]
    assert len(refused) == len(urls)
    assert all(r.levelno == logging.WARNING for r in refused)


async def test_localhost_by_name_is_refused(tmp_path: Path) -> None:
    body = png()
    with serve("127.0.0.1", lambda _p: (200, {"Content-Type": "image/png"}, body)) as local:
        port = local.base.rsplit(":", 1)[1]
        assert await fetch_image(f"http://localhost:{port}/named.png", cache_dir=tmp_path) is None
    assert local.requests == []


async def test_a_redirect_to_an_internal_address_is_not_followed(
    shop: Served, internal: Served, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = internal.base.rsplit(":", 1)[1]
    targets = [internal.url("/via-redirect.png"), f"http://[::ffff:127.0.0.2]:{port}/mapped.png",
               "http://169.254.169.254/latest/meta-data/"]
    with caplog.at_level(logging.WARNING, logger="bot.cards.images"):
        for target in targets:
            got = await fetch_image(shop.url(f"/to?{target}"), cache_dir=tmp_path,
                                    address_allowed=shop_is_public)
            assert got is None
        assert await fetch_image(shop.url("/to-chain"), cache_dir=tmp_path,
                                 address_allowed=shop_is_public) is None
    assert internal.requests == []
    assert len(shop.requests) == len(targets) + 2  # every hop on the shop itself was made
    assert sum("non-public address" in r.getMessage() for r in caplog.records) == len(targets) + 1


async def test_a_given_client_that_follows_redirects_is_still_checked(
    shop: Served, internal: Served, tmp_path: Path
) -> None:
    async with httpx.AsyncClient(follow_redirects=True) as client:
        got = await fetch_image(shop.url(f"/to?{internal.url('/client.png')}"), cache_dir=tmp_path,
                                client=client, address_allowed=shop_is_public)
    assert got is None
    assert internal.requests == []


async def test_private_addresses_work_when_allowed(shop: Served, internal: Served, tmp_path: Path) -> None:
    direct = await fetch_image(internal.url("/allowed.png"), cache_dir=tmp_path, allow_private=True)
    redirected = await fetch_image(shop.url(f"/to?{internal.url('/allowed-2.png')}"),
                                   cache_dir=tmp_path, allow_private=True)
    assert direct == redirected == png()
    assert internal.requests == ["/allowed.png", "/allowed-2.png"]


async def test_the_bot_renders_a_placeholder_and_never_calls_inside(
    emulator, kocbot_factory, internal: Served, caplog: pytest.LogCaptureFixture
) -> None:
    kocbot = await kocbot_factory(config={"card": {"allow_private_image_urls": False}})
    image = internal.url("/catalog.png")
    kocbot.services.catalog.import_feed(
        feed_csv(f"acme,S1,Thermos,https://shop.example/1,39.00,59.00,10%,home,{image},,,,,CNY"),
        filename="feed.csv")
    with kocbot.db.transaction() as session:
        product = session.scalars(select(Product)).one()
        assert product.image_url == image
    with caplog.at_level(logging.WARNING):
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{kocbot.config.web.public_url}/card/{product.id}.jpg")
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert internal.requests == []
    assert any(r.levelno == logging.WARNING and "non-public address" in r.getMessage()
               for r in caplog.records)
