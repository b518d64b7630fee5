"""Per-user flood control: a token bucket per user, with bounded memory."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable


class Throttle:
    """Allow ``burst`` actions at once and ``rate`` per second after that, per user."""

    def __init__(self, *, rate: float = 2.0, burst: int = 20, max_users: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.max_users = max_users
        self.clock = clock
        self._buckets: OrderedDict[int, tuple[float, float]] = OrderedDict()

    def allow(self, user_id: int) -> bool:
        """Take one token for the user; False when they are over the limit."""
        now = self.clock()
        tokens, last = self._buckets.pop(user_id, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        allowed = tokens >= 1.0
        self._buckets[user_id] = (tokens - 1.0 if allowed else tokens, now)
        if len(self._buckets) > self.max_users:
            self._buckets.popitem(last=False)  # forget the least recently seen user
        return allowed
