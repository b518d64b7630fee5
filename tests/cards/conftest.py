"""Shared fixtures for the card tests: sample images and a local image server."""

from __future__ import annotations

import io
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image, ImageDraw


def make_image(size: tuple[int, int] = (640, 480), fmt: str = "JPEG", mode: str = "RGB") -> bytes:
    """A small synthetic product photo: a dark rounded shape on a light background."""
    image = Image.new("RGB", size, (236, 240, 246))
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.rounded_rectangle((w * 0.25, h * 0.15, w * 0.75, h * 0.85), radius=24, fill=(40, 60, 120))
    if mode != "RGB":
        image = image.convert(mode)
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


@pytest.fixture(name="make_image", scope="session")
def make_image_fixture() -> Callable[..., bytes]:
    """The synthetic-image maker, for tests that need their own size, format or mode."""
    return make_image


@pytest.fixture(scope="session")
def jpeg_bytes() -> bytes:
    return make_image()


@pytest.fixture(scope="session")
def png_bytes() -> bytes:
    return make_image((300, 200), "PNG")


@dataclass
class ImageServer:
    """A local HTTP server; ``hits`` counts requests per path."""

    base: str
    hits: Counter[str] = field(default_factory=Counter)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


@pytest.fixture(scope="module")
def image_server(png_bytes: bytes) -> Iterator[ImageServer]:
    stop = threading.Event()
    big = make_image((1200, 1200), "BMP")  # incompressible-ish and well over the test cap
    lock = threading.Lock()
    state: dict[str, ImageServer] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet tests
            pass

        def _send(self, status: int, kind: str, body: bytes, *, length: bool = True) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            if length:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            with lock:
                state["server"].hits[self.path] += 1
            try:
                self._route()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up first, which several tests want

        def _route(self) -> None:
            path = self.path.split("?")[0]
            if path == "/ok.png":
                self._send(200, "image/png", png_bytes)
            elif path == "/ok-charset.png":
                self._send(200, "IMAGE/PNG; charset=binary", png_bytes)
            elif path == "/page":
                self._send(200, "text/html; charset=utf-8", b"<html>not an image</html>")
            elif path == "/corrupt.png":
                self._send(200, "image/png", b"\x89PNG\r\n\x1a\n" + b"garbage" * 50)
            elif path == "/big.bmp":
                self._send(200, "image/bmp", big)
            elif path == "/big-stream.bmp":
                # No Content-Length: only counting streamed bytes can catch this one.
                self._send(200, "image/bmp", big, length=False)
            elif path == "/slow.png":
                stop.wait(3)
                self._send(200, "image/png", png_bytes)
            elif path == "/trickle.png":
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.end_headers()
                for byte in png_bytes[:40]:
                    if stop.wait(0.1):
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
            elif path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "/ok.png")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif path == "/error":
                self._send(500, "text/plain", b"boom")
            else:
                self._send(404, "text/plain", b"not found")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    state["server"] = ImageServer(base=f"http://{host}:{port}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    time.sleep(0.01)
    try:
        yield state["server"]
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
