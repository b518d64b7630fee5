"""/metrics is not served on the public port; it has its own listener, loopback by default."""

from __future__ import annotations

import httpx

from bot.config import parse_config
from tests.conftest import free_port


def test_the_metrics_listener_defaults_to_loopback() -> None:
    config = parse_config({}, env={})
    assert (config.metrics.host, config.metrics.port) == ("127.0.0.1", 9464)
    assert parse_config({"metrics": {"port": 0}}, env={}).metrics.port == 0


async def test_metrics_are_off_the_public_port(emulator, kocbot_factory) -> None:
    port = free_port()
    kocbot = await kocbot_factory(config={"metrics": {"port": port}})
    async with httpx.AsyncClient() as client:
        public = await client.get(f"{kocbot.config.web.public_url}/metrics")
        private = await client.get(f"http://127.0.0.1:{port}/metrics")
        other = await client.get(f"http://127.0.0.1:{port}/c/anything")
    assert public.status_code == 404
    assert private.status_code == 200 and "kocbot_clicks_dropped" in private.text
    assert other.status_code == 404  # the metrics listener serves nothing else
