"""python-telegram-bot's HTTP transport on aiohttp.

PTB's default transport (httpx) costs about 4 ms of CPU per request on this project's
machine, which capped a 1,000-group fan-out near 180 messages/s whatever we did around it.
The same requests through aiohttp cost about a quarter of that (``bench/bench_fanout.py``,
``bench/bench_updates.py``). PTB documents ``BaseRequest`` as the place to plug in another
HTTP library, so only the transport changes: PTB still builds every request and maps every
answer to its errors.

The transport also says what a failed request means for delivery. A failure to connect is
raised with a ``NotSent`` cause: the request never left, and a retry cannot double a card. A
failure after the request went out (read timeout, connection dropped) gets a ``MaybeSent``
cause: Telegram may have posted it, so the sender must not resend it blindly.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

JSON_HEADERS = {"Content-Type": "application/json"}


class NotSent(Exception):
    """The request never reached the server (connecting failed or timed out)."""


class MaybeSent(Exception):
    """The request may have reached the server, but no complete answer came back."""


class AiohttpRequest(BaseRequest):
    """A PTB request backed by one aiohttp session with a bounded connection pool."""

    def __init__(self, *, connection_pool_size: int = 64, read_timeout: float | None = 10.0,
                 connect_timeout: float | None = 5.0, pool_timeout: float | None = 5.0) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout in seconds."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session (inside the running event loop)."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(connector=connector,
                                                  headers={"User-Agent": self.USER_AGENT})

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one Bot API request; returns the status code and the body."""
        if self._session is None or self._session.closed:
            raise RuntimeError("AiohttpRequest is not initialized")
        files = request_data.multipart_data if request_data else {}
        if isinstance(read_timeout, DefaultValue):
            read_timeout = self._read_timeout
        if isinstance(connect_timeout, DefaultValue):
            connect_timeout = self._connect_timeout
        if isinstance(pool_timeout, DefaultValue):
            pool_timeout = self._pool_timeout
        # aiohttp's "connect" covers waiting for a pooled connection plus connecting.
        waiting = None if connect_timeout is None and pool_timeout is None else \
            (connect_timeout or 0) + (pool_timeout or 0)
        timeout = aiohttp.ClientTimeout(total=None, connect=waiting, sock_connect=connect_timeout,
                                        sock_read=read_timeout)
        body: Any = None
        headers = None
        if files:
            form = aiohttp.FormData()
            for name, value in request_data.json_parameters.items():  # type: ignore[union-attr]
                form.add_field(name, value)
            for name, (filename, content, mime) in files.items():
                form.add_field(name, content, filename=filename, content_type=mime)
            body = form
        elif request_data is not None and (parameters := request_data.parameters):
            # One JSON document, as the Bot API accepts: a single C-speed json.dumps instead of
            # a JSON string per field and then a form encoding (PTB's documented tip).
            body = json.dumps(parameters).encode()
            headers = JSON_HEADERS
        try:
            async with self._session.request(method, url, data=body, headers=headers,
                                             timeout=timeout) as response:
                return response.status, await response.read()
        except aiohttp.ConnectionTimeoutError as err:
            raise TimedOut("Timed out connecting; the request was not sent") from NotSent(str(err))
        except aiohttp.ClientConnectorError as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {err}") from NotSent(str(err))
        except TimeoutError as err:
            raise TimedOut("Timed out waiting for the answer") from MaybeSent(str(err))
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {err}") from MaybeSent(str(err))
