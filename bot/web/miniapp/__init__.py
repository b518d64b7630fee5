"""The Telegram Mini App, served at ``<public_url>/app``: one page, its static files, and the
data API under ``/app/api/`` (see api.py)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from bot.domain.init_data import secret_key
from bot.web.miniapp import api

if TYPE_CHECKING:
    from bot.runtime import Runtime

HERE = Path(__file__).parent


async def page(request: Request) -> Response:
    """The app's only HTML page; every view is drawn by static/app.js from the API."""
    state = request.app.state
    response: Response = state.templates.TemplateResponse(request, "index.html", {
        "lang": state.config.card.locale, "currency": state.config.commission.currency,
        "base": state.base_path}, headers={"Cache-Control": "no-cache"})
    return response


ROUTES = [
    Route("/", page, methods=["GET"]),
    Route("/api/me", api.me, methods=["GET"]),
    Route("/api/deals", api.deals, methods=["GET"]),
    Route("/api/categories", api.categories, methods=["GET"]),
    Route("/api/deals/{product}", api.deal, methods=["GET"]),
    Route("/api/deals/{product}/buy", api.buy, methods=["POST"]),
    Route("/api/deals/{product}/share", api.share, methods=["POST"]),
    Route("/api/dashboard", api.dashboard, methods=["GET"]),
    Route("/api/groups", api.groups, methods=["GET"]),
    Route("/api/groups/{chat_id}", api.group_settings, methods=["POST"]),
    Route("/api/admin/stats", api.admin_stats, methods=["GET"]),
    Route("/api/admin/balances", api.admin_balances, methods=["GET"]),
    Route("/api/admin/payout", api.admin_payout, methods=["POST"]),
    Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
]


def build_miniapp(runtime: Runtime, *, base_path: str = "/app") -> Starlette:
    """The mini app as a Starlette sub-app, with its collaborators on ``app.state``."""
    app = Starlette(routes=ROUTES)
    state = app.state
    state.runtime = runtime  # for the shared card of a prepared message (bot/tg/inline.py)
    state.db = runtime.db
    state.services = runtime.services
    state.config = runtime.config
    state.metrics = runtime.metrics
    state.bot = runtime.bot
    state.init_data_key = secret_key(runtime.config.telegram.token)
    state.templates = Jinja2Templates(directory=str(HERE / "templates"))
    state.base_path = base_path
    return app
