"""The mini app's data API under /app/api/. Each route is a plain function of the request and
the verified caller; its collaborators come from ``request.app.state`` and it calls the same
services as the chat commands, so a rule is written once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from telegram.error import TelegramError

from bot.cards.render import discount_percent as discount_percent_of
from bot.domain.money import parse_amount, to_decimal
from bot.domain.search import Filters, Listing, discount_percent
from bot.domain.tiers import progress
from bot.services.base import ServiceError
from bot.services.browse import DealPage
from bot.services.promoters import Team
from bot.services.reports import BUCKETS, parse_since
from bot.storage.models import Group, GroupTopic
from bot.tg.inline import shared_card
from bot.web.bodies import BodyTooLarge, read_body
from bot.web.miniapp.auth import Caller, authed

if TYPE_CHECKING:
    from bot.storage.db import Database

T = TypeVar("T")
PAGE = 20
MAX_OFFSET = 10_000
MAX_BODY = 8 * 1024


class BadInput(ValueError):
    """A parameter the API cannot use: answered 400 with the reason."""


class TooLarge(BadInput):
    """A body over ``MAX_BODY``: answered 413 before it is read whole."""


async def run(request: Request, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A service call through ``Database.run_threaded``: off the event loop on every backend,
    so the dashboard's reads run at once while the bot and the redirects keep the loop."""
    db: Database = request.app.state.db
    return await db.run_threaded(fn, *args, **kwargs)


def problem(status: int, reason: str) -> Response:
    return JSONResponse({"ok": False, "error": reason}, status_code=status)


def refused(exc: BadInput) -> Response:
    """400 with the reason, or 413 for a body that is too large."""
    return problem(413 if isinstance(exc, TooLarge) else 400, str(exc))


def money(minor: int, currency: str) -> str:
    """Minor units as a decimal string, ``3900`` → ``"39.00"``."""
    return str(to_decimal(minor, currency))


def when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _int(params: Any, name: str, low: int, high: int) -> int | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 6 or not low <= int(raw) <= high:
        raise BadInput(f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def _price(params: Any, name: str, currency: str) -> int | None:
    raw = params.get(name, "").strip()
    if not raw:
        return None
    try:
        return parse_amount(raw[:32], currency, allow_zero=True)
    except ValueError as exc:
        raise BadInput(f"{name}: {exc}") from None


async def _json(request: Request) -> dict[str, Any]:
    # The server's one body reader (declared length first, then counted as it streams).
    try:
        body = await read_body(request, MAX_BODY)
    except BodyTooLarge:
        raise TooLarge("body too large") from None
    try:
        data = json.loads(body or b"{}")
    except (ValueError, RecursionError):
        raise BadInput("the body is not JSON") from None
    if not isinstance(data, dict):
        raise BadInput("the body must be a JSON object")
    return data


def listing_json(x: Listing) -> dict[str, Any]:
    """A deal as the fixed ``/app/api/deals`` shape (plus id, category, discount and stock)."""
    d = x.deal
    return {"id": d.product_id, "sku": x.sku, "merchant": x.merchant, "title": x.title,
            "price": money(d.price, x.currency), "original_price": money(d.original_price, x.currency),
            "currency": x.currency, "image": x.image, "ends_at": when(d.ends_at),
            "category": d.category, "discount": discount_percent(d), "stock": d.stock}


# -- members --------------------------------------------------------------------------------
@authed
async def deals(request: Request, caller: Caller) -> Response:
    """``GET /app/api/deals?q=&category=&min_price=&max_price=&min_discount=&offset=``."""
    state = request.app.state
    p = request.query_params
    try:
        currency = state.config.commission.currency
        filters = Filters.of(p.get("q", "")[:100], category=(p.get("category") or "")[:64] or None,
                             min_price=_price(p, "min_price", currency),
                             max_price=_price(p, "max_price", currency),
                             min_discount=_int(p, "min_discount", 0, 99))
        offset = _int(p, "offset", 0, MAX_OFFSET) or 0
    except BadInput as exc:
        return problem(400, str(exc))
    found, more = await run(request, state.services.browse.search, filters, offset=offset, limit=PAGE)
    return JSONResponse({"deals": [listing_json(x) for x in found],
                         "next_offset": offset + PAGE if more else None})


@authed
async def categories(request: Request, caller: Caller) -> Response:
    """``GET /app/api/categories``: every category with a deal."""
    index = await run(request, request.app.state.services.browse.index)
    return JSONResponse({"categories": index.categories()})


def _product_id(request: Request) -> int:
    raw = request.path_params["product"]
    if not raw.isdigit() or len(raw) > 12:
        raise BadInput("unknown deal")
    return int(raw)


@authed
async def deal(request: Request, caller: Caller) -> Response:
    """``GET /app/api/deals/<id>``: the deal's page, as of now."""
    services = request.app.state.services
    try:
        page = await run(request, services.browse.deal, _product_id(request))
    except BadInput:
        page = None
    if page is None:
        return problem(404, "unknown deal")
    p = page.product
    base = request.app.state.config.web.public_url.rstrip("/")
    return JSONResponse({
        "id": p.id, "sku": p.sku, "merchant": page.merchant, "title": p.title,
        "price": money(p.price, p.currency), "original_price": money(p.original_price, p.currency),
        "currency": p.currency, "image": p.image_url, "card": f"{base}/card/{p.id}.jpg",
        "ends_at": when(p.ends_at), "starts_at": when(p.starts_at), "stock": p.stock,
        "category": p.category, "live": page.live,
        "discount": discount_percent_of(p.price, p.original_price)})


async def _live_deal(request: Request) -> tuple[int, DealPage]:
    """The path's product id and its deal page; BadInput when unknown, ServiceError when over."""
    product_id = _product_id(request)
    page = await run(request, request.app.state.services.browse.deal, product_id)
    if page is None:
        raise BadInput("unknown deal")
    if not page.live:
        raise ServiceError("deal_gone")
    return product_id, page


@authed
async def buy(request: Request, caller: Caller) -> Response:
    """``POST /app/api/deals/<id>/buy``: the member's tracked link, as the /deals Get link button
    gives it (the same link, the same attribution)."""
    state = request.app.state
    services = state.services
    try:
        product_id, page = await _live_deal(request)
        link = await run(request, services.tracking.direct_link, product_id=product_id, person=caller.person,
                         promoters=services.promoters)
    except BadInput as exc:
        return problem(404, str(exc))
    except ServiceError as exc:
        return problem(410, str(exc))
    state.metrics.taps.inc()
    return JSONResponse({"url": f"{state.config.web.public_url.rstrip('/')}/c/{link.code}"})


@authed
async def share(request: Request, caller: Caller) -> Response:
    """``POST /app/api/deals/<id>/share``: a prepared inline message of the deal's card, credited
    to the caller like an inline share; the page passes its id to ``WebApp.shareMessage``."""
    state = request.app.state
    services = state.services
    try:
        product_id, page = await _live_deal(request)
        codes = await run(request, services.tracking.shares_for, sharer=caller.person,
                          product_ids=[product_id], promoters=services.promoters)
        result = await shared_card(state.runtime, page.product, codes[product_id])
        prepared = await state.bot.save_prepared_inline_message(
            user_id=caller.user.id, result=result, allow_user_chats=True, allow_bot_chats=False,
            allow_group_chats=True, allow_channel_chats=True)
    except BadInput as exc:
        return problem(404, str(exc))
    except ServiceError as exc:
        return problem(410, str(exc))
    except TelegramError as exc:
        return problem(502, f"Telegram refused the share: {exc}")
    return JSONResponse({"prepared_message_id": prepared.id, "share_code": codes[product_id]})


@authed
async def me(request: Request, caller: Caller) -> Response:
    """``GET /app/api/me``: who the caller is, their tier, balances and roles."""
    state = request.app.state
    services = state.services
    currency = state.config.commission.currency
    user, balances, owned = await asyncio.gather(
        run(request, services.promoters.get, caller.user.id),
        run(request, services.dashboard.balances, caller.user.id),
        run(request, services.groups.owned_by, caller.user.id))
    return JSONResponse({
        "user_id": caller.user.id, "first_name": caller.user.first_name,
        "tier": user.tier if user is not None else "promoter",
        "registered": user is not None and user.registered_at is not None,
        "currency": currency,
        "balances": {b: money(balances.get(b, 0), currency) for b in BUCKETS},
        "roles": {"admin": caller.is_admin, "owner": bool(owned),
                  "promoter": user is not None and user.registered_at is not None},
        "language": caller.user.language_code or "",
    })


# -- promoters ------------------------------------------------------------------------------
@authed
async def dashboard(request: Request, caller: Caller) -> Response:
    """``GET /app/api/dashboard``: commission over time, per bucket and group, team, payouts."""
    state = request.app.state
    services = state.services
    currency = state.config.commission.currency
    uid = caller.user.id

    def team_now() -> Team:
        services.promoters.refresh_tiers()  # as /team: the tier as of now
        team: Team = services.promoters.team(uid)
        return team

    # Four independent reads at once: the page waits for the slowest, not for the sum.
    e, (clicks, orders), team, payouts = await asyncio.gather(
        run(request, services.dashboard.summary, uid, days=30),
        run(request, services.dashboard.activity, uid),
        run(request, team_now), run(request, services.dashboard.payouts, uid))
    tiers = state.config.tiers
    where = progress(tier=team.tier, active_invitees=team.active_invitees,
                     mentor_invitees=team.mentor_invitees,
                     mentor_min_active_invitees=tiers.mentor_min_active_invitees,
                     partner_min_mentors=tiers.partner_min_mentors)
    return JSONResponse({
        "currency": currency,
        "buckets": {b: money(e.buckets.get(b, 0), currency) for b in BUCKETS},
        "series": [{"date": d.isoformat(), "amount": money(a, currency)} for d, a in e.series],
        "per_group": [{"title": t, "amount": money(a, currency)} for t, a in e.per_group],
        "clicks": clicks, "orders": orders,
        "last_7_days": money(e.last_7_days, currency), "last_30_days": money(e.last_30_days, currency),
        "team": {"tier": team.tier, "invitees": len(team.invitees),
                 "active_invitees": team.active_invitees, "mentor_invitees": team.mentor_invitees,
                 "team_earned": money(team.team_earned, currency), "next_tier": where.next_tier,
                 "missing": where.missing,
                 "needed": (tiers.mentor_min_active_invitees if where.next_tier == "mentor"
                            else tiers.partner_min_mentors)},
        "payouts": [{"amount": money(p.amount, p.currency), "currency": p.currency,
                     "at": when(p.created_at)} for p in payouts],
    })


# -- group owners ---------------------------------------------------------------------------
def group_json(g: Group, topics: list[GroupTopic]) -> dict[str, Any]:
    return {"chat_id": g.chat_id, "title": g.title, "times": g.times.split(), "timezone": g.timezone,
            "categories": g.categories.split(), "paused": g.paused, "topic": g.topic_id is not None,
            "topic_id": g.topic_id, "topics": [{"id": t.thread_id, "name": t.name} for t in topics],
            "active": g.active, "last_post_at": when(g.last_post_at),
            "next_slot_at": when(g.next_slot_at)}


@authed
async def groups(request: Request, caller: Caller) -> Response:
    """``GET /app/api/groups``: the caller's groups, their settings and known forum topics."""
    service = request.app.state.services.groups
    owned = await run(request, service.owned_by, caller.user.id)
    topics = await asyncio.gather(*(run(request, service.topics, g.chat_id) for g in owned))
    return JSONResponse({"groups": [group_json(g, t) for g, t in zip(owned, topics, strict=True)]})


def _topic(data: dict[str, Any]) -> int | None | bool:
    """``topic``: a thread id, or null/false for the main chat; absent: unchanged (False)."""
    if "topic" not in data:
        return False
    value = data["topic"]
    if value is None or value is False:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**31:
        raise BadInput("topic must be a topic id, or null for the main chat")
    return value


def _words(data: dict[str, Any], name: str) -> list[str] | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        value = value.split()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or len(value) > 64:
        raise BadInput(f"{name} must be a list of words")
    return [v[:64] for v in value]


@authed
async def group_settings(request: Request, caller: Caller) -> Response:
    """``POST /app/api/groups/<chat_id>``: change settings with the group commands' rules; all
    given fields are checked before any is written."""
    services = request.app.state.services
    raw = request.path_params["chat_id"]
    if not raw.lstrip("-").isdigit() or len(raw) > 20:
        return problem(404, "unknown group")
    chat_id = int(raw)
    try:
        data = await _json(request)
        times = _words(data, "times")
        cats = _words(data, "categories")
        tz, paused = data.get("timezone"), data.get("paused")
        if tz is not None and not isinstance(tz, str):
            raise BadInput("timezone must be a string")
        if paused is not None and not isinstance(paused, bool):
            raise BadInput("paused must be true or false")
        topic = _topic(data)
        await run(request, services.groups.owned, chat_id, caller.user.id)
    except BadInput as exc:
        return refused(exc)
    except ServiceError as exc:
        return problem(403, str(exc))
    try:
        if times == []:
            times = ["off"]
        group = await run(request, services.groups.change, chat_id, times=times, timezone=tz, categories=cats,
                          paused=paused, topic=topic)
    except ServiceError as exc:
        return problem(400, str(exc))
    if times is not None or tz is not None or paused is False:
        group.next_slot_at = await run(request, services.posting.reschedule, chat_id)
    topics = await run(request, services.groups.topics, chat_id)
    return JSONResponse({"group": group_json(group, topics)})


# -- platform admins ------------------------------------------------------------------------
def _admin(caller: Caller) -> Response | None:
    return None if caller.is_admin else problem(403, "only platform admins may do this")


@authed
async def admin_stats(request: Request, caller: Caller) -> Response:
    """``GET /app/api/admin/stats?window=7d|30d|all``: the /stats figures."""
    if (denied := _admin(caller)) is not None:
        return denied
    state = request.app.state
    try:
        window = parse_since(request.query_params.get("window", "30d")[:8])
    except ValueError as exc:
        return problem(400, str(exc))
    s = await run(request, state.services.reports.stats, window)
    cur = state.config.commission.currency
    # As /stats: the Stars paid broadcast cost, when it is on or has cost anything.
    stars: str | None = None
    spent = state.runtime.stars_spent
    if state.config.telegram.paid_broadcast or spent.fees:
        try:
            await spent.refresh(state.bot)
            since = None if window is None else state.services.now() - window
            stars = f"{spent.total(since):f}"
        except TelegramError:
            stars = None  # Telegram did not answer: the rest still stands
    return JSONResponse({"stars_spent": stars,
        "groups": s.groups, "active_groups": s.active_groups, "promoters": s.promoters,
        "posts": s.posts, "taps": s.taps, "clicks": s.clicks, "bot_hits": s.bot_hits,
        "orders": s.orders, "gmv": money(s.gmv, cur), "currency": cur,
        "commission_by_party": {p: money(a, cur) for p, a in sorted(s.commission_by_party.items())}})


@authed
async def admin_balances(request: Request, caller: Caller) -> Response:
    """``GET /app/api/admin/balances``: who is owed what."""
    if (denied := _admin(caller)) is not None:
        return denied
    state = request.app.state
    cur = state.config.commission.currency
    owed = await run(request, state.services.dashboard.owed)
    return JSONResponse({"currency": cur, "balances": [
        {"user_id": o.user_id, "name": o.name, "username": o.username, "payable": money(o.payable, cur),
         "confirmed": money(o.confirmed, cur), "pending": money(o.pending, cur)} for o in owed]})


@authed
async def admin_payout(request: Request, caller: Caller) -> Response:
    """``POST /app/api/admin/payout`` ``{"user": id or "@username", "amount": "10.00"}``: the
    /payout rules, the user named as /payout names them (``PromoterService.resolve``)."""
    if (denied := _admin(caller)) is not None:
        return denied
    state = request.app.state
    services = state.services
    try:
        data = await _json(request)
        ref, amount = data.get("user"), data.get("amount")
        if isinstance(ref, int) and not isinstance(ref, bool):
            ref = str(ref)
        if not isinstance(ref, str) or not ref.strip() or not isinstance(amount, str):
            raise BadInput("give the user (id or @username) and the amount as a decimal string")
        ref = ref.strip()[:40]
        if not (ref.lstrip("-").isdigit() or ref.startswith("@")):
            raise BadInput("the user is a user id or an @username")
    except BadInput as exc:
        return refused(exc)
    try:
        user = await run(request, services.promoters.resolve, ref)
    except ServiceError as exc:
        return problem(404, str(exc))
    try:
        done = await run(request, services.orders.payout, user_id=user.id, amount_text=amount[:32],
                         admin_id=caller.user.id)
    except ServiceError as exc:
        return problem(409, str(exc))
    cur = state.config.commission.currency
    return JSONResponse({"ok": True, "user": user.id, "username": user.username,
                         "amount": money(done.amount, cur), "currency": cur})
