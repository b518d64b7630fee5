"""Updates of different users are handled at once; one user's updates in the order they came.

With ``concurrent_updates`` PTB starts every update's handlers at once. A handler that waits
for the database (``Database.run`` in a worker thread on PostgreSQL) could then let a user's
later message overtake an earlier one: ``/start`` answered after the ``/import`` sent right
behind it. Each user's updates therefore wait for that user's previous one; other users'
updates, such as a burst of Buy taps from a thousand members, still run side by side.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class PerUserOrder(BaseUpdateProcessor):
    """Up to ``max_concurrent_updates`` at once, in arrival order per user."""

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        # user id → [the user's lock, updates holding or awaiting it]; dropped at zero.
        self._users: dict[int, list[Any]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Await the update's handlers after the same user's earlier updates."""
        user = update.effective_user if isinstance(update, Update) else None
        if user is None:
            await coroutine
            return
        entry = self._users.get(user.id)
        if entry is None:
            entry = self._users[user.id] = [asyncio.Lock(), 0]
        entry[1] += 1
        try:
            async with entry[0]:  # asyncio.Lock wakes its waiters first come, first served
                await coroutine
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                del self._users[user.id]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""
