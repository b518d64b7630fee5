"""Fetching product images over HTTP(S) with a size cap, a deadline and an on-disk cache."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import logging
import os
import tempfile
import warnings
from pathlib import Path

import httpx
from PIL import Image

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
USER_AGENT = "kocbot-cards/0.1 (+image fetch)"


def cache_path(cache_dir: Path, url: str) -> Path:
    """Where the image for ``url`` is cached: the sha256 of the URL, so any URL is a safe name."""
    return cache_dir / hashlib.sha256(url.encode("utf-8")).hexdigest()


def is_image(data: bytes) -> bool:
    """Whether Pillow recognises ``data`` as an intact image of sane dimensions."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                image.verify()
        return True
    except Exception:  # Pillow has no single error type for bad data
        return False


async def fetch_image(
    url: str,
    *,
    cache_dir: Path,
    timeout: float = 5.0,
    max_bytes: int = DEFAULT_MAX_BYTES,
    client: httpx.AsyncClient | None = None,
) -> bytes | None:
    """The image at ``url`` (from the cache when there), or None on any fetch or content problem."""
    if not url.lower().startswith(("http://", "https://")):
        return None
    target = cache_path(Path(cache_dir), url)
    cached = await asyncio.to_thread(_read_cached, target)
    if cached is not None:
        return cached
    try:
        # One deadline for the whole exchange: httpx's own timeouts are per read, so a server
        # trickling one byte a second would otherwise never time out.
        async with asyncio.timeout(timeout):
            data = await _download(url, timeout=timeout, max_bytes=max_bytes, client=client)
    except (
        TimeoutError,
        httpx.HTTPError,
        httpx.InvalidURL,
        httpx.StreamError,
        OSError,
        ValueError,
    ) as exc:
        log.info("image fetch failed for %s: %s", url, exc.__class__.__name__)
        return None
    if data is None or not await asyncio.to_thread(is_image, data):
        return None
    await asyncio.to_thread(_write_cached, target, data)
    return data


async def _download(
    url: str, *, timeout: float, max_bytes: int, client: httpx.AsyncClient | None
) -> bytes | None:
    """GET ``url`` streaming; None for a non-200, a non-image type or a body over ``max_bytes``."""
    own = client is None
    http = client or httpx.AsyncClient(timeout=timeout, follow_redirects=True, max_redirects=5)
    try:
        headers = {"Accept": "image/*", "User-Agent": USER_AGENT}
        async with http.stream("GET", url, headers=headers, timeout=timeout) as response:
            if response.status_code != 200:
                log.info("image fetch for %s: HTTP %s", url, response.status_code)
                return None
            kind = response.headers.get("content-type", "").strip().lower()
            if not kind.startswith("image/"):
                log.info("image fetch for %s: content type %r", url, kind)
                return None
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                return None
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    log.info("image fetch for %s: over %d bytes", url, max_bytes)
                    return None
            return bytes(body)
    finally:
        if own:
            await http.aclose()


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
