"""Stars spent on paid broadcasts, as Telegram bills them (getStarTransactions).

Telegram lists the bot's Star transactions oldest first; each paid-broadcast fee is one whose
partner is ``telegram_api``. This keeps what it has read and asks only for the transactions
after it, so a /stats costs one short request however long the history is.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal
from typing import Any

NANO = 1_000_000_000
PAGE = 100


class StarsSpent:
    """The paid-broadcast fees this bot was charged: (time, nanostars) per transaction."""

    def __init__(self) -> None:
        self.offset = 0
        self.fees: list[tuple[datetime, int]] = []
        self._lock = asyncio.Lock()

    async def refresh(self, bot: Any) -> None:
        """Read the transactions Telegram added since the last call."""
        async with self._lock:
            while True:
                page = (await bot.get_star_transactions(offset=self.offset, limit=PAGE)).transactions
                for t in page:
                    partner = t.receiver
                    if partner is not None and partner.type == "telegram_api":
                        self.fees.append((t.date, t.amount * NANO + (t.nanostar_amount or 0)))
                self.offset += len(page)
                if len(page) < PAGE:
                    return

    def total(self, since: datetime | None) -> Decimal:
        """Stars spent since ``since`` (all time for None), exact."""
        nanos = sum(n for when, n in self.fees if since is None or when >= since)
        return Decimal(nanos) / NANO
