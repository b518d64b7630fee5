"""Test configs: the bot talks to the emulator, the web server listens on a free port."""

from __future__ import annotations

from typing import Any

from bot.config import parse_config

ADMIN_ID = 900
POSTBACK_SECRET = "test-postback-secret"


def make_config(*, emulator: Any, db_url: str, port: int, **sections: dict[str, Any]):
    """A validated Config for tests."""
    raw: dict[str, Any] = {
        "telegram": {"token": emulator.token, "base_url": emulator.base_url, "admins": [ADMIN_ID]},
        "database": {"url": db_url},
        "web": {"host": "127.0.0.1", "port": port, "public_url": f"http://127.0.0.1:{port}"},
        "schedule": {"timezone": "Asia/Shanghai", "default_times": ["09:00", "20:00"]},
        "postback": {"secret": POSTBACK_SECRET},
        # Loopback image servers stand in for a catalog's own network.
        "card": {"locale": "en", "allow_private_image_urls": True},
        # Off: parallel tests would fight over 9464; tests of /metrics pick a free port.
        "metrics": {"port": 0},
    }
    for name, values in sections.items():
        raw.setdefault(name, {}).update(values)
    return parse_config(raw, env={})
