"""One Bot API call end to end: decode, validate, apply faults and flood limits, run handler."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from . import actions, methods_misc, methods_send, methods_webapp
from .core import ApiRequest, Core
from .faults import Injection
from .models import ApiError, UploadedFile, world_error
from .validation import check_params, check_reply_markup, decode_params
from .world import SUPERGROUP_BASE

Handler = Callable[[Core, ApiRequest], Any | Awaitable[Any]]
HANDLERS: dict[str, Handler] = {**methods_send.HANDLERS, **methods_misc.HANDLERS,
                               **methods_webapp.HANDLERS}
_BY_LOWER = {name.lower(): name for name in HANDLERS}
METHOD_NOT_FOUND = ApiError(404, "Not Found: method not found")


def canonical_method(core: Core, method: str) -> str:
    """Telegram matches method names case-insensitively; report them in camelCase."""
    return _BY_LOWER.get(method.lower()) or core.spec.canonical(method) or method


async def dispatch(
    core: Core, method: str, raw: dict[str, Any], files: dict[str, UploadedFile],
    disconnected: Callable[[], Awaitable[bool]] | None = None,
) -> tuple[str, int, dict[str, Any], dict[str, Any]]:
    """Handle a call; returns (method name, HTTP status, JSON body, decoded params)."""
    name = canonical_method(core, method)
    handler = HANDLERS.get(name)
    params: dict[str, Any] = dict(raw)
    if handler is None:
        known = core.spec.canonical(method) is not None
        reason = (f"{name} is a Bot API method the emulator does not implement" if known
                  else f"{method} is not a Bot API method")
        core.violation(name, reason, params)
        return name, 404, METHOD_NOT_FOUND.payload(), params
    req = ApiRequest(name, params, files, disconnected=disconnected)
    if files:
        core.obs.uploads += 1  # bytes went over the wire, whatever the outcome
    try:
        params = req.params = decode_params(core.spec, name, raw, files)
        check_params(core.spec, name, params)
        if "reply_markup" in params:
            check_reply_markup(params["reply_markup"], req.soft)
        result = await _run(core, handler, req)
        status, body = 200, {"ok": True, "result": result}
    except ApiError as exc:
        if exc.violation:
            core.violation(name, exc.reason, params)
        status, body = exc.code, exc.payload()
    for reason in req.soft:
        core.violation(name, reason, params)
    return name, status, body, params


async def _run(core: Core, handler: Handler, req: ApiRequest) -> Any:
    """Faults first (they model Telegram's side), then flood control, then the handler."""
    injection = core.faults.take(req.method, req.params.get("chat_id"))
    if injection is not None:
        return await _inject(core, injection, handler, req)
    billed = _check_flood(core, req)
    result = await _call(core, handler, req)
    if billed:
        core.bill_paid_message()
    return result


async def _call(core: Core, handler: Handler, req: ApiRequest) -> Any:
    result = handler(core, req)
    if inspect.isawaitable(result):
        result = await result
    return result


def _check_flood(core: Core, req: ApiRequest) -> bool:
    """Raise Telegram's 429 if a limit is reached; True when a paid message will be billed."""
    chat_id = req.params.get("chat_id")
    if req.method not in methods_send.SEND_METHODS or chat_id is None:
        return False
    paid = req.params.get("allow_paid_broadcast") is True
    wait = core.rate.retry_after(chat_id, paid=paid)
    if wait is not None:
        raise too_many_requests(wait)
    return paid and core.rate.beyond_free()


def too_many_requests(retry_after: int) -> ApiError:
    """The 429 answer of Telegram's flood control."""
    return ApiError(429, f"Too Many Requests: retry after {retry_after}",
                    parameters={"retry_after": retry_after})


async def _inject(core: Core, injection: Injection, handler: Handler, req: ApiRequest) -> Any:
    error = injection.error
    if error == "timeout":
        outcome: Any = None
        failure: ApiError | None = None
        if injection.deliver:
            # Outcome unknown for the client: the message exists even though no answer arrives.
            try:
                outcome = await _call(core, handler, req)
            except ApiError as exc:
                failure = exc
        await core.sleep(injection.delay)
        if not injection.deliver:
            raise ApiError(502, "Bad Gateway")
        if failure is not None:
            raise failure
        return outcome
    await core.sleep(injection.delay)
    chat_id = req.params.get("chat_id")
    if error == "5xx":
        raise ApiError(502, "Bad Gateway")
    if error == "429":
        raise too_many_requests(injection.retry_after)
    if error == "403":
        raise world_error(403, _kicked_text(core, chat_id))
    if error == "chat_not_found":
        raise world_error(400, "chat not found")
    if error == "thread_not_found":
        raise world_error(400, "message thread not found")
    # "migrate": perform the upgrade so that the new id really works afterwards.
    target = injection.chat_id if injection.chat_id is not None else chat_id
    raise world_error(400, "group chat was upgraded to a supergroup chat",
                      migrate_to_chat_id=_migrated_id(core, target))


def _kicked_text(core: Core, chat_id: Any) -> str:
    chat = core.world.chats.get(chat_id) if isinstance(chat_id, int) else None
    if chat is not None and chat.type == "private":
        return "bot was blocked by the user"
    if chat is not None and chat.type == "supergroup":
        return "bot was kicked from the supergroup chat"
    return "bot was kicked from the group chat"


def _migrated_id(core: Core, chat_id: Any) -> int:
    chat = core.world.chats.get(chat_id) if isinstance(chat_id, int) else None
    if chat is not None and chat.migrated_to is not None:
        return chat.migrated_to
    if chat is not None and chat.type == "group":
        return actions.migrate_group(core, chat.id)
    # Not a basic group the emulator knows: still answer with a plausible new id.
    return -(SUPERGROUP_BASE + 9_000_000 + core.world.new_id())
