"""Faults on demand: flood-control limits (429) and injected errors, timeouts and migrations."""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from .models import EmulatorError

ERRORS = ("5xx", "timeout", "429", "403", "chat_not_found", "migrate", "thread_not_found")
DEFAULT_TIMEOUT_DELAY = 30.0


@dataclass
class Injection:
    """One armed fault; `times` counts down as matching requests consume it."""

    error: str
    method: str | None
    chat_id: int | str | None
    times: int
    retry_after: int
    delay: float
    deliver: bool

    def matches(self, method: str, chat_id: Any) -> bool:
        """Does this fault apply to a request? Method-less faults never hit getUpdates polls."""
        if self.method is not None:
            if self.method.lower() != method.lower():
                return False
        elif method == "getUpdates":
            # An unscoped fault would otherwise be swallowed by the long poll.
            return False
        return self.chat_id is None or str(self.chat_id) == str(chat_id)


class FaultPlan:
    """The queue of armed injections, consumed first-armed first."""

    def __init__(self) -> None:
        self.injections: list[Injection] = []

    def arm(
        self,
        error: str,
        *,
        method: str | None,
        chat_id: int | str | None,
        times: int,
        retry_after: int,
        delay: float | None,
        deliver: bool,
    ) -> Injection:
        """Validate and queue an injection."""
        if error not in ERRORS:
            raise EmulatorError(f"unknown fault {error!r}; use one of {', '.join(ERRORS)}")
        if times < 1:
            raise EmulatorError("times must be >= 1")
        if delay is None:
            delay = DEFAULT_TIMEOUT_DELAY if error == "timeout" else 0.0
        injection = Injection(error, method, chat_id, times, max(1, int(retry_after)), delay,
                              deliver)
        self.injections.append(injection)
        return injection

    def take(self, method: str, chat_id: Any) -> Injection | None:
        """Consume one use of the first injection that matches the request."""
        for injection in self.injections:
            if injection.matches(method, chat_id):
                injection.times -= 1
                if injection.times <= 0:
                    self.injections.remove(injection)
                return injection
        return None

    def clear(self) -> None:
        """Disarm everything."""
        self.injections.clear()


PAID_PER_SECOND = 1000
# 0.1 Star per paid message, kept in tenths of a Star so that sums stay exact.
TENTHS_PER_PAID_MESSAGE = 1


class RateLimiter:
    """Sliding-window counters of sent messages: overall/s, per group/min, per chat/s.

    A message with ``allow_paid_broadcast`` may go up to ``paid_per_second`` (Bot API: "up to 1000
    messages per second ... for a fee of 0.1 Telegram Stars per message"); only the messages over
    the free ``per_second`` in the last second are billed (the Bot FAQ's rule, and what the Bot
    API's TransactionPartnerTelegramApi counts: "requests that exceeded regular limits").
    """

    def __init__(self) -> None:
        self.enabled = False
        self.per_second: int | None = 30
        self.paid_per_second: int | None = PAID_PER_SECOND
        self.per_group_per_minute: int | None = 20
        self.per_chat_per_second: int | None = None
        self._overall: deque[float] = deque()
        self._groups: dict[int | str, deque[float]] = {}
        self._chats: dict[int | str, deque[float]] = {}

    def configure(
        self,
        enabled: bool,
        per_second: int | None,
        per_group_per_minute: int | None,
        per_chat_per_second: int | None,
    ) -> None:
        """Set the limits; counters restart so earlier traffic does not leak into a test."""
        self.enabled = enabled
        self.per_second = per_second
        self.per_group_per_minute = per_group_per_minute
        self.per_chat_per_second = per_chat_per_second
        self.reset()

    def reset(self) -> None:
        """Forget all counted messages."""
        self._overall.clear()
        self._groups.clear()
        self._chats.clear()

    def retry_after(self, chat_id: int | str, now: float | None = None, *,
                    paid: bool = False) -> int | None:
        """Seconds until a message to chat_id would be allowed, or None if it is allowed now."""
        if not self.enabled:
            return None
        now = time.monotonic() if now is None else now
        waits = [
            _wait(self._overall, self.paid_per_second if paid else self.per_second, 1.0, now),
            _wait(self._chats.get(chat_id), self.per_chat_per_second, 1.0, now),
        ]
        if _is_group(chat_id):
            waits.append(_wait(self._groups.get(chat_id), self.per_group_per_minute, 60.0, now))
        worst = max((w for w in waits if w is not None), default=None)
        return None if worst is None else max(1, math.ceil(worst))

    def beyond_free(self, now: float | None = None) -> bool:
        """Whether the free per-second budget is used up now (a paid message is then billed)."""
        if not self.enabled or not self.per_second:
            return False
        return _wait(self._overall, self.per_second, 1.0,
                     time.monotonic() if now is None else now) is not None

    def record(self, chat_id: int | str, now: float | None = None) -> None:
        """Count one delivered message."""
        if not self.enabled:
            return
        now = time.monotonic() if now is None else now
        self._overall.append(now)
        self._chats.setdefault(chat_id, deque()).append(now)
        if _is_group(chat_id):
            self._groups.setdefault(chat_id, deque()).append(now)


def _is_group(chat_id: int | str) -> bool:
    # Same rule as PTB's AIORateLimiter: negative ids and @usernames are groups/channels.
    return isinstance(chat_id, str) or chat_id < 0


def _wait(window: deque[float] | None, limit: int | None, period: float, now: float) -> float | None:
    if not limit or window is None:
        return None
    while window and window[0] <= now - period:
        window.popleft()
    if len(window) < limit:
        return None
    # The slot frees when the oldest message that keeps us at the limit leaves the window.
    return window[len(window) - limit] + period - now
