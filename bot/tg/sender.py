"""The sender drains the outbox: claim due posts, re-check the deal, send the card, record it.

Error rules (each decided by whether Telegram can have posted the card):
- 429: not posted. Queue again after ``retry_after``.
- 5xx, or a connection that never reached Telegram: not posted. Retry with backoff.
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
from datetime import timedelta

import httpx
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.domain.money import format_money
from bot.services.posting import PostJob
from bot.tg.keyboards import card_keyboard

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 6
RECOVER_EVERY = 30.0  # seconds between sweeps for posts a dead sender left "sending"
SAFE_TO_RETRY = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def backoff(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s … capped at a minute."""
    return timedelta(seconds=min(60, 2 ** max(0, attempts - 1)))


def outcome_unknown(exc: BaseException) -> bool:
    """True when the request may have reached Telegram but no answer came back.

    PTB raises NetworkError without an httpx cause for an HTTP error status (5xx: Telegram
    answered, so nothing was posted); with a cause, the transport failed, and only a failure
    to connect proves the request never went out.
    """
    cause = exc.__cause__
    return isinstance(cause, httpx.HTTPError) and not isinstance(cause, SAFE_TO_RETRY)


class Sender:
    """Sends queued posts, many at a time, within the rate limiter's pace."""

    def __init__(self, kocbot, *, batch: int = 100, concurrency: int = 64) -> None:  # type: ignore[no-untyped-def]
        self.kb = kocbot
        self.batch = batch
        self.limit = concurrency
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._stopping = False

    def wake(self) -> None:
        """New posts are due: look now rather than at the next poll."""
        self._wake.set()

    def start(self) -> None:
        self._recover()
        self._task = asyncio.create_task(self._run(), name="kocbot-sender")

    async def stop(self) -> None:
        """Stop claiming; let sends in flight finish."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    def _recover(self) -> None:
        """Posts a dead sender left ``sending`` become ``unknown`` (never resent)."""
        try:
            recovered = self.kb.services.posting.recover_unknown()
        except Exception:  # noqa: BLE001 - the database may be restarting; the next sweep retries
            log.exception("recovering stale sends failed")
            return
        if recovered:
            log.warning("posts with unknown outcome after a sender stopped", extra={"count": recovered})

    async def _run(self) -> None:
        sweep = asyncio.get_running_loop().time() + RECOVER_EVERY
        while not self._stopping:
            if asyncio.get_running_loop().time() > sweep:
                self._recover()
                sweep = asyncio.get_running_loop().time() + RECOVER_EVERY
            # Claim only what can start now: a claimed post is "sending", and a post that is
            # claimed but not started would be lost (never resent) if this process died.
            free = min(self.batch, self.limit - len(self._in_flight))
            jobs: list[PostJob] = []
            if free > 0:
                try:
                    jobs = self.kb.services.posting.claim(limit=free)
                except Exception:  # noqa: BLE001 - the database may be restarting; try again soon
                    log.exception("outbox claim failed")
            if not jobs:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=0.5)
                continue
            for job in jobs:
                task = asyncio.create_task(self._send_safely(job))
                self._in_flight.add(task)
                task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._wake.set()  # a slot is free: claim more

    async def _send_safely(self, job: PostJob) -> None:
        try:
            await self.send(job)
        except Exception:  # noqa: BLE001 - one bad post must not stop the sender
            log.exception("send crashed", extra={"post": job.post_id, "group": job.chat_id})
            self.kb.services.posting.mark_failed(job.post_id, "internal error", status="unknown")

    async def send(self, job: PostJob) -> None:
        """Send one claimed post and record what happened."""
        posting = self.kb.services.posting
        checked = posting.recheck(job)
        if checked is None:
            log.info("post dropped: deal unavailable", extra={"post": job.post_id})
            return
        job = checked
        cards = self.kb.cards
        card = await cards.prepare(job.product_id)
        keyboard = card_keyboard(
            lang=self.kb.config.card.locale, sku=card.sku, post_code=job.post_code,
            price_text=format_money(card.price, card.currency),
            login_url=(f"{self.kb.config.web.public_url.rstrip('/')}/b/{job.post_code}"
                       if self.kb.config.card.buy_button == "login_url" else None))
        try:
            async with cards.photo(card) as photo:
                message = await self.kb.application.bot.send_photo(
                    chat_id=job.chat_id, photo=photo, caption=card.caption, parse_mode="HTML",
                    reply_markup=keyboard, message_thread_id=job.topic_id)
                if isinstance(photo, bytes):
                    cards.remember(card, message)
        except RetryAfter as exc:
            self._count("429")
            seconds = exc.retry_after if isinstance(exc.retry_after, int) else exc.retry_after.total_seconds()
            posting.mark_retry(job.post_id, delay=timedelta(seconds=seconds), error=str(exc))
        except ChatMigrated as exc:
            self._count("migrated")
            self.kb.services.groups.migrate(job.chat_id, exc.new_chat_id)
            posting.mark_retry(job.post_id, delay=timedelta(0), error="group migrated")
        except Forbidden as exc:
            self._count("forbidden")
            self.kb.services.groups.bot_removed(job.chat_id)
            posting.mark_failed(job.post_id, str(exc))
        except BadRequest as exc:
            self._bad_request(job, exc)
        except TimedOut as exc:
            self._network(job, exc, "timeout")
        except NetworkError as exc:
            self._network(job, exc, "network")
        else:
            posting.mark_sent(job.post_id, message.message_id)
            self.kb.metrics.posts.inc()
            log.info("post sent", extra={"post": job.post_id, "group": job.chat_id,
                                          "product": job.product_id})
            return
        self.wake()

    def _bad_request(self, job: PostJob, exc: BadRequest) -> None:
        text = str(exc).lower()
        posting = self.kb.services.posting
        if "chat not found" in text or "group chat was deleted" in text:
            self._count("chat_not_found")
            self.kb.services.groups.bot_removed(job.chat_id)
            posting.mark_failed(job.post_id, str(exc))
        elif "thread not found" in text:
            self._count("thread_not_found")
            self.kb.services.groups.update(job.chat_id, topic_id=None)
            posting.mark_retry(job.post_id, delay=timedelta(0), error="topic gone")
        else:
            self._count("bad_request")
            log.error("telegram refused a post", extra={"post": job.post_id, "error": str(exc)})
            posting.mark_failed(job.post_id, str(exc))

    def _network(self, job: PostJob, exc: NetworkError, kind: str) -> None:
        posting = self.kb.services.posting
        self._count(kind)
        if outcome_unknown(exc):
            log.warning("send outcome unknown; not resending", extra={"post": job.post_id,
                                                                      "group": job.chat_id})
            posting.mark_failed(job.post_id, f"outcome unknown: {exc}", status="unknown")
        elif job.attempts >= MAX_ATTEMPTS:
            posting.mark_failed(job.post_id, f"gave up after {job.attempts} attempts: {exc}")
        else:
            posting.mark_retry(job.post_id, delay=backoff(job.attempts), error=str(exc))

    def _count(self, kind: str) -> None:
        self.kb.metrics.send_errors.labels(kind=kind).inc()
