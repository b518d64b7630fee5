"""Reading a request body with a limit, shared by the routes and the mini app API."""

from __future__ import annotations

from starlette.requests import Request


class BodyTooLarge(Exception):
    """The request body is over the route's limit."""


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with BodyTooLarge as soon as it passes ``limit`` bytes.

    The declared Content-Length is checked first; the bytes are then counted as they stream,
    so a chunked body (no length) is cut off at ``limit`` instead of being read whole."""
    declared = request.headers.get("content-length", "")
    if declared and (not declared.isascii() or not declared.isdigit() or int(declared) > limit):
        raise BodyTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge
    data = bytes(body)
    request._body = data  # noqa: SLF001 - lets request.form() parse what was already read
    return data
