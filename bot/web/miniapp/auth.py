"""The one dependency of the mini app's data API: ``Authorization: tma <initData>``."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.domain.init_data import InitDataError, WebAppUser, check_init_data
from bot.services.promoters import Person

Route = Callable[[Request], Awaitable[Response]]
AuthedRoute = Callable[[Request, "Caller"], Awaitable[Response]]


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the initData says, and what kocbot lets them do."""

    user: WebAppUser
    is_admin: bool

    @property
    def person(self) -> Person:
        """The caller as the services know people."""
        return Person(id=self.user.id, first_name=self.user.first_name,
                      username=self.user.username, language_code=self.user.language_code)


def caller_of(request: Request) -> Caller:
    """The verified caller; InitDataError when the header is missing, forged or stale."""
    state = request.app.state
    scheme, _, raw = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "tma":
        raise InitDataError("missing initData")
    user = check_init_data(raw.strip(), key=state.init_data_key, now=state.services.now())
    return Caller(user=user, is_admin=user.id in state.config.telegram.admins)


def authed(route: AuthedRoute) -> Route:
    """Wrap a route so it runs only for a valid caller; anyone else gets 401."""
    @functools.wraps(route)
    async def guarded(request: Request) -> Response:
        try:
            caller = caller_of(request)
        except InitDataError as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=401,
                                headers={"WWW-Authenticate": "tma"})
        return await route(request, caller)

    return guarded
