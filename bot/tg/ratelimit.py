"""Telegram's flood limits on our side: 30 messages/s overall and 20/min per group.

Why not PTB's ``AIORateLimiter``: its overall leaky bucket lets a full burst through on top of
the steady rate, so a strict sliding window (Telegram's, and the emulator's) answers 429 at the
start of every broadcast. Overall, this limiter counts the sliding window Telegram counts and
paces sends evenly, with a small margin for jitter. Per group it keeps PTB's leaky bucket (20,
then one every 3 s), so replies in a busy group wait seconds rather than a minute. And it lets
the sender *reserve* a slot before it marks a post ``sending`` (see bot/tg/sender.py): a post is
never recorded as started while it is still waiting for its turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)
RESERVED = -1  # rate_limit_args of a request whose slot the sender already took


def retry_seconds(exc: RetryAfter) -> float:
    """``retry_after`` as seconds, whether PTB gives an int or a timedelta."""
    value = exc._retry_after  # noqa: SLF001 - the public property warns about its type change
    return value.total_seconds()


def is_group(chat_id: Any) -> bool:
    """Telegram's per-group limit applies to groups and channels: negative ids and @names."""
    with contextlib.suppress(TypeError, ValueError):
        chat_id = int(chat_id)
    return isinstance(chat_id, str) or (isinstance(chat_id, int) and chat_id < 0)


class Window:
    """Times of the last ``limit`` events within ``period`` seconds."""

    __slots__ = ("limit", "period", "times")

    def __init__(self, limit: int, period: float) -> None:
        self.limit, self.period = limit, period
        self.times: deque[float] = deque()

    def wait(self, now: float) -> float:
        """Seconds until one more event fits (0 = now)."""
        while self.times and self.times[0] <= now - self.period:
            self.times.popleft()
        if len(self.times) < self.limit:
            return 0.0
        return self.times[len(self.times) - self.limit] + self.period - now


class Bucket:
    """A leaky bucket: ``capacity`` at once, then one every ``period / capacity`` seconds."""

    __slots__ = ("capacity", "rate", "level", "last")

    def __init__(self, capacity: int, period: float) -> None:
        self.capacity, self.rate = capacity, capacity / period
        self.level, self.last = 0.0, 0.0

    def wait(self, now: float) -> float:
        """Seconds until one more event fits (0 = now)."""
        self.level = max(0.0, self.level - (now - self.last) * self.rate)
        self.last = now
        return 0.0 if self.level + 1 <= self.capacity else (self.level + 1 - self.capacity) / self.rate

    def add(self) -> None:
        self.level += 1


class SendLimiter(BaseRateLimiter[int]):
    """Sliding windows overall and per group; a 429 pauses every request for retry_after."""

    def __init__(self, *, per_second: int = 30, per_group_per_minute: int = 20,
                 margin: float = 0.05, max_retries: int = 2,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.overall = Window(per_second, 1.0 + margin)
        # Evenly paced, not in bursts: a burst at each window's start plus a little network
        # jitter spills into the next window; paced sends tolerate jitter up to one interval.
        self.interval = (1.0 + margin) / per_second
        self.next_at = 0.0
        self.group_limit, self.group_period = per_group_per_minute, 60.0 + margin
        # Per group a leaky bucket, as PTB's: a busy group's command replies wait seconds, not
        # a minute. Scheduled cards are a minute apart anyway (posting.py), so they never queue.
        self.groups: dict[int | str, Bucket] = {}
        self.max_retries = max_retries
        self.clock = clock
        self.paused_until = 0.0
        self.hits_429 = 0

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    def _group(self, chat_id: int | str) -> Bucket:
        bucket = self.groups.get(chat_id)
        if bucket is None:
            if len(self.groups) > 4096:  # forget groups whose bucket ran empty
                now = self.clock()
                for key in [k for k, b in self.groups.items() if b.wait(now) == 0 and b.level == 0]:
                    del self.groups[key]
            bucket = self.groups[chat_id] = Bucket(self.group_limit, self.group_period)
        return bucket

    def try_take(self, chat_id: int | str | None) -> float:
        """Take a slot for a message to ``chat_id`` now and return 0, or return the wait."""
        now = self.clock()
        if now < self.paused_until:
            return self.paused_until - now
        group = self._group(chat_id) if chat_id is not None and is_group(chat_id) else None
        wait = max(self.overall.wait(now), group.wait(now) if group else 0.0, self.next_at - now)
        if wait > 0:
            return wait
        self.next_at = now + self.interval
        self.overall.times.append(now)
        if group is not None:
            group.add()
        return 0.0

    def group_wait(self, chat_id: int | str) -> float:
        """How long a group must wait for its per-minute limit (no slot taken)."""
        return self._group(chat_id).wait(self.clock()) if is_group(chat_id) else 0.0

    async def take(self, chat_id: int | str | None) -> None:
        """Wait for a slot and take it."""
        while (wait := self.try_take(chat_id)) > 0:
            await asyncio.sleep(wait)

    def hit(self, exc: RetryAfter) -> None:
        """Telegram said 429: hold every request for retry_after (it is a bot-wide penalty)."""
        self.hits_429 += 1
        self.paused_until = max(self.paused_until, self.clock() + retry_seconds(exc) + 0.1)

    async def process_request(
        self, callback: Callable[..., Coroutine[Any, Any, Any]], args: Any, kwargs: dict[str, Any],
        endpoint: str, data: dict[str, Any], rate_limit_args: int | None,
    ) -> Any:
        """Every Bot API call passes here; sends that reserved a slot go straight through."""
        chat_id = data.get("chat_id")
        reserved = rate_limit_args == RESERVED
        retries = 0 if reserved else (rate_limit_args or self.max_retries)
        for attempt in range(retries + 1):
            if not reserved and chat_id is not None:
                await self.take(chat_id)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                self.hit(exc)
                if attempt == retries:
                    raise
                log.info("429 from Telegram; retrying", extra={"endpoint": endpoint})
        raise AssertionError("unreachable")
