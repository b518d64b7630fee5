"""SIGTERM to a real ``kocbot run``: buffered clicks are written before it exits."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import func, select

from bot.config import parse_config
from bot.services import Services
from bot.services.promoters import Person
from bot.storage.db import Database
from bot.storage.models import Click
from tests.conftest import free_port
from tests.support.flow import feed_csv


async def test_sigterm_flushes_every_click(emulator, sqlite_url: str, tmp_path: Path) -> None:
    port = free_port()
    raw = {"telegram": {"token": emulator.token, "base_url": emulator.base_url},
           "database": {"url": sqlite_url},
           "web": {"port": port, "public_url": f"http://127.0.0.1:{port}"}}
    services = Services(config=parse_config(raw, env={}), db=Database.from_url(sqlite_url))
    services.catalog.import_feed(feed_csv("acme,S1,T,https://shop.example/1,9.00,10.00,10%,,,,,,,CNY"),
                                 filename="f.csv")
    services.promoters.register(Person(id=5, first_name="P"))
    link = services.tracking.direct_link(product_id=1, person=Person(id=5), promoters=services.promoters)
    config = tmp_path / "config.toml"
    config.write_text(f'[telegram]\ntoken = "{emulator.token}"\nbase_url = "{emulator.base_url}"\n'
                      f'[database]\nurl = "{sqlite_url}"\n[web]\nport = {port}\n'
                      f'public_url = "http://127.0.0.1:{port}"\n[metrics]\nport = 0\n')
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "-c", str(config)],
                            env={**os.environ, "PYTHONPATH": str(Path.cwd())}, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(100):
                try:
                    if (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            statuses = [(await http.get(f"http://127.0.0.1:{port}/c/{link.code}")).status_code
                        for _ in range(50)]
        proc.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(proc.wait, 30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert statuses == [302] * 50
    assert code == 0
    with services.db.transaction() as session:
        assert session.scalar(select(func.count(Click.id))) == 50
    services.db.dispose()
