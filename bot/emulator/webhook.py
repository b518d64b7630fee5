"""Pushes queued updates to a webhook set by the bot (loopback addresses only)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from typing import Any

import httpx

from .core import Core

log = logging.getLogger(__name__)
RETRY_DELAYS = (0.05, 0.2, 0.5)  # "a reasonable amount" of retries, kept short for tests
_LOOPBACK_NAMES = {"localhost"}


def is_loopback(url: str) -> bool:
    """True if the URL points at this machine: the emulator must never reach the internet."""
    try:
        host = httpx.URL(url).host
    except (httpx.InvalidURL, TypeError):
        return False
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class WebhookSender:
    """A background task that delivers updates in order while a webhook is set."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        core.on_webhook_change = self.refresh

    def refresh(self) -> None:
        """Start the sender when a webhook appears; wake it on changes."""
        self._wake.set()
        if self.core.webhook is not None and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop delivering (the emulator is shutting down)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        core = self.core
        # trust_env=False: no proxy settings from the environment, connections stay local.
        async with httpx.AsyncClient(timeout=5.0, trust_env=False) as client:
            while core.webhook is not None and not core.closing.is_set():
                url = core.webhook["url"]
                pending = [u for u in core.world.updates if core.world.allowed(u)]
                if not pending or not is_loopback(url):
                    if pending:
                        core.webhook_error = (int(time.time()),
                                              "emulator delivers webhooks only to loopback hosts")
                    await self._idle()
                    continue
                update = pending[0]
                await self._deliver(client, update)
                # Delivered or given up: either way Telegram moves on to the next update.
                if update in core.world.updates:
                    core.world.updates.remove(update)

    async def _idle(self) -> None:
        event = self.core.world.update_event()
        self._wake.clear()
        waits = [asyncio.ensure_future(event.wait()), asyncio.ensure_future(self._wake.wait())]
        try:
            await asyncio.wait(waits, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()

    async def _deliver(self, client: httpx.AsyncClient, update: dict[str, Any]) -> bool:
        core = self.core
        for delay in (*RETRY_DELAYS, None):
            webhook = core.webhook
            if webhook is None:
                return False
            headers = {}
            if webhook.get("secret_token"):
                headers["X-Telegram-Bot-Api-Secret-Token"] = webhook["secret_token"]
            try:
                response = await client.post(webhook["url"], json=update, headers=headers)
                if 200 <= response.status_code < 300:
                    return True
                error = f"Wrong response from the webhook: {response.status_code} " \
                        f"{response.reason_phrase}"
            except httpx.HTTPError as exc:
                error = f"Connection failed: {exc.__class__.__name__}"
            core.webhook_error = (int(time.time()), error)
            log.debug("webhook delivery of update %s failed: %s", update["update_id"], error)
            if delay is None:
                return False
            await core.sleep(delay)
        return False
