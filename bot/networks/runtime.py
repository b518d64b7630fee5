"""The networks of one running kocbot: the scheduled syncs and the Buy-time promotion links."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.networks import connector_for, enabled
from bot.networks.base import NetworkError
from bot.networks.sync import NetworkSync
from bot.services import Services

log = logging.getLogger(__name__)
LINK_TIMEOUT = 5.0  # seconds: Buy never waits longer than this for a network's link API


class NetworkRuntime:
    """One NetworkSync per enabled network; nothing at all when none is enabled."""

    def __init__(self, services: Services) -> None:
        self.syncs: dict[str, NetworkSync] = {}
        for name in enabled(services.config):
            connector = connector_for(name, services.config, now=services.now, timeout=LINK_TIMEOUT)
            self.syncs[connector.name] = NetworkSync(connector=connector, services=services)
        self.merchants = frozenset(self.syncs)  # catalog merchants whose links a network makes
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def promotion_url(self, merchant: str, link_id: int) -> str | None:
        """The member's promotion link, or None when the network cannot make it in time."""
        try:
            return await asyncio.wait_for(self.syncs[merchant].link_for(link_id), timeout=LINK_TIMEOUT)
        except (NetworkError, TimeoutError) as exc:
            log.warning("promotion link failed", extra={"network": merchant, "reason": str(exc)})
            return None

    def start(self) -> None:
        """Poll every enabled network every ``poll_seconds`` (goods and order rows)."""
        self._stop.clear()
        for name, sync in self.syncs.items():
            every = getattr(sync.services.config.networks, name).poll_seconds
            self._tasks.append(asyncio.create_task(sync.run_forever(self._stop, every=every),
                                                   name=f"network-{name}"))

    async def stop(self) -> None:
        """Stop the polls (a poll in flight is cancelled; its window is polled again next time)."""
        self._stop.set()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        for sync in self.syncs.values():
            await sync.connector.aclose()
