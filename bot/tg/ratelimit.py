"""Telegram's flood limits on our side: 30 messages/s per bot token overall and 20/min per group.

Why not PTB's ``AIORateLimiter``: its overall leaky bucket lets a full burst through on top of
the steady rate, so a strict sliding window (Telegram's, and the emulator's) answers 429 at the
start of every broadcast. This limiter paces sends evenly instead, one slot every
``(1 + margin) / per_second`` seconds: at most ``per_second`` slots fall in any window of
``1 + margin`` seconds, so a send may run up to ``margin`` seconds late and still fit Telegram's
one-second window. Per group it keeps Telegram's own window: at most 20 in any minute (plus
the margin), so a burst of 20 may go at once and the 21st waits until the first is a minute
old. (A leaky bucket of 20 then one every 3 s, as PTB's, lets a 21st through within the minute,
and Telegram answers that with a 429 of up to a minute.)

Slots are *reserved*: a caller is told when its slot is (now or a few milliseconds ahead) and the
slot is its own, so a late wake-up never costs the next slot (a "take it if free now" limiter
loses every oversleep, which is what capped it at 0.93 of 30/s).

The budget belongs to the token, not to the process (docs/SCALING.md): with several processes on
one token, ``SharedLimiter`` keeps the same state in Redis, changed by one Lua script per slot,
with Redis's clock. If Redis cannot be reached, each process falls back to its share of the
budget (the limit divided by the processes it last saw alive), logs it, and tries Redis again a
few seconds later; no request is dropped either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
import uuid
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

log = logging.getLogger(__name__)
RESERVED = -1  # rate_limit_args of a request whose slot the sender already took
FREE_PER_SECOND = 30
PRUNE_ABOVE = 4096  # groups kept in memory before the ones past their minute are forgotten
PAID_PER_SECOND = 1000  # allow_paid_broadcast (Bot API 7.11): up to 1,000 messages/s for Stars
# Methods that post a message and so count against the limits (and may carry allow_paid_broadcast).
SEND_METHODS = frozenset({
    "sendMessage", "sendPhoto", "sendDocument", "sendVideo", "sendAnimation", "sendAudio",
    "sendVoice", "sendVideoNote", "sendMediaGroup", "sendSticker", "sendLocation", "sendVenue",
    "sendContact", "sendPoll", "sendDice", "sendInvoice", "sendPaidMedia", "copyMessage",
    "forwardMessage", "copyMessages", "forwardMessages", "sendGame",
})


def retry_seconds(exc: RetryAfter) -> float:
    """``retry_after`` as seconds, whether PTB gives an int or a timedelta."""
    value = exc._retry_after  # noqa: SLF001 - the public property warns about its type change
    return value.total_seconds()


def is_group(chat_id: Any) -> bool:
    """Telegram's per-group limit applies to groups and channels: negative ids and @names."""
    with contextlib.suppress(TypeError, ValueError):
        chat_id = int(chat_id)
    return isinstance(chat_id, str) or (isinstance(chat_id, int) and chat_id < 0)


class Pace:
    """The numbers every process on one token must agree on."""

    __slots__ = ("per_second", "per_group_per_minute", "margin", "interval", "group_window")

    def __init__(self, per_second: int, per_group_per_minute: int, margin: float) -> None:
        self.per_second, self.per_group_per_minute, self.margin = per_second, per_group_per_minute, margin
        self.interval = (1.0 + margin) / per_second
        # A group's sliding minute, with the same relative margin: no more than
        # per_group_per_minute slots in any group_window seconds.
        self.group_window = 60.0 * (1.0 + margin)


class LocalBudget:
    """The slots of one process, in memory: a paced overall clock, a bucket per group, a pause."""

    def __init__(self, pace: Pace, clock: Callable[[], float]) -> None:
        self.pace, self.clock = pace, clock
        self.next_at = 0.0
        self.paused_until = 0.0
        self.groups: dict[int | str, deque[float]] = {}  # group → its last slots, oldest first
        self.prune_above = PRUNE_ABOVE

    def reserve(self, chat_id: int | str | None) -> tuple[bool, float]:
        """``(True, delay)``: a slot ``delay`` s from now is yours. ``(False, wait)``: the group is
        full for ``wait`` s; nothing was taken (other chats keep their turn)."""
        now = self.clock()
        pace = self.pace
        start = max(self.next_at, now, self.paused_until)
        if chat_id is None or not is_group(chat_id):
            self.next_at = start + pace.interval
            return True, start - now
        times = self.groups.get(chat_id)
        if times is not None and len(times) >= pace.per_group_per_minute:
            ready = times[0] + pace.group_window  # when the oldest of the last 20 leaves the window
            if ready > start:
                return False, ready - now
        self.next_at = start + pace.interval
        if times is None:
            if len(self.groups) > self.prune_above:  # forget groups with nothing left in their window
                for key in [k for k, t in self.groups.items() if t[-1] + pace.group_window <= now]:
                    del self.groups[key]
                # A fan-out keeps thousands of groups in their minute: scan again only once the
                # map has doubled, not on every slot (that was a scan of 5,000 groups per slot).
                self.prune_above = max(PRUNE_ABOVE, 2 * len(self.groups))
            times = self.groups[chat_id] = deque(maxlen=pace.per_group_per_minute)
        times.append(start)
        return True, start - now

    def stretch(self, seconds: float) -> None:
        """A message was counted up to ``seconds`` after its slot (a slow upload): the slots not
        given out yet move back by as much, and the next is at least one interval from now."""
        self.next_at = max(self.next_at + seconds, self.clock() + self.pace.interval)

    def group_wait(self, chat_id: int | str) -> float:
        """Seconds until the group may have one more message (no slot taken)."""
        times = self.groups.get(chat_id) if is_group(chat_id) else None
        if times is None or len(times) < self.pace.per_group_per_minute:
            return 0.0
        return max(0.0, times[0] + self.pace.group_window - self.clock())

    def pause(self, seconds: float) -> None:
        """Hold every slot for ``seconds`` (Telegram's 429 is a bot-wide penalty)."""
        self.paused_until = max(self.paused_until, self.clock() + seconds)


class SendLimiter(BaseRateLimiter[int]):
    """Every Bot API call of this process passes here; sends wait for their slot of the budget."""

    def __init__(self, *, per_second: int = FREE_PER_SECOND, per_group_per_minute: int = 20,
                 margin: float = 0.025, max_retries: int = 2, paid: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.paid = paid
        self.pace = Pace(per_second, per_group_per_minute, margin)
        self.clock = clock
        self.local = LocalBudget(self.pace, clock)
        self.max_retries = max_retries
        self.hits_429 = 0

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    # -- the budget (overridden by SharedLimiter) ----------------------------------------------
    async def reserve(self, chat_id: int | str | None) -> tuple[bool, float]:
        """Reserve the next slot for a message to ``chat_id`` (see ``LocalBudget.reserve``)."""
        return self.local.reserve(chat_id)

    async def pause(self, seconds: float) -> None:
        """Hold every slot of the budget for ``seconds``."""
        self.local.pause(seconds)

    async def stretch(self, seconds: float) -> None:
        """A message went out at its slot but was counted up to ``seconds`` later."""
        self.local.stretch(seconds)

    def partition(self) -> tuple[int, int]:
        """``(k, n)``: this process sends the posts whose id % n == k; alone, all of them."""
        return 0, 1

    # -- the synchronous view of the in-process budget (tests, and callers without a loop) -----
    def try_take(self, chat_id: int | str | None) -> float:
        """Take a slot now and return 0, or take nothing and return the wait."""
        local = self.local
        now = self.clock()
        group = chat_id is not None and is_group(chat_id)
        start = max(local.next_at, now, local.paused_until)
        gwait = local.group_wait(chat_id) if group else 0.0  # type: ignore[arg-type]
        if start > now or gwait > 0:
            return max(start - now, gwait)
        return local.reserve(chat_id)[1]

    def group_wait(self, chat_id: int | str) -> float:
        """How long a group must wait for its per-minute limit (no slot taken)."""
        return self.local.group_wait(chat_id)

    def hit(self, exc: RetryAfter) -> None:
        """Telegram said 429: hold every request of this process for retry_after."""
        self.hits_429 += 1
        self.local.pause(retry_seconds(exc) + 0.1)

    # -- waiting ----------------------------------------------------------------------------------
    async def take(self, chat_id: int | str | None) -> None:
        """Wait for a slot and take it."""
        while True:
            taken, wait = await self.reserve(chat_id)
            if wait > 0:
                await asyncio.sleep(wait)
            if taken:
                return

    async def process_request(
        self, callback: Callable[..., Coroutine[Any, Any, Any]], args: Any, kwargs: dict[str, Any],
        endpoint: str, data: dict[str, Any], rate_limit_args: int | None,
    ) -> Any:
        """Every Bot API call passes here; sends that reserved a slot go straight through."""
        chat_id = data.get("chat_id")
        reserved = rate_limit_args == RESERVED
        counted = chat_id is not None and endpoint in SEND_METHODS
        if self.paid and counted:
            # Paid mode: every message may use the paid limit, so a reply during a broadcast is
            # not refused for the free 30/s the broadcast already filled.
            data.setdefault("allow_paid_broadcast", True)
        retries = 0 if reserved else (rate_limit_args or self.max_retries)
        for attempt in range(retries + 1):
            if not reserved and chat_id is not None:
                await self.take(chat_id)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                self.hits_429 += 1
                await self.pause(retry_seconds(exc) + 0.1)
                if attempt == retries:
                    raise
                log.info("429 from Telegram; retrying", extra={"endpoint": endpoint})
        raise AssertionError("unreachable")


# One round trip per slot. Redis's own clock, so processes on several machines agree on "now".
# KEYS: overall next-send time, pause-until, the group's last slots (a list, newest first;
# optional). ARGV: interval, group limit, group window, the group list's lifetime in ms.
# Returns {taken (0/1), seconds from now as a string}: Lua numbers would be cut to integers.
RESERVE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local start = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now,
                       tonumber(redis.call('GET', KEYS[2]) or '0'))
if KEYS[3] then
  local limit = tonumber(ARGV[2])
  if redis.call('LLEN', KEYS[3]) >= limit then
    local ready = tonumber(redis.call('LINDEX', KEYS[3], limit - 1)) + tonumber(ARGV[3])
    if ready > start then
      return {0, tostring(ready - now)}
    end
  end
  redis.call('LPUSH', KEYS[3], tostring(start))
  redis.call('LTRIM', KEYS[3], 0, limit - 1)
  redis.call('PEXPIRE', KEYS[3], ARGV[4])
end
redis.call('SET', KEYS[1], tostring(start + interval), 'PX', 60000)
return {1, tostring(start - now)}
"""

PAUSE_LUA = """
local t = redis.call('TIME')
local until_ = tonumber(t[1]) + tonumber(t[2]) / 1000000 + tonumber(ARGV[1])
if until_ > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], tostring(until_), 'PX', math.ceil(tonumber(ARGV[1]) * 1000) + 1000)
end
return 1
"""

STRETCH_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local later = math.max(tonumber(redis.call('GET', KEYS[1]) or '0') + tonumber(ARGV[1]),
                       now + tonumber(ARGV[2]))
redis.call('SET', KEYS[1], tostring(later), 'PX', 60000)
return 1
"""

HEARTBEAT_SECONDS = 2.0
RETRY_REDIS_SECONDS = 5.0
UNKNOWN_PEERS = 4  # the share when Redis was never reached: a quarter of the budget


class SharedLimiter(SendLimiter):
    """The budget of one bot token shared by every process through Redis."""

    def __init__(self, redis_url: str, *, bot_id: int | str, sends_posts: bool = True,
                 **options: Any) -> None:
        super().__init__(**options)
        self.redis_url = redis_url
        self.prefix = f"kocbot:rate:{bot_id}:"
        # Senders are told apart from other processes: they split the outbox between them.
        self.me = f"{'sender' if sends_posts else 'other'}:{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.peers = 0  # live processes on this token, as last seen in Redis
        self.senders: list[str] = []  # live sender processes, sorted: the outbox partition
        self.down_until = 0.0  # while Redis is down: when to try it again
        self.fallback: LocalBudget | None = None
        self.retry_redis_seconds = RETRY_REDIS_SECONDS
        self._redis: Any = None
        self._reserve: Any = None
        self._pause: Any = None
        self._stretch: Any = None
        self._heartbeat: asyncio.Task[None] | None = None

    async def initialize(self) -> None:
        """Connect (lazily: Redis may be down now and up later) and start the heartbeat."""
        import redis.asyncio as aioredis  # optional dependency: kocbot[redis]

        self._redis = aioredis.Redis.from_url(self.redis_url, socket_timeout=0.5,
                                              socket_connect_timeout=0.5)
        self._reserve = self._redis.register_script(RESERVE_LUA)
        self._pause = self._redis.register_script(PAUSE_LUA)
        self._stretch = self._redis.register_script(STRETCH_LUA)
        await self._beat()
        self._heartbeat = asyncio.create_task(self._beat_forever(), name="kocbot-rate-heartbeat")

    async def shutdown(self) -> None:
        """Leave the peer set and close the connection."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
            self._heartbeat = None
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.zrem(self.prefix + "peers", self.me)
            await self._redis.aclose()
            self._redis = None

    async def _beat(self) -> None:
        """Say this process is alive and count the live ones (the fallback share needs it)."""
        if self._redis is None or self.clock() < self.down_until:
            return
        try:
            now = (await self._redis.time())[0]
            key = self.prefix + "peers"
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.zadd(key, {self.me: now})
                pipe.zremrangebyscore(key, "-inf", now - 3 * HEARTBEAT_SECONDS)
                pipe.zrange(key, 0, -1)
                pipe.expire(key, 60)
                members = sorted(m.decode() for m in (await pipe.execute())[2])
            self.peers = len(members)
            self.senders = [m for m in members if m.startswith("sender:")]
        except Exception as exc:  # noqa: BLE001 - any Redis failure means "use the fallback"
            self._down(exc)

    async def _beat_forever(self) -> None:
        for _ in range(8):  # processes of one deployment start together: agree on the split soon
            await asyncio.sleep(0.25)
            await self._beat()
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            await self._beat()

    def partition(self) -> tuple[int, int]:
        """This sender's share of the outbox: posts whose id % n == k (see bot/tg/sender.py)."""
        if self.fallback is None and self.me in self.senders:
            return self.senders.index(self.me), len(self.senders)
        return 0, 1

    def _down(self, exc: BaseException) -> None:
        """Redis failed: use this process's share of the budget for a while, and say so."""
        if self.fallback is None:
            peers = max(self.peers, 1) if self.peers else UNKNOWN_PEERS
            share = max(1, self.pace.per_second // peers)
            group_share = max(1, self.pace.per_group_per_minute // peers)
            self.fallback = LocalBudget(Pace(share, group_share, self.pace.margin), self.clock)
            # Start one share-interval late: the shared slots just before it may have been dense.
            self.fallback.next_at = self.clock() + self.fallback.pace.interval
            log.warning("Redis unreachable; sending at this process's share of the rate budget",
                        extra={"share_per_second": share, "processes": peers,
                               "error": type(exc).__name__})
        self.down_until = self.clock() + self.retry_redis_seconds

    def _up(self) -> None:
        if self.fallback is not None:
            self.fallback = None
            log.warning("Redis reachable again; back to the shared rate budget")

    async def reserve(self, chat_id: int | str | None) -> tuple[bool, float]:
        """One Lua call reserves the slot in Redis; while Redis is down, this process's share."""
        if self.clock() >= self.down_until and self._reserve is not None:
            keys = [self.prefix + "next", self.prefix + "pause"]
            if chat_id is not None and is_group(chat_id):
                keys.append(f"{self.prefix}gw:{chat_id}")  # "gw": a list (earlier "g:" keys were not)
            pace = self.pace
            try:
                taken, seconds = await self._reserve(
                    keys=keys, args=[repr(pace.interval), pace.per_group_per_minute,
                                     repr(pace.group_window), int(pace.group_window * 1000) + 1000])
            except Exception as exc:  # noqa: BLE001 - any Redis failure means "use the fallback"
                self._down(exc)
            else:
                self._up()
                return bool(int(taken)), float(seconds)
        return (self.fallback or self.local).reserve(chat_id)

    async def pause(self, seconds: float) -> None:
        """A 429 pauses every process on the token (and this one, whatever Redis says)."""
        (self.fallback or self.local).pause(seconds)
        if self._pause is not None and self.clock() >= self.down_until:
            try:
                await self._pause(keys=[self.prefix + "pause"], args=[repr(seconds)])
            except Exception as exc:  # noqa: BLE001 - the local pause still holds
                self._down(exc)


    async def stretch(self, seconds: float) -> None:
        """Move the token's unreserved slots back (see ``LocalBudget.stretch``)."""
        (self.fallback or self.local).stretch(seconds)
        if self._stretch is not None and self.clock() >= self.down_until:
            try:
                await self._stretch(keys=[self.prefix + "next"],
                                    args=[repr(seconds), repr(self.pace.interval)])
            except Exception as exc:  # noqa: BLE001 - the local budget still moved
                self._down(exc)


def build_limiter(*, redis_url: str, shared: bool, bot_id: int | str, paid: bool,
                  sends_posts: bool = True) -> SendLimiter:
    """The shared budget when several processes may send on this token, else the in-process one."""
    per_second = PAID_PER_SECOND if paid else FREE_PER_SECOND
    if shared and redis_url:
        try:
            import redis  # noqa: F401 - the optional dependency, checked at start-up
        except ImportError:
            from bot.config import ConfigError

            raise ConfigError("config key telegram.redis_url: needs the redis package "
                              "(pip install 'kocbot[redis]')") from None
        return SharedLimiter(redis_url, bot_id=bot_id, per_second=per_second, paid=paid,
                             sends_posts=sends_posts)
    return SendLimiter(per_second=per_second, paid=paid)
