"""The sender drains the outbox: read due posts, reserve a rate slot, claim, send, record.

Exactly once (see bot/services/posting.py and docs/DELIVERY.md): a post is claimed
(``queued → sending``, committed) only after its rate-limit slot is reserved and its
concurrency slot taken, at most ``AHEAD_SECONDS`` (0.2 s) before its request leaves. After a
``kill -9`` a ``sending`` row has an unknown outcome and is never resent; every post still
``queued`` had not started and goes out.

Error rules (each decided by whether Telegram can have posted the card):
- 429: not posted. Every send pauses for ``retry_after``; the post is queued again after it.
- 5xx, or a connection that never reached Telegram (connect or pool timeout): not posted.
  Retried with backoff 1 s, 2 s, 4 s … (capped at 60 s), at most ``MAX_ATTEMPTS`` times.
- A timeout after the request went out (read/write timeout, connection dropped mid-answer):
  the outcome is unknown. The post becomes ``unknown`` and is never resent blindly.
- 403 (kicked, blocked, deleted) or 400 "chat not found": the group is marked inactive.
- 400 with ``migrate_to_chat_id``: the group moves to its new id and the post is resent.
- 400 "message thread not found": the topic is cleared and the post is resent to the chat.
- Any other 400: our request was wrong; the post fails and the error is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import warnings
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.warnings import PTBUserWarning

from bot.domain.money import format_money
from bot.services.posting import PostJob
from bot.tg.keyboards import card_markup
from bot.tg.ratelimit import RESERVED, retry_seconds
from bot.tg.transport import MaybeSent

if TYPE_CHECKING:
    from telegram.ext import ExtBot

    from bot.config import CardSettings
    from bot.metrics import Metrics
    from bot.services.groups import GroupService
    from bot.services.posting import PostingService
    from bot.storage.db import Database
    from bot.tg.card_pipeline import CardPipeline
    from bot.tg.ratelimit import SendLimiter

log = logging.getLogger(__name__)
T = TypeVar("T")
# do_api_request("sendPhoto") is deliberate (see Sender.send); PTB suggests send_photo for it.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.sendPhoto'", category=PTBUserWarning)
MAX_ATTEMPTS = 6
MAX_429_ATTEMPTS = 30
SAFE_TO_RETRY = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
FLUSH_SECONDS = 0.02
AHEAD_SECONDS = 0.2  # how far ahead the sender reserves rate slots (and claims their posts)
RECOVER_EVERY = 30.0  # seconds between sweeps for posts a dead sender left "sending"


def backoff(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s … capped at a minute."""
    return timedelta(seconds=min(60, 2 ** max(0, attempts - 1)))


def outcome_unknown(exc: BaseException) -> bool:
    """True when the request may have reached Telegram but no answer came back.

    PTB raises NetworkError without a transport cause for an HTTP error status (5xx: Telegram
    answered, so nothing was posted); with a cause, the transport failed, and only a failure
    to connect proves the request never went out (bot/tg/transport.py marks which it was).
    """
    cause = exc.__cause__
    if isinstance(cause, MaybeSent):
        return True
    return isinstance(cause, httpx.HTTPError) and not isinstance(cause, SAFE_TO_RETRY)


class Sender:
    """Sends queued posts, many at a time, at the rate limiter's pace."""

    def __init__(self, *, db: Database, posting: PostingService, groups: GroupService,
                 cards: CardPipeline, bot: ExtBot[Any], metrics: Metrics, card: CardSettings,
                 public_url: str, paid_broadcast: bool, limiter: SendLimiter | None,
                 batch: int = 200, chunk: int = 32, concurrency: int = 64) -> None:
        self.db = db
        self.posting = posting
        self.groups = groups
        self.cards = cards
        self.bot = bot
        self.metrics = metrics
        self.card = card
        self.public_url = public_url.rstrip("/")
        self.paid_broadcast = paid_broadcast
        self.limiter = limiter
        self.batch = batch
        self.chunk = min(chunk, concurrency)
        self.min_chunk = max(1, concurrency // 4)
        self.slots = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._sent: list[tuple[int, int, datetime]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._slot_at: dict[int, float] = {}  # post id → loop time of its rate slot
        self.late_slots = 0  # posts that took a second slot because they missed their first
        self.unclaimed_slots = 0  # slots reserved for posts that another sender claimed first

    def wake(self) -> None:
        """New posts are due: look now rather than at the next poll."""
        self._wake.set()

    def start(self) -> None:
        self._recover()
        self._task = asyncio.create_task(self._run(), name="kocbot-sender")

    def _recover(self) -> None:
        """Posts a dead sender left ``sending`` past its lease become ``unknown`` (never resent)."""
        try:
            recovered = self.posting.recover_unknown()
        except Exception:  # noqa: BLE001 - the database may be restarting; the next sweep retries
            log.exception("recovering stale sends failed")
            return
        if recovered:
            log.warning("posts with unknown outcome after a sender stopped", extra={"count": recovered})

    async def stop(self) -> None:
        """Stop claiming; let sends in flight finish and record them."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        if self._flusher is not None:
            await self._flusher
        await self._flush()

    async def _run(self) -> None:
        posting = self.posting
        loop = asyncio.get_running_loop()
        sweep = loop.time() + RECOVER_EVERY
        while not self._stopping:
            if loop.time() > sweep:
                await self.db.run(self._recover)
                sweep = loop.time() + RECOVER_EVERY
            try:
                jobs = await self.db.run(posting.due, limit=self.batch)
            except Exception:  # noqa: BLE001 - the database may be restarting; try again soon
                log.exception("outbox read failed")
                jobs = []
            if jobs and self.limiter is not None:
                # Several senders on one token split the outbox by post id, so that no two
                # spend a slot of the shared budget on the same post (only one can claim it).
                k, n = self.limiter.partition()
                if n > 1:
                    jobs = [job for job in jobs if job.post_id % n == k]
            if not jobs:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=0.5)
                continue
            try:
                await self._dispatch(jobs)
            except Exception:  # noqa: BLE001 - keep draining; the rows stay queued
                log.exception("outbox dispatch failed")
                await asyncio.sleep(0.5)

    async def _dispatch(self, jobs: list[PostJob]) -> None:
        """Take a concurrency slot per post (and a rate slot); claim and launch them in chunks."""
        if self.limiter is not None:
            await self._dispatch_paced(jobs)
            return
        chunk: list[PostJob] = []
        for job in jobs:
            if self._stopping:
                break
            if self.slots.locked() and len(chunk) >= self.min_chunk:
                # Slots are busy: send what we hold rather than wait for more; but claim a few at
                # a time, since each claim is a transaction.
                await self._launch(chunk)
                chunk = []
            await self.cards.warm(job.product_id, job.price)  # render before the slot, not after it
            await self.slots.acquire()
            chunk.append(job)
            if len(chunk) >= self.chunk:
                await self._launch(chunk)
                chunk = []
        if chunk:
            await self._launch(chunk)

    async def _dispatch_paced(self, jobs: list[PostJob]) -> None:
        """Reserve slots of the token's budget a little ahead, claim those posts in one
        transaction while their slots approach, and send each at its slot.

        Claiming in the shadow of the wait keeps the claim's database round trip out of the
        time between a slot and its request: a post that leaves later than its slot would
        bunch up with the next ones. Reservations run at most ``AHEAD_SECONDS`` ahead, so a
        claimed post waits for its turn at most that long.
        """
        loop = asyncio.get_running_loop()
        limiter = self.limiter
        ahead = max(1, min(self.chunk, int(AHEAD_SECONDS / limiter.pace.interval)))
        batch: list[tuple[PostJob, float]] = []
        horizon = 0.0  # loop time of the last slot reserved
        for job in jobs:
            if self._stopping:
                break
            await self.cards.warm(job.product_id, job.price)  # render before the slot, not after it
            await self.slots.acquire()
            if horizon - loop.time() > AHEAD_SECONDS:
                # Far enough ahead: claim what is reserved before waiting, not after. With other
                # processes on the budget this sender's slots are sparse, and a batch held
                # through the wait would reach its first slot too late to use it.
                if batch:
                    await self._claim_paced(batch)
                    batch = []
                await asyncio.sleep(max(0.0, horizon - loop.time() - AHEAD_SECONDS))
            k, n = limiter.partition()
            if n > 1 and job.post_id % n != k:  # the split changed (a sender came or went)
                self.slots.release()
                continue
            due = await self._reserve(job)
            if due is None:
                self.slots.release()
                continue
            horizon = max(horizon, due)
            batch.append((job, due))
            if len(batch) >= ahead:
                await self._claim_paced(batch)
                batch = []
        if batch:
            await self._claim_paced(batch)

    async def _reserve(self, job: PostJob) -> float | None:
        """The loop time of this post's slot; None when its group is at its per-minute limit
        for more than a second (the post is put back for later)."""
        loop = asyncio.get_running_loop()
        while True:
            taken, wait = await self.limiter.reserve(job.chat_id)
            if taken:
                return loop.time() + wait
            if wait > 1:
                # Not claimed: only a post still queued moves (another sender may be sending it).
                await self.db.run(self.posting.defer, job.post_id,
                               delay=timedelta(seconds=wait), error="group at 20 messages a minute")
                return None
            await asyncio.sleep(wait)

    async def _claim_paced(self, batch: list[tuple[PostJob, float]]) -> None:
        """Claim the batch in one transaction; each claimed post waits for its slot, then goes."""
        try:
            started = await self.db.run(self.posting.start, [job for job, _ in batch])
        except Exception:  # noqa: BLE001 - nothing was claimed; the rows stay queued
            log.exception("outbox claim failed")
            started = []
        claimed = {job.post_id for job in started}
        for job, due in batch:
            if job.post_id not in claimed:  # another sender took it, or it must wait: slot unused
                self.unclaimed_slots += 1
                self.slots.release()
                continue
            self._slot_at[job.post_id] = due
            task = asyncio.create_task(self._send_at(job, due))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    async def _send_at(self, job: PostJob, due: float) -> None:
        delay = due - asyncio.get_running_loop().time()
        if delay > 0:
            await asyncio.sleep(delay)
        await self._send_released(job)

    async def _launch(self, chunk: list[PostJob]) -> None:
        """Claim the chunk in one transaction (re-checking deals), then send each claimed post."""
        jobs = list(chunk)
        try:
            started = await self.db.run(self.posting.start, jobs)
        except Exception:  # noqa: BLE001 - nothing was claimed; the rows stay queued
            log.exception("outbox claim failed")
            started = []
        for _ in range(len(jobs) - len(started)):
            self.slots.release()
        for job in started:
            task = asyncio.create_task(self._send_released(job))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    async def _send_released(self, job: PostJob) -> None:
        try:
            await self.send(job)
        except Exception:  # noqa: BLE001 - one bad post must not stop the sender
            log.exception("send crashed", extra={"post": job.post_id, "group": job.chat_id})
            await self.db.run(self.posting.mark_failed, job.post_id, "internal error",
                              status="unknown")
        finally:
            self.slots.release()

    async def send(self, job: PostJob) -> None:
        """Send one claimed post and record what happened."""
        posting = self.posting
        cards = self.cards
        run = self.db.run
        card = await cards.prepare(job.product_id, job.price)
        keyboard = card_markup(  # the JSON object itself: PTB sends a dict as it is
            lang=self.card.locale, sku=card.sku, post_code=job.post_code,
            price_text=format_money(card.price, card.currency),
            login_url=(f"{self.public_url}/b/{job.post_code}"
                       if self.card.buy_button == "login_url" else None))
        extra: dict[str, Any] = {"rate_limit_args": RESERVED} if self.limiter is not None else {}
        paid = {"allow_paid_broadcast": True} if self.paid_broadcast else {}
        bot = self.bot
        try:
            async with cards.photo(card) as photo:
                slot = await self._fresh_slot(job)
                if isinstance(photo, bytes):  # the upload: keep the file id Telegram made
                    message = await bot.send_photo(
                        chat_id=job.chat_id, photo=photo, caption=card.caption, parse_mode="HTML",
                        reply_markup=keyboard, message_thread_id=job.topic_id, **paid, **extra)
                    if self.limiter is not None:
                        # Telegram counts an upload once it has read it, up to its answer: the
                        # slots after it move back by as much as it took (once per card).
                        await self.limiter.stretch(asyncio.get_running_loop().time() - slot)
                    await cards.remember(card, message)
                    message_id = message.message_id
                else:
                    # Every other group gets the file id. Only the message id of the answer is
                    # used, so PTB's raw request skips parsing a whole Message (a fifth of the
                    # sender's CPU); requests, errors and the rate limiter are PTB's as before.
                    sent = await bot.do_api_request("sendPhoto", api_kwargs={
                        "chat_id": job.chat_id, "photo": photo, "caption": card.caption,
                        "parse_mode": "HTML", "reply_markup": keyboard,
                        "message_thread_id": job.topic_id, **paid}, **extra)
                    message_id = sent["message_id"]
        except RetryAfter as exc:
            # The limiter already paused every send for retry_after. Each error is counted
            # with its row's write (_then_count).
            if job.attempts >= MAX_429_ATTEMPTS:
                await run(self._then_count("429", posting.mark_failed), job.post_id,
                          f"429 {job.attempts} times: {exc}")
            else:
                await run(self._then_count("429", posting.mark_retry), job.post_id,
                          delay=timedelta(seconds=retry_seconds(exc)), error=str(exc))
        except ChatMigrated as exc:
            await run(self.groups.migrate, job.chat_id, exc.new_chat_id)
            await run(self._then_count("migrated", posting.mark_retry), job.post_id,
                      delay=timedelta(0), error="group migrated")
        except Forbidden as exc:
            await run(self.groups.bot_removed, job.chat_id)
            await run(self._then_count("forbidden", posting.mark_failed), job.post_id, str(exc))
        except BadRequest as exc:
            await self._bad_request(job, exc)
        except TimedOut as exc:
            await self._network(job, exc, "timeout")
        except NetworkError as exc:
            await self._network(job, exc, "network")
        else:
            self._record(job, message_id)
            return
        self.wake()

    async def _fresh_slot(self, job: PostJob) -> float:
        """A slot is only good for about its own moment: a post held up past it (the claim, the
        card's first upload, a busy event loop) takes a new one rather than join the posts of
        the next slots in a burst that Telegram's sliding window would refuse. Returns the loop
        time of the slot the post goes at."""
        now = asyncio.get_running_loop().time()
        slot_at = self._slot_at.pop(job.post_id, None)
        limiter = self.limiter
        if slot_at is not None and limiter is not None:
            if now - slot_at > limiter.pace.margin / 2:
                self.late_slots += 1
                await limiter.take(job.chat_id)
                return asyncio.get_running_loop().time()
            return slot_at
        return now

    def _record(self, job: PostJob, message_id: int) -> None:
        """Queue a success for the next batched write (many posts per transaction)."""
        self._sent.append((job.post_id, message_id, self.posting.now()))
        self.metrics.posts.inc()
        log.info("post sent", extra={"post": job.post_id, "group": job.chat_id, "product": job.product_id})
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(FLUSH_SECONDS)
        await self._flush()

    async def _flush(self) -> None:
        """Write recorded successes; if the database fails, the rows stay ``sending`` (unknown)."""
        while self._sent:
            batch, self._sent = self._sent, []
            for attempt in range(3):
                try:
                    await self.db.run(self.posting.record_sent, batch)
                    break
                except Exception:  # noqa: BLE001 - retry; never resend, only re-record
                    log.exception("recording sent posts failed", extra={"attempt": attempt})
                    await asyncio.sleep(0.5)

    async def _bad_request(self, job: PostJob, exc: BadRequest) -> None:
        text = str(exc).lower()
        posting, run = self.posting, self.db.run
        if "chat not found" in text or "group chat was deleted" in text:
            await run(self.groups.bot_removed, job.chat_id)
            await run(self._then_count("chat_not_found", posting.mark_failed), job.post_id, str(exc))
        elif "thread not found" in text:
            await run(self.groups.update, job.chat_id, topic_id=None)
            await run(self._then_count("thread_not_found", posting.mark_retry), job.post_id,
                      delay=timedelta(0), error="topic gone")
        else:
            log.error("telegram refused a post", extra={"post": job.post_id, "error": str(exc)})
            await run(self._then_count("bad_request", posting.mark_failed), job.post_id, str(exc))

    async def _network(self, job: PostJob, exc: NetworkError, kind: str) -> None:
        posting, run = self.posting, self.db.run
        if outcome_unknown(exc):
            log.warning("send outcome unknown; not resending", extra={"post": job.post_id,
                                                                      "group": job.chat_id})
            await run(self._then_count(kind, posting.mark_failed), job.post_id,
                      f"outcome unknown: {exc}", status="unknown")
        elif job.attempts >= MAX_ATTEMPTS:
            await run(self._then_count(kind, posting.mark_failed), job.post_id,
                      f"gave up after {job.attempts} attempts: {exc}")
        else:
            await run(self._then_count(kind, posting.mark_retry), job.post_id,
                      delay=backoff(job.attempts), error=str(exc))

    def _then_count(self, kind: str, write: Callable[..., T]) -> Callable[..., T]:
        """``write``, then the error's count, in one call (one worker thread on PostgreSQL):
        the count follows the commit at once, as when both ran on the event loop."""

        def write_and_count(*args: Any, **kwargs: Any) -> T:
            result = write(*args, **kwargs)
            self._count(kind)
            return result

        return write_and_count

    def _count(self, kind: str) -> None:
        self.metrics.send_errors.labels(kind=kind).inc()
