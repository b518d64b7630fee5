"""The JD open-platform gateway protocol (``routerjson``), as JD Union's API uses it.

One call is one HTTP POST of form fields to ``api_url``:

- system parameters ``method``, ``app_key``, ``timestamp`` (``yyyy-MM-dd HH:mm:ss``,
  Beijing time; the gateway allows a few minutes of skew), ``format=json``, ``v=1.0``,
  ``sign_method=md5`` and ``sign``;
- the business parameters as one JSON document in ``360buy_param_json``;
- ``sign`` = upper-case hex MD5 of ``app_secret`` + every other non-empty parameter as
  ``name`` + ``value``, sorted by name, concatenated + ``app_secret``.

The answer is JSON. Success wraps the result in ``<method with _>_responce`` (JD's
spelling), whose result field (``queryResult``, ``getResult``) is itself a JSON string
``{"code": 200, "message": …, "data": …, "hasMore": …}``. A refused call is
``{"error_response": {"code", "zh_desc", "en_desc"}}``. Gateway code 2 ("App Call
Limited") is a rate limit; HTTP 429/5xx, timeouts and business codes of 500 and above
are worth retrying; anything else (bad signature, unknown app_key, bad parameters) is not.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from bot.networks.base import NetworkError

BEIJING = ZoneInfo("Asia/Shanghai")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
RATE_LIMITED = {"2"}  # gateway "App Call Limited"
# Missing or invalid signature, missing or unknown app key: the credentials, not the API.
CREDENTIAL_CODES = {"11", "12", "16", "19"}
RESULT_FIELDS = {"jd.union.open.promotion.bysubunionid.get": "getResult"}
MAX_ANSWER = 8 * 1024 * 1024  # bytes; a page of 200 order rows is far smaller


def sign(params: Mapping[str, str], secret: str) -> str:
    """JD's signature: MD5(secret + k1v1k2v2… sorted by name, empty values left out + secret)."""
    body = "".join(f"{k}{params[k]}" for k in sorted(params) if k != "sign" and params[k] != "")
    return hashlib.md5((secret + body + secret).encode("utf-8"), usedforsecurity=False).hexdigest().upper()


def beijing(moment: datetime) -> str:
    """An aware datetime as the gateway writes times."""
    return moment.astimezone(BEIJING).strftime(TIME_FORMAT)


def parse_beijing(text: str) -> datetime | None:
    """A gateway time (Beijing, no offset) as an aware datetime; None when empty or malformed."""
    try:
        return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=BEIJING) if text else None
    except (TypeError, ValueError):
        return None


class JdGateway:
    """Signs, sends and unwraps gateway calls; one HTTP client per connector."""

    def __init__(self, *, api_url: str, app_key: str, app_secret: str, timeout: float = 10.0,
                 now: Any = None, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.api_url = api_url
        self.app_key = app_key
        self._secret = app_secret
        self._now = now
        self.timeout = timeout
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport)

    async def aclose(self) -> None:
        await self._client.aclose()

    def params(self, method: str, business: Mapping[str, Any], moment: datetime) -> dict[str, str]:
        """The signed form fields of one call."""
        fields = {"method": method, "app_key": self.app_key, "timestamp": beijing(moment),
                  "format": "json", "v": "1.0", "sign_method": "md5",
                  "360buy_param_json": json.dumps(business, separators=(",", ":"), ensure_ascii=False,
                                                  default=str)}
        fields["sign"] = sign(fields, self._secret)
        return fields

    async def call(self, method: str, business: Mapping[str, Any], moment: datetime) -> dict[str, Any]:
        """The business result (``code`` 200) of one call, or NetworkError with a one-line reason."""
        try:
            response = await self._client.post(self.api_url, data=self.params(method, business, moment))
        except httpx.TimeoutException:
            raise NetworkError(f"JD gateway: no answer within {self.timeout:g} s", transient=True) from None
        except httpx.HTTPError as exc:
            raise NetworkError(f"JD gateway unreachable: {type(exc).__name__}", transient=True) from None
        if response.status_code == 429 or response.status_code >= 500:
            raise NetworkError(f"JD gateway: HTTP {response.status_code}", transient=True)
        if response.status_code != 200:
            raise NetworkError(f"JD gateway: HTTP {response.status_code}")
        if len(response.content) > MAX_ANSWER:
            raise NetworkError("JD gateway: answer too large")
        return unwrap(method, response.content)


def unwrap(method: str, body: bytes) -> dict[str, Any]:
    """The business result of a gateway answer; NetworkError for an error or a malformed answer."""
    try:
        # Decimal: prices and fees come as JSON numbers; floats would lose fen.
        outer = json.loads(body, parse_float=Decimal)
    except (ValueError, RecursionError):
        raise NetworkError("JD gateway: the answer is not JSON") from None
    if not isinstance(outer, dict):
        raise NetworkError("JD gateway: the answer is not a JSON object")
    error = outer.get("error_response")
    if isinstance(error, dict):
        code = str(error.get("code", "?"))
        text = str(error.get("en_desc") or error.get("zh_desc") or "no description")[:200]
        raise NetworkError(f"JD gateway error {code}: {text}", transient=code in RATE_LIMITED,
                           code=code)
    wrapper = outer.get(method.replace(".", "_") + "_responce")
    field = RESULT_FIELDS.get(method, "queryResult")
    if not isinstance(wrapper, dict) or not isinstance(wrapper.get(field), str):
        raise NetworkError(f"JD gateway: no {field} in the answer to {method}")
    try:
        result = json.loads(wrapper[field], parse_float=Decimal)
    except (ValueError, RecursionError):
        raise NetworkError(f"JD gateway: {field} is not JSON") from None
    if not isinstance(result, dict):
        raise NetworkError(f"JD gateway: {field} is not a JSON object")
    result_code = result.get("code")
    if result_code != 200:
        message = str(result.get("message") or "no message")[:200]
        transient = isinstance(result_code, int) and result_code >= 500
        raise NetworkError(f"JD Union error {result_code}: {message}", transient=transient)
    return result
