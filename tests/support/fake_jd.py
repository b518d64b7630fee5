"""A fake JD open-platform gateway (``routerjson``) speaking JD Union's public protocol, over
real HTTP (Starlette + uvicorn on a free loopback port).

It checks what the real gateway checks: every system parameter (``method``, ``app_key``,
``timestamp`` within 6 minutes, ``format``, ``v=1.0``, ``sign_method``, ``sign``) and the
MD5 signature, computed here independently of bot/networks/jd_api.py. It pages goods (30
a page at most) and order rows (200 at most, ``hasMore``), refuses order windows over one
hour, answers rate limits as gateway error 2 ("App Call Limited") and system errors as a
business code 500, and its rows change between polls because tests change them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

BEIJING = ZoneInfo("Asia/Shanghai")
FMT = "%Y-%m-%d %H:%M:%S"
GOODS = "jd.union.open.goods.query"
LINK = "jd.union.open.promotion.bysubunionid.get"
ROWS = "jd.union.open.order.row.query"
RESULT = {GOODS: "queryResult", ROWS: "queryResult", LINK: "getResult"}
SYSTEM = ("method", "app_key", "timestamp", "format", "v", "sign_method", "sign", "360buy_param_json")


def bj(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime(FMT)


def gateway_error(code: str, zh: str, en: str) -> Response:
    return JSONResponse({"error_response": {"code": code, "zh_desc": zh, "en_desc": en}})


class FakeJd:
    """The gateway's state: accounts, goods, order rows, scripted faults and a request log."""

    def __init__(self, *, app_key: str = "test-app-key", app_secret: str = "test-app-secret",  # noqa: S107
                 now: Callable[[], datetime] | None = None) -> None:
        self.app_key = app_key
        self.app_secret = app_secret
        self.now = now or (lambda: datetime.now(UTC))
        self.goods: list[dict[str, Any]] = []
        self.rows: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.faults: dict[str, list[str]] = {}  # method → kinds to answer next, in order
        self.link_delay = 0.0
        self.stall: tuple[str, int] | None = None  # (method, pageIndex) to hold open
        self.stalled = asyncio.Event()
        self.release = asyncio.Event()
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/routerjson"

    # -- test helpers ------------------------------------------------------------------------
    def add_goods(self, sku: int, **fields: Any) -> dict[str, Any]:
        item = {"skuId": sku, "skuName": f"京东好物 {sku}", "materialUrl": f"item.jd.com/{sku}.html",
                "priceInfo": {"price": 99.0, "lowestPrice": 89.0, "lowestCouponPrice": 79.9},
                "commissionInfo": {"commission": 7.99, "commissionShare": 10},
                "imageInfo": {"imageList": [{"url": f"https://img14.360buyimg.com/{sku}.jpg"}]},
                "categoryInfo": {"cid1Name": "家用电器", "cid3Name": "电水壶"},
                "shopInfo": {"shopName": f"店铺{sku % 7}", "shopId": 1000 + sku % 7},
                "couponInfo": {"couponList": [{"link": f"https://coupon.m.jd.com/{sku}", "isBest": 1,
                                               "discount": 10, "quota": 50}]}}
        item.update(fields)
        self.goods.append(item)
        return item

    def set_row(self, order_id: int, sku_id: int, *, valid_code: int, modified: datetime,
                sub_union_id: str = "", price: str = "128.50", num: int = 1, returned: int = 0,
                estimate_fee: str = "16.06", actual_fee: str = "0", finish: str = "",
                site_id: int = 0, ordered: datetime | None = None) -> None:
        """Create or change an order row (the next poll sees it by its modification time)."""
        key = f"{order_id}-{sku_id}"
        row = self.rows.get(key, {})
        price_value = float(price)
        row.update({
            "id": key, "orderId": order_id, "parentId": 0, "skuId": sku_id, "skuName": f"sku {sku_id}",
            "skuNum": num, "skuReturnNum": returned, "skuFrozenNum": 0, "price": price_value,
            "estimateCosPrice": price_value * num, "estimateFee": float(estimate_fee),
            "actualCosPrice": price_value * num if valid_code == 17 else 0.0,
            "actualFee": float(actual_fee), "validCode": valid_code,
            "orderTime": row.get("orderTime") or bj(ordered or modified), "finishTime": finish,
            "modifyTime": bj(modified), "subUnionId": sub_union_id, "siteId": site_id,
            "unionId": 1000001, "positionId": 0, "payMonth": 0,
        })
        self.rows[key] = row

    def fail_next(self, method: str, *kinds: str) -> None:
        """Answer the next calls of ``method`` with faults: rate_limit, system, http500,
        not_json, no_envelope, result_not_json, data_not_object, bad_row."""
        self.faults.setdefault(method, []).extend(kinds)

    def calls_of(self, method: str) -> list[dict[str, Any]]:
        return [business for name, business in self.calls if name == method]

    # -- server ------------------------------------------------------------------------------
    async def start(self) -> None:
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        app = Starlette(routes=[Route("/routerjson", self._handle, methods=["GET", "POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self.release.set()
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task

    # -- protocol ----------------------------------------------------------------------------
    def _sign(self, params: dict[str, str]) -> str:
        body = "".join(f"{k}{params[k]}" for k in sorted(params) if k != "sign" and params[k])
        text = self.app_secret + body + self.app_secret
        return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest().upper()

    async def _handle(self, request: Request) -> Response:
        params = dict(request.query_params)
        if request.method == "POST":
            params.update({k: v for k, v in (await request.form()).items() if isinstance(v, str)})
        for name, code, en in (("v", "4", "Missing Version"), ("timestamp", "7", "Missing Timestamp"),
                               ("sign", "11", "Missing Signature"), ("method", "14", "Missing Method"),
                               ("app_key", "16", "Missing App Key")):
            if not params.get(name):
                return gateway_error(code, "缺少参数", en)
        if params["v"] != "1.0":
            return gateway_error("5", "不支持的版本号", "Unsupported Version")
        try:
            sent = datetime.strptime(params["timestamp"], FMT).replace(tzinfo=BEIJING)
        except ValueError:
            return gateway_error("8", "非法的时间戳参数", "Invalid Timestamp")
        if abs(sent - self.now()) > timedelta(minutes=6):
            return gateway_error("8", "非法的时间戳参数", "Invalid Timestamp")
        if params["app_key"] != self.app_key:
            return gateway_error("19", "无效的app_key", "Invalid App Key")
        if params.get("format", "json") != "json" or params.get("sign_method", "md5") != "md5":
            return gateway_error("13", "不支持的签名方法或格式", "Unsupported Sign Method or Format")
        unknown = [k for k in params if k not in SYSTEM and k != "access_token"]
        if unknown or params["sign"] != self._sign(params):
            return gateway_error("12", "无效签名", "Invalid Signature")
        method = params["method"]
        if method not in RESULT:
            return gateway_error("15", "不存在的方法名", "Invalid Method")
        try:
            business = json.loads(params.get("360buy_param_json") or "{}")
        except ValueError:
            return self._result(method, {"code": 400, "message": "360buy_param_json is not JSON"})
        self.calls.append((method, business))
        faults = self.faults.get(method)
        if faults:
            answer = self._fault(method, faults.pop(0))
            if answer is not None:
                return answer
        if method == GOODS:
            return self._result(method, self._goods(business.get("goodsReqDTO") or {}))
        if method == LINK:
            if self.link_delay:
                await asyncio.sleep(self.link_delay)
            return self._result(method, self._link(business.get("promotionCodeReq") or {}))
        request_page = (business.get("orderReq") or {}).get("pageIndex")
        if self.stall == (method, request_page):
            self.stall = None
            self.stalled.set()
            await self.release.wait()
        return self._result(method, self._rows(business.get("orderReq") or {}))

    def _fault(self, method: str, kind: str) -> Response | None:
        if kind == "rate_limit":
            return gateway_error("2", "限制时间内调用失败次数", "App Call Limited")
        if kind == "system":
            return self._result(method, {"code": 500, "message": "系统异常，请稍后重试"})
        if kind == "http500":
            return PlainTextResponse("upstream error", status_code=502)
        if kind == "not_json":
            return PlainTextResponse("<html>maintenance</html>")
        if kind == "no_envelope":
            return JSONResponse({"something_else": {}})
        if kind == "result_not_json":
            envelope = method.replace(".", "_") + "_responce"
            return JSONResponse({envelope: {"code": "0", RESULT[method]: "{oops"}})
        if kind == "data_not_object":
            return self._result(method, {"code": 200, "message": "success", "data": "rows", "hasMore": False})
        if kind == "bad_row":
            return self._result(method, {"code": 200, "message": "success", "hasMore": False,
                                         "data": [{"orderId": "x"}, 7, {"skuId": 1}]})
        return None

    def _result(self, method: str, result: dict[str, Any]) -> Response:
        inner = json.dumps({**result, "requestId": "fake"}, ensure_ascii=False)
        return JSONResponse({method.replace(".", "_") + "_responce": {"code": "0", RESULT[method]: inner}})

    def _goods(self, req: dict[str, Any]) -> dict[str, Any]:
        page, size = req.get("pageIndex", 1), req.get("pageSize", 20)
        if not isinstance(page, int) or not isinstance(size, int) or page < 1 or not 1 <= size <= 30:
            return {"code": 400, "message": "pageIndex from 1, pageSize 1-30"}
        keyword = req.get("keyword") or ""
        found = [g for g in self.goods if keyword in g["skuName"]]
        return {"code": 200, "message": "success", "totalCount": len(found),
                "data": found[(page - 1) * size: page * size]}

    def _link(self, req: dict[str, Any]) -> dict[str, Any]:
        material, sub = req.get("materialId") or "", req.get("subUnionId") or ""
        if not material:
            return {"code": 400, "message": "materialId is required"}
        if len(sub) > 80 or not all(c.isascii() and (c.isalnum() or c in "_-") for c in sub):
            return {"code": 400, "message": "subUnionId: letters, digits, _ and -, at most 80"}
        digest = hashlib.sha256(f"{material}|{sub}".encode()).hexdigest()[:10]
        return {"code": 200, "message": "success",
                "data": {"shortURL": f"https://u.jd.com/{digest}",
                         "clickURL": f"https://union-click.jd.com/jdc?e=&p={digest}"}}

    def _rows(self, req: dict[str, Any]) -> dict[str, Any]:
        try:
            start = datetime.strptime(req["startTime"], FMT).replace(tzinfo=BEIJING)
            end = datetime.strptime(req["endTime"], FMT).replace(tzinfo=BEIJING)
            page, size, kind = int(req["pageIndex"]), int(req["pageSize"]), int(req["type"])
        except (KeyError, TypeError, ValueError):
            return {"code": 400, "message": "orderReq needs pageIndex, pageSize, type, startTime, endTime"}
        if end < start or end - start > timedelta(hours=1):
            return {"code": 400, "message": "startTime and endTime must be at most 1 hour apart"}
        if not 1 <= size <= 200 or page < 1 or kind not in (1, 2, 3):
            return {"code": 400, "message": "pageSize 1-200, pageIndex from 1, type 1, 2 or 3"}
        field = {1: "orderTime", 2: "finishTime", 3: "modifyTime"}[kind]
        chosen = sorted((r for r in self.rows.values() if r[field]
                         and start <= datetime.strptime(r[field], FMT).replace(tzinfo=BEIJING) <= end),
                        key=lambda r: (r[field], r["id"]))
        data = chosen[(page - 1) * size: page * size]
        return {"code": 200, "message": "success", "data": data, "hasMore": page * size < len(chosen)}
