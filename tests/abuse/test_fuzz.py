"""Hypothesis over every HTTP route (the public app and the metrics listener) and every
callback-data prefix: the only answers are 2xx, 3xx or 4xx, and no handler logs an exception.

Hypothesis runs in a worker thread with a blocking HTTP client, so that the bot, its web
server and the emulator keep running in the test's event loop meanwhile."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from starlette.routing import Route

from bot.metrics import metrics_app
from tests.abuse.test_forgery import MEMBER, setup_card
from tests.conftest import free_port

SECRET = "hook-secret_123"
PREFIXES = ("buy", "sbuy", "gl", "dp", "pk")
FUZZ = settings(max_examples=150, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))

texts = st.text(max_size=40)
# Any byte HTTP allows in a header value (no control bytes, no surrounding blanks), non-ASCII too.
header_values = st.one_of(texts.map(lambda t: t.encode("utf-8")), st.binary(max_size=40)).map(
    lambda b: bytes(c for c in b if c >= 0x20 and c != 0x7F).strip(b" "))
bodies = st.one_of(
    st.binary(max_size=2000),
    st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | texts,
                 lambda kids: st.lists(kids, max_size=4) | st.dictionaries(texts, kids, max_size=4),
                 max_leaves=20).map(lambda v: json.dumps(v).encode()),  # NaN too: not JSON
    st.dictionaries(st.sampled_from(["order_id", "click_id", "amount", "commission", "currency",
                                     "status", "sig", "sku", "at"]), texts).map(
        lambda d: "&".join(f"{quote(k)}={quote(v)}" for k, v in d.items()).encode()),
    st.integers(1, 70_000).map(lambda n: b"[" * n),
)
content_types = st.sampled_from(["application/json", "application/x-www-form-urlencoded",
                                 "multipart/form-data; boundary=xyz", "multipart/form-data",
                                 "text/plain", "", "application/json; charset=\xff"])


def failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records
            if r.exc_info or r.levelno >= logging.ERROR]


def routes_of(base: str, app) -> list[tuple[str, str, list[str]]]:
    """(base, path template, methods) for every route of a Starlette app."""
    return [(base, r.path, sorted(r.methods or {"GET"})) for r in app.routes if isinstance(r, Route)]


@st.composite
def requests(draw, routes):
    base, template, methods = draw(st.sampled_from(routes))
    path = re.sub(r"\{[^}]+\}", lambda _m: quote(draw(texts), safe=""), template)
    method = draw(st.sampled_from([*methods, "GET", "POST", "PUT", "DELETE"]))
    query = draw(st.dictionaries(texts, texts, max_size=4))
    headers = {"content-type": draw(content_types).encode("latin-1", "replace")}
    if draw(st.booleans()):
        headers["x-telegram-bot-api-secret-token"] = draw(st.one_of(st.just(SECRET.encode()),
                                                                    header_values))
    # Content-Length and Host are left to the HTTP client, which refuses to send bad ones
    # (tests/abuse/test_body_limits.py sends its own Content-Length on a raw socket).
    for name in draw(st.lists(st.sampled_from(["user-agent", "referer", "authorization", "cookie"]),
                              max_size=2, unique=True)):
        headers[name] = draw(header_values)
    body = draw(bodies) if method in ("POST", "PUT") else b""
    return method, base + path, query, headers, body


async def test_every_http_route(emulator, kocbot_factory, caplog: pytest.LogCaptureFixture) -> None:
    metrics_port = free_port()
    kocbot = await kocbot_factory(config={"telegram": {"mode": "webhook", "webhook_secret": SECRET},
                                      "metrics": {"port": metrics_port}})
    routes = routes_of(kocbot.config.web.public_url, kocbot.web)
    routes += routes_of(f"http://127.0.0.1:{metrics_port}", metrics_app(kocbot.metrics))
    assert {path for _, path, _ in routes} >= {"/c/{code}", "/b/{code}", "/postback", "/healthz",
                                               "/telegram", "/card/{product}.jpg", "/metrics"}
    logging.getLogger("uvicorn.error").addHandler(caplog.handler)  # uvicorn does not propagate
    seen: list[int] = []
    public, as_json = kocbot.config.web.public_url, {"content-type": b"application/json"}

    # The cases the audit found, always tried first; hypothesis explores around them.
    @FUZZ
    @given(requests(routes))
    @example(("POST", f"{public}/postback", {}, as_json, b"[" * 60_000))
    @example(("POST", f"{public}/telegram", {}, {**as_json, "x-telegram-bot-api-secret-token": b"\xff"},
              b"{}"))
    @example(("GET", f"{public}/card/%C2%B2.jpg", {}, {}, b""))
    @example(("GET", f"{public}/card/99999999999999999999.jpg", {}, {}, b""))
    def check(request) -> None:
        method, url, query, headers, body = request
        try:
            with httpx.Client(timeout=30) as client:
                response = client.request(method, url, params=query, headers=headers, content=body)
        except httpx.RemoteProtocolError:
            return  # the server hung up on a request that breaks HTTP itself
        seen.append(response.status_code)
        assert response.status_code < 500, (method, url, headers, body[:200], response.text[:300])

    try:
        await asyncio.to_thread(check)
    finally:
        logging.getLogger("uvicorn.error").removeHandler(caplog.handler)
    assert len(seen) > 100
    assert failures(caplog) == []


async def test_every_callback_prefix(emulator, kocbot, caplog: pytest.LogCaptureFixture) -> None:
    emu = emulator
    _chat, card = await setup_card(emu, kocbot)
    loop = asyncio.get_running_loop()
    kocbot.throttle.burst = kocbot.throttle.rate = 10**9  # one member taps fast here: let every tap through

    async def tap(data: str) -> dict:
        return await emu.wait_callback_answer(emu.forge_callback(MEMBER, card, data), timeout=10)

    values = st.one_of(texts, st.integers(-(10**30), 10**30).map(str),
                       st.text(alphabet="0123456789²³¹٣１２", min_size=1, max_size=25))

    @settings(FUZZ, max_examples=80)
    @given(st.one_of(st.sampled_from(PREFIXES), texts), values)
    def check(prefix: str, value: str) -> None:
        data = f"{prefix}:{value}".encode()[:64].decode("utf-8", "ignore") or ":"
        answer = asyncio.run_coroutine_threadsafe(tap(data), loop).result(timeout=30)
        assert "went wrong" not in (answer.get("text") or ""), (data, answer)

    await asyncio.to_thread(check)
    assert failures(caplog) == []
