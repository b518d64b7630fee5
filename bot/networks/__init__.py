"""Affiliate network connectors: one module per network (bot/networks/jd.py for JD Union),
each implementing bot/networks/base.py's ``Connector``; bot/networks/sync.py runs any of them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.config import Config
from bot.networks.base import Connector

NAMES = ("jd",)


def connector_for(name: str, config: Config, *, now: Callable[[], datetime] | None = None,
                  timeout: float = 10.0) -> Connector:
    """The connector of network ``name`` built from its ``[networks.<name>]`` settings."""
    if name == "jd":
        from bot.networks.jd import JdConnector

        return JdConnector(config.networks.jd, now=now, timeout=timeout)
    raise ValueError(f"unknown network {name!r}; known: {', '.join(NAMES)}")


def enabled(config: Config) -> list[str]:
    """The networks switched on in config."""
    return [name for name in NAMES if getattr(config.networks, name).enabled]
