"""Small local HTTP servers for the abuse tests: an "internal service" that counts every request,
and a stand-in for a public shop that redirects wherever it is told."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Served:
    """A running server: its base URL and every path it was asked for."""

    base: str
    requests: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"


@contextmanager
def serve(host: str, route: Callable[[str], tuple[int, dict[str, str], bytes]]) -> Iterator[Served]:
    """Serve ``route(path) -> (status, headers, body)`` on ``host`` and a free port."""
    lock = threading.Lock()
    state: dict[str, Served] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet tests
            pass

        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            with lock:
                state["served"].requests.append(self.path)
            status, headers, body = route(self.path)
            self.send_response(status)
            for name, value in {"Content-Length": str(len(body)), **headers}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    state["served"] = Served(base=f"http://{host}:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["served"]
    finally:
        server.shutdown()
        server.server_close()
