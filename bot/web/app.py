"""The HTTP side: tracked-link clicks, one-tap Buy, postbacks, health, card images and the webhook.

Metrics have their own listener (bot/metrics.py), off the public port."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client import Counter
from sqlalchemy.exc import NoResultFound
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route, request_response
from starlette.templating import Jinja2Templates
from starlette.types import Receive, Scope, Send
from telegram import Update

from bot.domain.clicks import REFERRER_MAX, UA_MAX, crop, hash_ip, is_probable_bot
from bot.domain.links import looks_like_code
from bot.domain.postback import PostbackError, parse_report, verify
from bot.domain.telegram_login import LoginError, check_login
from bot.resources import templates_dir
from bot.services.base import ServiceError
from bot.services.promoters import Person
from bot.services.tracking import ClickRecord, ClickTarget
from bot.web.bodies import BodyTooLarge, read_body
from bot.web.clicks import ClickIds, Memo
from bot.web.link_cache import MISS, LinkCache
from bot.web.miniapp import build_miniapp
from bot.web.s2s import S2S_ROUTES

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024  # /postback
MAX_UPDATE_BODY = 1024 * 1024  # /telegram: Telegram's updates are far smaller
CARD_CACHE_SIZE = 256  # ~200 KB each: about 50 MB at most
ID_DIGITS = 18  # ids fit a signed 64-bit integer; longer digit strings are not ids
TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name


@dataclass(eq=False)
class WebState:
    """What the routes keep between requests: memos and caches, one set per web app."""

    templates: Jinja2Templates
    links: LinkCache
    # Visitors repeat their address and user agent; these memos keep the redirect cheap.
    ip_hashes: Memo[str, str]
    bot_agents: Memo[str | None, bool]
    # The click counter's two children, looked up once instead of per click.
    human_clicks: Counter
    bot_clicks: Counter
    click_ids: ClickIds = field(default_factory=ClickIds)
    # Rendered card bytes per product version: an open URL must not cost a render per request.
    # One render at a time, so a flood of distinct ids queues instead of taking every core.
    card_bytes: OrderedDict[str, bytes] = field(default_factory=OrderedDict)
    render_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def runtime_of(request: Request) -> Runtime:
    """The runtime the app was built with (the routes' one dependency)."""
    return request.app.state.runtime  # type: ignore[no-any-return]


def web_of(request: Request) -> WebState:
    return request.app.state.web  # type: ignore[no-any-return]


def page(request: Request, name: str, status: int, **values: str) -> Response:
    """One of the small HTML pages (404, 410, 403)."""
    return web_of(request).templates.TemplateResponse(request, f"web/{name}.html", values,
                                                      status_code=status)


def click(request: Request, link_id: int) -> str:
    """Buffer one click and return its id (the merchant's sub-id)."""
    ua = request.headers.get("user-agent")
    web = web_of(request)
    return count_click(runtime_of(request), web, link_id,
                       is_bot=request.method == "HEAD" or web.bot_agents(ua), user_agent=ua,
                       referrer=request.headers.get("referer"),
                       ip=request.client.host if request.client else None)


def count_click(runtime: Runtime, web: WebState, link_id: int, *, is_bot: bool,
                user_agent: str | None, referrer: str | None, ip: str | None) -> str:
    """Buffer one click and return its id."""
    click_id = web.click_ids()
    runtime.clicks.add(ClickRecord(
        click_id, link_id, runtime.services.now(), is_bot, web.ip_hashes(ip) if ip else None,
        crop(user_agent, UA_MAX), crop(referrer, REFERRER_MAX)))
    (web.bot_clicks if is_bot else web.human_clicks).inc()
    return click_id


async def tracked_link(request: Request) -> Response:
    """``/c/<code>``: count the click, redirect to the merchant."""
    runtime = runtime_of(request)
    code = request.path_params["code"]
    target = await web_of(request).links.get(code) if looks_like_code(code) else None
    if target is None:
        return page(request, "404", 404)
    if target.expired(runtime.services.now()):
        return page(request, "410", 410, title=target.title)
    if target.merchant in runtime.networks.merchants:
        return await network_redirect(request, target)
    return RedirectResponse(target.redirect_url(click(request, target.link_id)), status_code=302)


class TrackedLinks:
    """``/c/<code>`` as a plain ASGI endpoint: the one route every member's click takes.

    A click on a link whose target is cached, live and the merchant's own is counted and
    answered from the ASGI scope, without Starlette's Request and Response objects, which
    cost more than the click itself (docs/SCALING.md, "Clicks"). Anything else (an unknown
    code, a cache miss, an ended deal, a network's link) is ``tracked_link``, as before."""

    def __init__(self, runtime: Runtime, web: WebState) -> None:
        self._runtime = runtime
        self._web = web
        self._slow = request_response(tracked_link)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime, web = self._runtime, self._web
        target = web.links.peek(scope["path_params"]["code"])
        if (target is None or target is MISS or target.location_parts is None
                or target.expired(runtime.services.now())
                or target.merchant in runtime.networks.merchants):
            await self._slow(scope, receive, send)
            return
        user_agent = referrer = None
        for name, value in scope["headers"]:
            if name == b"user-agent":
                user_agent = value.decode("latin-1") if user_agent is None else user_agent
            elif name == b"referer":
                referrer = value.decode("latin-1") if referrer is None else referrer
        client = scope.get("client")
        click_id = count_click(
            runtime, web, target.link_id,
            is_bot=scope["method"] == "HEAD" or web.bot_agents(user_agent),
            user_agent=user_agent, referrer=referrer, ip=client[0] if client else None)
        head, tail = target.location_parts
        await send({"type": "http.response.start", "status": 302,
                    "headers": [(b"content-length", b"0"),
                                (b"location", head + click_id.encode("ascii") + tail)]})
        await send({"type": "http.response.body", "body": b""})

async def network_redirect(request: Request, target: ClickTarget) -> Response:
    """A network's product: its promotion link carries the member (bot/networks/)."""
    if request.method == "HEAD" or web_of(request).bot_agents(request.headers.get("user-agent")):
        # Crawlers and link previews get the plain product page: no link API call for them.
        return RedirectResponse(target.redirect_url(click(request, target.link_id)), status_code=302)
    url = await runtime_of(request).networks.promotion_url(target.merchant, target.link_id)
    if url is None:
        return page(request, "503", 503, network=target.merchant.upper())
    click(request, target.link_id)
    return RedirectResponse(url, status_code=302)


async def one_tap(request: Request) -> Response:
    """``/b/<post code>``: a Telegram Login Buy button; issue the member's link and redirect."""
    runtime = runtime_of(request)
    params = {k: v for k, v in request.query_params.items()}
    try:
        user_id = check_login(params, bot_token=runtime.config.telegram.token,
                              now=runtime.services.now())
    except LoginError as exc:
        return page(request, "403", 403, reason=str(exc))
    person = Person(id=user_id, first_name=params.get("first_name", ""),
                    username=params.get("username"))
    code = request.path_params["code"]
    try:
        if not looks_like_code(code):
            raise ServiceError("unknown_deal")
        link = await runtime.db.run_threaded(runtime.services.tracking.tap_post, post_code=code,
                                             person=person, promoters=runtime.services.promoters)
    except ServiceError:
        return page(request, "404", 404)
    runtime.metrics.taps.inc()
    target = await web_of(request).links.get(link.code)
    assert target is not None
    if target.expired(runtime.services.now()):
        return page(request, "410", 410, title=target.title)
    if target.merchant in runtime.networks.merchants:
        return await network_redirect(request, target)
    return RedirectResponse(target.redirect_url(click(request, target.link_id)), status_code=302)


async def postback(request: Request) -> Response:
    """``/postback``: a signed order report from a merchant or network."""
    runtime = runtime_of(request)
    try:
        body = await read_body(request, MAX_BODY)
    except BodyTooLarge:
        return _problem(413, "body too large")
    try:
        if request.headers.get("content-type", "").startswith("application/json"):
            raw = json.loads(body)
            if not isinstance(raw, dict):
                raise ValueError("expected a JSON object")
            fields = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()}
        else:
            form = await request.form()
            fields = {k: v for k, v in form.items() if isinstance(v, str)}
    except RecursionError:
        return _problem(400, "malformed body: nested too deeply")
    except (ValueError, UnicodeDecodeError) as exc:
        return _problem(400, f"malformed body: {exc}")
    if not verify(fields, runtime.config.postback.secret):
        runtime.metrics.orders.labels(result="bad_signature").inc()
        return _problem(401, "bad signature")
    try:
        report = parse_report({k: v for k, v in fields.items() if k != "sig"},
                              default_currency=runtime.config.commission.currency)
    except PostbackError as exc:
        runtime.metrics.orders.labels(result="malformed").inc()
        return _problem(400, str(exc))
    # The order's click may still sit in this process's buffer, or in a batch the timer
    # is writing right now (the buffer then looks empty): flush waits for that write
    # too, so a postback right after its click is attributed at once, not answered 202.
    await runtime.clicks.flush()
    # In a thread on every backend: a money write may wait for SQLite's write lock, and the
    # bot and the click redirects share this event loop.
    outcome = await runtime.db.run_threaded(runtime.services.orders.ingest, report,
                                            source="postback", promoters=runtime.services.promoters)
    runtime.metrics.orders.labels(result=str(outcome.status)).inc()
    log.info("postback", extra={"order": report.order_id, "status": outcome.status})
    return JSONResponse({"ok": outcome.status < 300, "status": outcome.status,
                         "reason": outcome.reason}, status_code=outcome.status)


async def healthz(request: Request) -> Response:
    """``/healthz``: the database and the Bot API answer."""
    runtime = runtime_of(request)
    problems = []
    if not await runtime.db.run(runtime.db.ping):
        problems.append("database unavailable")
    if not await runtime.bot_api_ok():
        problems.append("Bot API unavailable")
    return PlainTextResponse("; ".join(problems) or "ok", status_code=503 if problems else 200)


async def telegram_webhook(request: Request) -> Response:
    """``/telegram``: updates Telegram pushes in webhook mode, checked by their secret header."""
    runtime = runtime_of(request)
    secret = runtime.config.telegram.webhook_secret.encode()
    # Compared as bytes: a header may carry any byte, and compare_digest refuses non-ASCII str.
    given = request.headers.get(TELEGRAM_SECRET_HEADER, "").encode("latin-1")
    if runtime.config.telegram.mode != "webhook" or not secret or not hmac.compare_digest(given, secret):
        return _problem(403, "forbidden")
    try:
        body = await read_body(request, MAX_UPDATE_BODY)
    except BodyTooLarge:
        return _problem(413, "body too large")
    try:
        data = json.loads(body)
        update = Update.de_json(data, runtime.bot)
    except Exception:  # noqa: BLE001 - a malformed update is refused, not a 500
        return _problem(400, "malformed update")
    await runtime.updates.put(update)
    return PlainTextResponse("ok")


async def card_image(request: Request) -> Response:
    """``/card/<product>.jpg``: a deal's card image (inline results show it by URL)."""
    runtime, web = runtime_of(request), web_of(request)
    raw = request.path_params["product"]
    if not (raw.isascii() and raw.isdigit() and len(raw) <= ID_DIGITS):
        return _problem(404, "not found")
    version = await runtime.db.run_threaded(runtime.services.catalog.live_version, int(raw))
    if version is None:
        return _problem(404, "not found")
    card_bytes = web.card_bytes
    data = card_bytes.get(version)
    if data is None:
        async with web.render_lock:
            try:
                data = card_bytes.get(version) or await runtime.cards.render(int(raw))
            except NoResultFound:  # deleted between the check and the render
                return _problem(404, "not found")
        card_bytes[version] = data
        while len(card_bytes) > CARD_CACHE_SIZE:
            card_bytes.popitem(last=False)
    card_bytes.move_to_end(version)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "max-age=300"})


ROUTES = [
    Route("/b/{code}", one_tap, methods=["GET"]),
    Route("/postback", postback, methods=["POST"]),
    Route("/healthz", healthz, methods=["GET"]),
    Route("/telegram", telegram_webhook, methods=["POST"]),
    Route("/card/{product}.jpg", card_image, methods=["GET"]),
    *S2S_ROUTES,
]


def build_web_app(runtime: Runtime) -> Starlette:
    """The Starlette application; its routes read ``runtime`` from ``app.state``."""
    # IPs are kept only as a keyed hash; the key derives from the bot token, a secret every
    # deployment already has, so no extra setting is needed and the hash is useless elsewhere.
    ip_salt = hashlib.sha256(b"kocbot-ip-salt:" + runtime.config.telegram.token.encode()).digest()
    web = WebState(
        templates=Jinja2Templates(directory=str(templates_dir())),
        links=LinkCache(runtime.services.tracking.resolve_many, inline=runtime.db.is_sqlite),
        ip_hashes=Memo(lambda ip: hash_ip(ip, ip_salt)), bot_agents=Memo(is_probable_bot),
        human_clicks=runtime.metrics.clicks.labels(kind="human"),
        bot_clicks=runtime.metrics.clicks.labels(kind="bot"))
    app = Starlette(routes=[Route("/c/{code}", TrackedLinks(runtime, web), methods=["GET", "HEAD"]),
                            *ROUTES, Mount("/app", build_miniapp(runtime))])
    app.state.runtime = runtime
    app.state.web = web
    return app


def _problem(status: int, reason: str) -> Response:
    return JSONResponse({"ok": False, "error": reason}, status_code=status)
