"""The click writer in a process of its own (``[web] click_writer = "process"``).

A web process answers every redirect on one event loop. With the batch writer in a thread
beside it, each batch's Python work (building rows, the driver, the transaction) held the GIL
that loop needs, and the two traded it at the interpreter's 5 ms switch interval: fewer
redirects a second and a long tail (docs/SCALING.md, "Clicks"). Here the loop only pickles a
batch into a socket and awaits the child's one-line answer; the child, with its own
interpreter, writes the batch in one transaction (``TrackingService.save_clicks``, late
attribution included) and answers.

``ClickWriterProcess.write`` is a ``ClickBuffer``'s write: it returns when the batch is
committed, or raises, and the buffer keeps the batch and tries again, as with the thread. A
child that died (killed, out of memory) is started again for the next try. Each batch carries
the web process's clock reading, so the child decides late attribution at the same moment
the web process would have.

The child is ``python -m bot.web.click_writer FD``, started with ``subprocess``: it does not
depend on how the web process was started (``multiprocessing``'s spawn would import the
parent's main script again). Messages both ways are a 4-byte big-endian length and a pickle,
the framing of ``multiprocessing.connection.Connection``, which the child uses."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.services.tracking import ClickRecord

if TYPE_CHECKING:
    from collections.abc import Callable
    from multiprocessing.connection import Connection

    from bot.config import Config

log = logging.getLogger(__name__)
READY = "ready"
START_TIMEOUT = 60.0  # seconds for a child to import kocbot and connect to the database
# The folder holding the ``bot`` package: the child imports this same code.
CODE_ROOT = str(Path(__file__).resolve().parents[2])


class ClickWriterError(RuntimeError):
    """The child could not write a batch (its one-line reason), or is gone."""


class ClickWriterProcess:
    """Writes batches of clicks in a child process, one batch at a time.

    The parent's end of the socket pair is an asyncio stream: a batch larger than the
    socket's buffer is written as the child reads it, and the loop never blocks on it (the
    child runs at a lower priority, so a blocking write would wait on it)."""

    def __init__(self, config: Config, now: Callable[[], datetime]) -> None:
        self._config = config
        self._now = now
        self._lock = asyncio.Lock()
        self._stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self._child: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The child's process id while one runs."""
        return self._child.pid if self._child is not None else None

    async def start(self) -> None:
        """Start the child now (at start-up) rather than at the first batch."""
        async with self._lock:
            await self._running()

    async def write(self, batch: Sequence[ClickRecord]) -> None:
        """Commit ``batch`` in the child; raise ``ClickWriterError`` when it did not."""
        async with self._lock:
            reader, writer = await self._running()
            try:
                await send(writer, (self._now(), list(batch)))
                answer = await receive(reader)
            except (EOFError, OSError) as exc:
                await self._reap()
                raise ClickWriterError(f"click writer process gone ({type(exc).__name__})") from exc
            if answer:
                raise ClickWriterError(answer)

    async def _running(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._stream is not None and self._child is not None and self._child.poll() is None:
            return self._stream
        await self._reap()
        ours, theirs = socket.socketpair()
        with theirs:
            path = os.pathsep.join(p for p in (CODE_ROOT, os.environ.get("PYTHONPATH")) if p)
            self._child = subprocess.Popen(  # noqa: S603 - this interpreter, this module
                [sys.executable, "-m", "bot.web.click_writer", str(theirs.fileno())],
                pass_fds=[theirs.fileno()], env={**os.environ, "PYTHONPATH": path},
                stdin=subprocess.DEVNULL)
        self._stream = await asyncio.open_unix_connection(sock=ours)
        try:
            await send(self._stream[1], self._config)
            hello = await asyncio.wait_for(receive(self._stream[0]), START_TIMEOUT)
        except (EOFError, OSError, TimeoutError) as exc:
            await self._reap()
            raise ClickWriterError(f"click writer process did not start ({type(exc).__name__})") from exc
        if hello != READY:
            await self._reap()
            raise ClickWriterError(f"click writer process did not start: {hello}")
        log.info("click writer process started", extra={"pid": self._child.pid})
        return self._stream

    async def _reap(self) -> None:
        if self._stream is not None:
            self._stream[1].close()
        child, self._stream, self._child = self._child, None, None
        if child is None:
            return
        try:
            await asyncio.to_thread(child.wait, 5)
        except subprocess.TimeoutExpired:
            child.kill()
            await asyncio.to_thread(child.wait)

    async def close(self) -> None:
        """Let the child finish and wait for it (after the buffer's last flush)."""
        async with self._lock:
            if self._stream is not None:
                with contextlib.suppress(OSError):
                    await send(self._stream[1], None)
            await self._reap()


async def send(writer: asyncio.StreamWriter, message: object) -> None:
    """One message, framed as ``multiprocessing.connection.Connection.recv`` reads it."""
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    writer.write(struct.pack("!i", len(payload)) + payload)
    await writer.drain()


async def receive(reader: asyncio.StreamReader) -> str:
    """The child's next answer, framed as ``Connection.send`` writes it."""
    size, = struct.unpack("!i", await reader.readexactly(4))
    answer = pickle.loads(await reader.readexactly(size))  # noqa: S301 - our own child
    return answer if isinstance(answer, str) else repr(answer)


def serve(conn: Connection) -> None:
    """The child: read the config, then write each batch it is handed in one transaction and
    answer "" or the reason."""
    from bot.config import secret_values
    from bot.logs import redact_secrets, setup_logging
    from bot.services.container import Services
    from bot.storage.db import Database

    # The web process decides when this one ends (None, or its end of the socket closing):
    # a Ctrl-C or a service manager's SIGTERM to the whole group must not stop it before the
    # web process's shutdown flush has handed over the last batch.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    config: Config = conn.recv()
    # Second in line for the CPU: a redirect waits on the event loop, a batch on nobody.
    os.nice(10)
    setup_logging(json_lines=True)
    redact_secrets(secret_values(config))
    clock: list[datetime] = []
    try:
        db = Database.from_url(config.database.url)
        services = Services(config=config, db=db, now=lambda: clock[-1])
    except Exception as exc:  # noqa: BLE001 - told to the parent, which logs it and retries
        conn.send(reason(exc))
        return
    conn.send(READY)
    try:
        while True:
            try:
                message = conn.recv()
            except EOFError:
                return  # the web process is gone; its buffer went with it
            if message is None:
                return
            now, batch = message
            clock[:] = [now]
            try:
                services.tracking.save_clicks(batch, orders=services.orders,
                                              promoters=services.promoters)
            except Exception as exc:  # noqa: BLE001 - the parent logs it and keeps the batch
                conn.send(reason(exc))
            else:
                conn.send("")
    finally:
        db.dispose()


def reason(exc: Exception) -> str:
    """One line for the parent's log: the error's kind and the first line of its text."""
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first}"[:300]


if __name__ == "__main__":
    from multiprocessing.connection import Connection as _Connection

    serve(_Connection(int(sys.argv[1])))
