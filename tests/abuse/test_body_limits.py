"""Request bodies are limited while they stream: /postback 64 KiB, /telegram 1 MiB, 413 before
the body is read whole. The memory test runs the web app in a uvicorn process of its own."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
SECRET = "hook-secret_123"
SERVER = textwrap.dedent("""
    import sys, uvicorn
    from bot.app import Kocbot
    from bot.config import parse_config
    port, db = int(sys.argv[1]), sys.argv[2]
    config = parse_config({"telegram": {"token": "123456:BODY-LIMIT-test"},
                           "database": {"url": db}, "metrics": {"port": 0},
                           "postback": {"secret": "s3cret-for-tests"},
                           "web": {"port": port, "public_url": f"http://127.0.0.1:{port}"}}, env={})
    uvicorn.run(Kocbot(config).web, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
""")


def rss_kib(pid: int) -> int:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def chunks(total: int, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """``total`` bytes in chunks: a chunked body, so no Content-Length announces its size."""
    block = b"a=" + b"x" * (size - 2)
    for _ in range(total // size):
        yield block


async def post_stream(url: str, total: int, headers: dict[str, str] | None = None) -> int | None:
    """POST a chunked body; the status, or None if the server hung up before answering."""
    async with httpx.AsyncClient(timeout=60) as client:
        try:
            response = await client.post(url, content=chunks(total), headers={
                "Content-Type": "application/x-www-form-urlencoded", **(headers or {})})
        except httpx.TransportError:
            return None
    return response.status_code


async def raw_head_only(port: int, path: str, length: int, headers: str = "") -> bytes:
    """Send only the request head, announcing ``length`` body bytes; the answer's first line."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {length}\r\n{headers}\r\n".encode())
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.readline(), timeout=5)
    finally:
        writer.close()


@pytest.fixture
def web_process(tmp_path: Path):
    """kocbot's web app served by uvicorn in a process of its own; yields (pid, port)."""
    port = free_port()
    db = f"sqlite:///{tmp_path / 'limits.db'}"
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port), db], cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            break
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError("the web process did not start") from None
            time.sleep(0.1)
    try:
        yield proc.pid, port
    finally:
        proc.terminate()
        proc.wait(10)


async def test_a_64_mib_chunked_postback_keeps_memory_flat(web_process) -> None:
    pid, port = web_process
    before = rss_kib(pid)
    status = await post_stream(f"http://127.0.0.1:{port}/postback", 64 * 1024 * 1024)
    grown = rss_kib(pid) - before
    assert status in (413, None)  # 413, or the server closed the connection after its 413
    assert grown < 32 * 1024, f"RSS grew by {grown} KiB"
    # And the server is still there.
    assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code in (200, 503)


async def test_content_length_is_checked_before_reading(web_process) -> None:
    _pid, port = web_process
    # No body follows: a server that waits to read it would never answer.
    assert b" 413 " in await raw_head_only(port, "/postback", 10**9)
    assert b" 413 " in await raw_head_only(port, "/postback", 64 * 1024 + 1)


async def test_a_postback_just_over_the_limit_is_refused(emulator, kocbot) -> None:
    url = f"{kocbot.config.web.public_url}/postback"
    assert await post_stream(url, 128 * 1024) in (413, None)
    async with httpx.AsyncClient() as client:
        response = await client.post(url, content=b"x" * (64 * 1024 + 1),
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 413


async def test_the_webhook_body_is_limited_to_one_mib(emulator, kocbot_factory) -> None:
    kocbot = await kocbot_factory(config={"telegram": {"mode": "webhook", "webhook_secret": SECRET}})
    url = f"{kocbot.config.web.public_url}/telegram"
    header = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    assert await post_stream(url, 4 * 1024 * 1024, header) in (413, None)
    assert b" 413 " in await raw_head_only(kocbot.config.web.port, "/telegram", 1024 * 1024 + 1,
                                           f"X-Telegram-Bot-Api-Secret-Token: {SECRET}\r\n")
    async with httpx.AsyncClient() as client:
        big = await client.post(url, content=b" " * (1024 * 1024 + 1), headers=header)
        fine = await client.post(url, json={"update_id": 5}, headers=header)
    assert (big.status_code, fine.status_code) == (413, 200)
