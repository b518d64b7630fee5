"""The HTTP side: Starlette routes, request decoding, and uvicorn running in the current loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .core import Core
from .dispatch import dispatch
from .models import ApiError, Call, UploadedFile, bad_request

UNAUTHORIZED = ApiError(401, "Unauthorized")


async def read_request(request: Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Query string + form/multipart/JSON body -> raw params and uploaded file parts."""
    raw: dict[str, Any] = dict(request.query_params)
    files: dict[str, UploadedFile] = {}
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        body = await request.body()
        if body:
            try:
                data = json.loads(body)
            except ValueError:
                raise bad_request("can't parse JSON body") from None
            if not isinstance(data, dict):
                raise bad_request("JSON body must be an object")
            raw.update(data)
    elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        # Telegram's own limits are checked per method; these only stop absurd requests.
        async with request.form(max_files=100, max_fields=1000,
                                max_part_size=16 * 1024 * 1024) as form:
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    files[key] = UploadedFile(await value.read(), value.filename,
                                              value.content_type)
                else:
                    raw[key] = value
    return raw, files


def build_app(core: Core) -> Starlette:
    """The ASGI app: /bot<token>/<method> and /file/bot<token>/<path>."""

    async def api(request: Request) -> Response:
        started = time.time()
        method = request.path_params["method"]
        if request.path_params["token"] != core.token:
            body = UNAUTHORIZED.payload()
            core.obs.calls.append(Call(method, {}, {}, 401, body, started))
            return JSONResponse(body, status_code=401)
        try:
            raw, files = await read_request(request)
        except ApiError as exc:
            core.violation(method, exc.reason, {})
            core.obs.calls.append(Call(method, {}, {}, exc.code, exc.payload(), started))
            return JSONResponse(exc.payload(), status_code=exc.code)
        name, status, body, params = await dispatch(core, method, raw, files,
                                                    request.is_disconnected)
        core.obs.calls.append(
            Call(name, params, {k: f.data for k, f in files.items()}, status, body, started)
        )
        return JSONResponse(body, status_code=status)

    async def download(request: Request) -> Response:
        if request.path_params["token"] != core.token:
            return JSONResponse(UNAUTHORIZED.payload(), status_code=401)
        stored = core.world.files.by_path.get(request.path_params["path"])
        if stored is None or stored.data is None:
            # Files "sent by URL" have no bytes: the emulator never fetches anything.
            body = {"ok": False, "error_code": 404, "description": "Not Found: file not found"}
            return JSONResponse(body, status_code=404)
        return Response(stored.data, media_type=stored.mime_type or "application/octet-stream")

    async def not_found(request: Request) -> Response:
        body = {"ok": False, "error_code": 404, "description": "Not Found"}
        return JSONResponse(body, status_code=404)

    routes = [
        Route("/bot{token}/{method}", api, methods=["GET", "POST"]),
        Route("/file/bot{token}/{path:path}", download, methods=["GET"]),
        Route("/{rest:path}", not_found, methods=["GET", "POST"]),
    ]
    return Starlette(routes=routes)


class _Server(uvicorn.Server):
    """uvicorn tuned for tests: no signal capture, and a stop that takes milliseconds."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.exit_event = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The host process (pytest, the demo) owns Ctrl-C; uvicorn must not re-raise it.
        yield

    async def main_loop(self) -> None:
        # uvicorn polls should_exit every 0.1 s; wake at once instead (tests stop a server each).
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864_000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.exit_event.wait(), 0.1)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # Same steps as uvicorn's shutdown, polling every 5 ms instead of sleeping 0.1 s+.
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.config.timeout_graceful_shutdown or 0)
        state = self.server_state
        while (state.connections or state.tasks) and loop.time() < deadline and not self.force_exit:
            await asyncio.sleep(0.005)
        for task in state.tasks:
            task.cancel()
        for server in self.servers:
            await server.wait_closed()


class HttpServer:
    """Runs the app with uvicorn as a task of the current event loop on 127.0.0.1:<free port>."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.port: int | None = None
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> int:
        """Bind a free loopback port, serve, and return the port once accepting."""
        # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose
        # proto says TCP, and without it every response waits ~40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            build_app(self.core), log_config=None, log_level="warning", access_log=False,
            lifespan="off", ws="none", http="h11", timeout_graceful_shutdown=2,
        )
        self._server = _Server(config)
        self._task = asyncio.get_running_loop().create_task(self._server.serve(sockets=[sock]))
        deadline = time.monotonic() + 10
        while not self._server.started:
            if self._task.done():
                self._task.result()  # re-raise the startup failure
                raise RuntimeError("emulator server exited during startup")
            if time.monotonic() > deadline:
                raise RuntimeError("emulator server did not start within 10 s")
            await asyncio.sleep(0.005)
        return self.port

    async def stop(self) -> None:
        """Ask uvicorn to exit; force it if open requests do not finish quickly."""
        server, task = self._server, self._task
        if server is None or task is None:
            return
        server.should_exit = True
        server.exit_event.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), 3)
        except TimeoutError:
            server.force_exit = True
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._server = self._task = None
