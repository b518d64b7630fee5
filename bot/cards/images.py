"""Fetching product images over HTTP(S): public addresses only, a size and pixel cap, a
deadline and an on-disk cache.

The SSRF guard resolves each host itself, refuses loopback, private, link-local, reserved and
multicast addresses, and then connects to the very address it checked (so a DNS answer that
changes between check and connect cannot smuggle in an internal one). Redirects are followed
here, one hop at a time, with the same check at every hop.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import ipaddress
import logging
import os
import socket
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

import httpx
from PIL import Image

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
# Read from the header before any pixel is decoded: a small PNG can declare a huge canvas.
MAX_PIXELS = 12_000_000
MAX_REDIRECTS = 5
REDIRECTS = (301, 302, 303, 307, 308)
USER_AGENT = "kocbot-cards/0.1 (+image fetch)"


class ImageRefused(Exception):
    """An image URL or body that is not used; the message is the reason (for the log)."""


def cache_path(cache_dir: Path, url: str) -> Path:
    """Where the image for ``url`` is cached: the sha256 of the URL, so any URL is a safe name."""
    return cache_dir / hashlib.sha256(url.encode("utf-8")).hexdigest()


def is_public_address(address: str) -> bool:
    """Whether ``address`` is a globally routable unicast IP (not loopback, private, etc.)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    return ip.is_global and not (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved
        or ip.is_multicast or ip.is_unspecified)


def image_problem(data: bytes) -> str | None:
    """Why Pillow cannot use ``data`` (unreadable, over MAX_PIXELS), or None if it is fine."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    return f"{width}x{height} is over {MAX_PIXELS} pixels"
                image.verify()
        return None
    except Exception as exc:  # Pillow has no single error type for bad data
        return f"not a usable image ({exc.__class__.__name__})"


def is_image(data: bytes) -> bool:
    """Whether Pillow recognises ``data`` as an intact image of sane dimensions."""
    return image_problem(data) is None


async def fetch_image(
    url: str,
    *,
    cache_dir: Path,
    timeout: float = 5.0,
    max_bytes: int = DEFAULT_MAX_BYTES,
    client: httpx.AsyncClient | None = None,
    allow_private: bool = False,
    address_allowed: Callable[[str], bool] = is_public_address,
) -> bytes | None:
    """The image at ``url`` (from the cache when there), or None, logged at WARNING with the reason.

    Unless ``allow_private``, every address a hop resolves to must pass ``address_allowed``."""
    if not url.lower().startswith(("http://", "https://")):
        log.warning("image %s not used: not an http(s) URL", url[:200])
        return None
    target = cache_path(Path(cache_dir), url)
    cached = await asyncio.to_thread(_read_cached, target)
    if cached is not None:
        return cached
    try:
        # One deadline for the whole exchange: httpx's own timeouts are per read, so a server
        # trickling one byte a second would otherwise never time out.
        async with asyncio.timeout(timeout):
            data = await _download(url, timeout=timeout, max_bytes=max_bytes, client=client,
                                   allowed=None if allow_private else address_allowed)
        problem = await asyncio.to_thread(image_problem, data)
        if problem:
            raise ImageRefused(problem)
    except ImageRefused as exc:
        log.warning("image %s not used: %s", url[:200], exc)
        return None
    except (TimeoutError, httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, OSError,
            ValueError) as exc:
        log.warning("image %s not used: fetch failed (%s)", url[:200], exc.__class__.__name__)
        return None
    await asyncio.to_thread(_write_cached, target, data)
    return data


async def _checked_address(url: httpx.URL, allowed: Callable[[str], bool] | None) -> str:
    """The address to connect to for ``url``: resolved here, and passing ``allowed`` if given."""
    if url.scheme not in ("http", "https") or not url.host:
        raise ImageRefused(f"not an http(s) URL: {url.scheme}://")
    port = url.port or (443 if url.scheme == "https" else 80)
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(url.host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ImageRefused(f"cannot resolve {url.host}: {exc.strerror}") from None
    # An AF_INET/AF_INET6 sockaddr starts with the address as text.
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise ImageRefused(f"cannot resolve {url.host}")
    if allowed is not None:
        # Every answer must pass: a caller cannot know which one a connect would pick.
        for address in addresses:
            if not allowed(address):
                raise ImageRefused(f"{url.host} is a non-public address ({address})")
    return addresses[0]


async def _download(
    url: str, *, timeout: float, max_bytes: int, client: httpx.AsyncClient | None,
    allowed: Callable[[str], bool] | None,
) -> bytes:
    """GET ``url`` streaming, following up to MAX_REDIRECTS redirects, each hop checked."""
    own = client is None
    http = client or httpx.AsyncClient(timeout=timeout, follow_redirects=False)
    try:
        current = httpx.URL(url)
        for _hop in range(MAX_REDIRECTS + 1):
            address = await _checked_address(current, allowed)
            # Connect to the checked address; Host and TLS SNI (and so the certificate check)
            # still name the host of the URL.
            headers = {"Accept": "image/*", "User-Agent": USER_AGENT,
                       "Host": current.netloc.decode("ascii")}
            extensions = {"sni_hostname": current.host} if current.scheme == "https" else {}
            request = http.build_request("GET", current.copy_with(host=address), headers=headers,
                                         extensions=extensions, timeout=timeout)
            response = await http.send(request, stream=True, follow_redirects=False)
            try:
                if response.status_code in REDIRECTS:
                    location = response.headers.get("location")
                    if not location:
                        raise ImageRefused(f"HTTP {response.status_code} without a Location")
                    current = current.join(location)
                    continue
                return await _read_body(response, max_bytes)
            finally:
                await response.aclose()
        raise ImageRefused(f"more than {MAX_REDIRECTS} redirects")
    finally:
        if own:
            await http.aclose()


async def _read_body(response: httpx.Response, max_bytes: int) -> bytes:
    """The body of a 200 image response, refused past ``max_bytes`` while it streams."""
    if response.status_code != 200:
        raise ImageRefused(f"HTTP {response.status_code}")
    kind = response.headers.get("content-type", "").strip().lower()
    if not kind.startswith("image/"):
        raise ImageRefused(f"content type {kind[:60]!r}")
    declared = response.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > max_bytes:
        raise ImageRefused(f"{declared} bytes is over {max_bytes}")
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise ImageRefused(f"over {max_bytes} bytes")
    return bytes(body)


def _read_cached(target: Path) -> bytes | None:
    """The cached bytes if present and still an image; a damaged entry is removed."""
    try:
        data = target.read_bytes()
    except OSError:
        return None
    if data and is_image(data):
        return data
    with contextlib.suppress(OSError):  # unremovable: the fresh download replaces it anyway
        target.unlink(missing_ok=True)
    return None


def _write_cached(target: Path, data: bytes) -> None:
    """Store ``data`` atomically: a temp file in the same folder, then os.replace."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        # A full or read-only disk costs only the cache; the image itself is still good.
        log.warning("could not cache image %s: %s", target.name, exc)
