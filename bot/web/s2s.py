"""S2S GET postbacks: ``GET /postback/<merchant>?click_id=…&order_id=…&amount=…&status=…&token=…``.

Affiliate networks call a URL template with the order's fields filled in; they cannot sign
a body with our HMAC, so a per-merchant shared ``postback_token`` stands in for the
signature and the network's own status values are translated by ``status_map``. After
that, a report is the same ``OrderReport`` as a signed ``POST /postback`` and goes through
the same ``OrderService.ingest``, so every money rule (idempotency, late and illegal
changes, concurrency) is the same.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.config import MerchantSettings
from bot.domain.postback import PostbackError, parse_report

if TYPE_CHECKING:
    from bot.app import Kocbot

log = logging.getLogger(__name__)
TOKEN = "token"  # noqa: S105 - the name of the query parameter, not a secret
MAX_QUERY = 4096  # bytes; a network's callback URL is a few hundred


class S2SError(ValueError):
    """A refused S2S report: ``status`` is the HTTP answer, the message the reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def s2s_fields(merchant: MerchantSettings | None, query: Mapping[str, str]) -> dict[str, str]:
    """Check the token and map the status; the postback fields that remain, or S2SError."""
    expected = merchant.postback_token if merchant is not None else ""
    given = query.get(TOKEN, "")
    # An unknown merchant, a merchant without a token, and a wrong token look alike: 401.
    if not expected or not hmac.compare_digest(given.encode("utf-8", "surrogatepass"),
                                               expected.encode("utf-8")):
        raise S2SError(401, "wrong or missing token")
    fields = {k: v for k, v in query.items() if k != TOKEN}
    raw = fields.get("status", "").strip()
    if merchant is not None and merchant.status_map and raw:
        mapped = merchant.status_map.get(raw)
        if mapped is None:
            raise S2SError(400, f"status: {raw[:40]!r} is not in this merchant's status_map")
        fields["status"] = mapped
    return fields


def s2s_routes(kb: Kocbot) -> list[Route]:
    """The S2S route, bound to one kocbot runtime (registered by bot/web/app.py)."""

    async def s2s_postback(request: Request) -> Response:
        if len(request.url.query.encode("utf-8", "surrogatepass")) > MAX_QUERY:
            return _problem(414, "query too long")
        name = request.path_params["merchant"]
        query = request.query_params
        if len(query.getlist(TOKEN)) > 1 or any(len(query.getlist(k)) > 1 for k in query):
            return _problem(400, "a field is given twice")
        try:
            fields = s2s_fields(kb.config.merchants.get(name), dict(query))
            # The path names the merchant: an order with an unknown click is kept under it.
            fields["merchant"] = name
            report = parse_report(fields, default_currency=kb.config.commission.currency)
        except S2SError as exc:
            kb.metrics.orders.labels(result="bad_token" if exc.status == 401 else "malformed").inc()
            return _problem(exc.status, str(exc))
        except PostbackError as exc:
            kb.metrics.orders.labels(result="malformed").inc()
            return _problem(400, str(exc))
        if len(kb.clicks):
            # As POST /postback: the order's click may still sit in the write buffer.
            await kb.clicks.flush()
        outcome = await asyncio.to_thread(kb.services.orders.ingest, report, source="s2s",
                                          promoters=kb.services.promoters)
        kb.metrics.orders.labels(result=str(outcome.status)).inc()
        log.info("s2s postback", extra={"merchant": name, "order": report.order_id,
                                        "status": outcome.status})
        return JSONResponse({"ok": outcome.status < 300, "status": outcome.status,
                             "reason": outcome.reason}, status_code=outcome.status)

    return [Route("/postback/{merchant}", s2s_postback, methods=["GET"])]


def _problem(status: int, reason: str) -> Response:
    return JSONResponse({"ok": False, "error": reason}, status_code=status)
