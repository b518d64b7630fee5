"""The send limiter counts Telegram's sliding windows; the sender's error rules decide resends."""

from __future__ import annotations

from datetime import timedelta

import httpx
from telegram.error import NetworkError, RetryAfter, TimedOut

from bot.tg.ratelimit import SendLimiter, is_group
from bot.tg.sender import backoff, outcome_unknown


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_thirty_a_second_evenly_paced() -> None:
    t = FakeTime()
    limiter = SendLimiter(margin=0.0, clock=t)
    taken = []
    for i in range(3000):  # a request every millisecond for three seconds
        t.now = 1000.0 + i * 0.001
        if limiter.try_take(-(i + 1)) == 0:
            taken.append(t.now)
    assert 88 <= len(taken) <= 90
    assert all(b - a >= 1 / 30 - 1e-9 for a, b in zip(taken, taken[1:], strict=False))
    assert max(sum(1 for x in taken if s <= x < s + 1) for s in taken) <= 30


def test_twenty_a_minute_per_group_and_other_groups_unaffected() -> None:
    t = FakeTime()
    limiter = SendLimiter(margin=0.0, clock=t)
    for _ in range(20):  # a burst of twenty (paced only by the overall limit)
        while limiter.try_take(-42) > 0:
            t.now += 0.001
    wait = limiter.try_take(-42)
    assert 59.0 < wait <= 60.0  # the 21st waits until the first is a minute old
    assert limiter.group_wait(-42) > 59.0
    t.now += 0.1
    assert limiter.try_take(-43) == 0
    t.now += 0.1
    assert limiter.try_take(777) == 0 and not is_group(777)  # private chats have no group limit


def test_never_twenty_one_in_a_minute_to_one_group() -> None:
    """Telegram counts a sliding minute: a leaky bucket (20, then one every 3 s) would let a
    21st message through within it, and Telegram answers that with a 429 of up to a minute."""
    t = FakeTime()
    limiter = SendLimiter(margin=0.0, clock=t)
    taken = []
    for _ in range(600):  # one try every half second for five minutes
        if limiter.try_take(-42) == 0:
            taken.append(t.now)
        t.now += 0.5
    assert max(sum(1 for x in taken if s <= x < s + 60) for s in taken) == 20
    assert len(taken) == 100  # and the budget is used: twenty in each of the five minutes


def test_a_429_pauses_every_send_for_retry_after() -> None:
    t = FakeTime()
    limiter = SendLimiter(clock=t)
    limiter.hit(RetryAfter(timedelta(seconds=3)))
    assert 3.0 < limiter.try_take(-1) < 3.2
    t.now += 3.2
    assert limiter.try_take(-1) == 0


def with_cause(exc: Exception, cause: BaseException | None) -> Exception:
    exc.__cause__ = cause
    return exc


def test_only_a_request_that_never_left_is_safe_to_resend() -> None:
    request = httpx.Request("POST", "http://x/")
    assert outcome_unknown(with_cause(TimedOut(), httpx.ReadTimeout("read", request=request)))
    assert outcome_unknown(with_cause(NetworkError("x"), httpx.RemoteProtocolError("dropped")))
    assert not outcome_unknown(with_cause(TimedOut(), httpx.ConnectTimeout("connect")))
    assert not outcome_unknown(with_cause(TimedOut(), httpx.PoolTimeout("pool")))
    assert not outcome_unknown(with_cause(NetworkError("x"), httpx.ConnectError("refused")))
    assert not outcome_unknown(NetworkError("Bad Gateway"))  # a 5xx answer: Telegram posted nothing


def test_backoff_doubles_up_to_a_minute() -> None:
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4, 7, 20)] == [1, 2, 4, 8, 60, 60]


def test_groups_past_their_minute_are_forgotten_and_the_rest_kept() -> None:
    t = FakeTime()
    limiter = SendLimiter(margin=0.0, clock=t)
    for n in range(5000):  # a fan-out: each group is within its minute until it ends
        t.now += 0.001
        limiter.local.reserve(-(n + 1))
    assert len(limiter.local.groups) == 5000  # nothing forgotten that still counts
    t.now += 61.0
    limiter.local.reserve(-999_999)
    assert len(limiter.local.groups) < 10_000  # a new group past the threshold: the map shrinks
    t.now += 0.001
    for n in range(10_001):
        t.now += 0.001
        limiter.local.reserve(-(100_000 + n))
    assert -1 not in limiter.local.groups  # the first fan-out's groups are gone
