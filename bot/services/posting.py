"""Posting use cases: plan due slots into the outbox, choose deals, and move posts through states.

The outbox rule (exactly-once posting):
- every post is a ``posts`` row, unique per (group, slot), before anything is sent;
- a sender claims a row by moving it ``queued → sending`` in its own committed transaction,
  then sends; the result moves it to ``sent`` (with the message id) or back to ``queued``
  (retry later) or to ``failed``;
- a row still ``sending`` after a crash, or a send whose request went out but got no answer,
  has an unknown outcome. It becomes ``unknown`` and is never sent again: a lost card is
  recoverable by hand (``/post``), a doubled card in a stranger's group is not.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.domain.links import new_code
from bot.domain.ranking import ArmStats, rank_deals
from bot.domain.schedule import is_missed, next_slot, slot_key, times_from_text
from bot.services.base import Service, ServiceError
from bot.services.catalog import CatalogService
from bot.storage.models import Group, Link, Order, Pick, Post, Product, Tap

log = logging.getLogger(__name__)

LIVE_STATES = ("queued", "sending", "sent", "unknown")
MIN_SPACING = timedelta(minutes=1)


@dataclass(frozen=True)
class PostJob:
    """What a sender needs to send one claimed post."""

    post_id: int
    post_code: str
    chat_id: int
    topic_id: int | None
    product_id: int
    price: int
    attempts: int


class PostingService(Service):
    """The outbox and the choice of deal."""

    def __init__(self, *, catalog: CatalogService, rng: random.Random, bot_id: int | None = None,
                 **deps: Any) -> None:
        super().__init__(**deps)
        self.catalog = catalog
        self.rng = rng
        self.bot_id = bot_id

    def _mine(self) -> Any:
        """Groups this process's bot serves: its own, plus any not yet assigned to a bot."""
        if self.bot_id is None:
            return true()
        return or_(Group.bot_id == self.bot_id, Group.bot_id.is_(None))

    # -- choosing --------------------------------------------------------------------------
    def _excluded(self, session: Session, group_id: int) -> set[int]:
        since = self.now() - timedelta(days=self.config.schedule.repeat_window_days)
        return set(session.scalars(
            select(Post.product_id).where(Post.group_id == group_id, Post.created_at >= since,
                                          Post.status.in_(LIVE_STATES))
        ))

    def _stats(self, session: Session, group_id: int) -> dict[str, ArmStats]:
        stats: dict[str, ArmStats] = {}
        posts = session.execute(
            select(Product.category, func.count(Post.id)).join(Product, Product.id == Post.product_id)
            .where(Post.group_id == group_id, Post.status == "sent").group_by(Product.category)
        )
        for category, count in posts:
            stats.setdefault(category, ArmStats()).posts = count
        taps = session.execute(
            select(Product.category, func.count(func.distinct(Link.id)))
            .select_from(Tap).join(Link, Link.id == Tap.link_id)
            .join(Product, Product.id == Link.product_id)
            .where(Link.group_id == group_id).group_by(Product.category)
        )
        for category, count in taps:
            stats.setdefault(category, ArmStats()).taps = count
        orders = session.execute(
            select(Product.category, func.count(Order.id)).join(Product, Product.id == Order.product_id)
            .where(Order.group_id == group_id, Order.status.in_(("pending", "confirmed")))
            .group_by(Product.category)
        )
        for category, count in orders:
            stats.setdefault(category, ArmStats()).orders = count
        return stats

    def candidates(self, session: Session, group: Group, *, skip: Iterable[int] = (),
                   limit: int = 5) -> list[int]:
        """Product ids for the group's next post, best first."""
        picks: list[int] = []
        if group.owner_id is not None:
            picks = list(session.scalars(
                select(Pick.product_id).where(Pick.user_id == group.owner_id).order_by(Pick.created_at)
            ))
        categories = set(group.categories.split()) or None
        deals = rank_deals(
            self.catalog.index(), now=self.now(), categories=categories,
            exclude=self._excluded(session, group.id) | set(skip), picks=picks,
            stats=self._stats(session, group.id), rng=self.rng, limit=limit,
        )
        return [deal.product_id for deal in deals]

    # -- enqueueing ------------------------------------------------------------------------
    def _due_at(self, session: Session, group: Group, wanted: datetime) -> datetime:
        last = session.scalar(
            select(func.max(Post.due_at)).where(Post.group_id == group.id, Post.status.in_(LIVE_STATES))
        )
        return max(wanted, last + MIN_SPACING) if last is not None else wanted

    def _insert(self, session: Session, group: Group, product: Product, slot: str,
                due_at: datetime) -> Post | None:
        post = Post(code=new_code(), group_id=group.id, product_id=product.id, slot=slot,
                    due_at=self._due_at(session, group, due_at), price=product.price,
                    status="queued", created_at=self.now())
        try:
            with session.begin_nested():
                session.add(post)
        except IntegrityError:
            return None  # this slot already has its post: nothing twice
        return post

    def post_now(self, chat_id: int, *, sku: str | None = None) -> Post:
        """Queue a post for a group right away (/post, /broadcast)."""
        with self.db.transaction() as session:
            group = session.scalars(select(Group).where(Group.chat_id == chat_id)).first()
            if group is None or not group.active:
                raise ServiceError("this group is not registered; add the bot again")
            if not group.claimed:
                raise ServiceError("this group is not claimed yet; an admin must open the claim link")
            if sku is not None:
                product = self.catalog.find_by_sku(session, sku)
                if product is None:
                    raise ServiceError(f"no product with sku {sku!r}")
                if not self.catalog.is_available(product):
                    raise ServiceError(f"{sku} is not available now (out of stock or outside its dates)")
            else:
                ids = self.candidates(session, group, limit=1)
                if not ids:
                    raise ServiceError("no deal fits this group now")
                product = session.get_one(Product, ids[0])
            post = self._insert(session, group, product, f"now:{new_code()}", self.now())
            assert post is not None  # a fresh random slot cannot clash
            return post

    def broadcast(self, sku: str) -> int:
        """Queue one deal for every active claimed group; returns how many were queued."""
        with self.db.transaction() as session:
            product = self.catalog.find_by_sku(session, sku)
            if product is None:
                raise ServiceError(f"no product with sku {sku!r}")
            if not self.catalog.is_available(product):
                raise ServiceError(f"{sku} is not available now")
            slot = f"broadcast:{product.id}:{self.now().strftime('%Y%m%dT%H%M%S')}"
            count = 0
            groups = session.scalars(select(Group).where(Group.active.is_(True), Group.claimed.is_(True)))
            for group in groups:
                if self._insert(session, group, product, slot, self.now()) is not None:
                    count += 1
            return count

    def plan_due(self, *, batch: int = 1000) -> int:
        """Scheduler tick: turn every due slot into an outbox row; returns posts queued."""
        now = self.now()
        grace = timedelta(minutes=self.config.schedule.misfire_grace_minutes)
        queued = 0
        with self.db.transaction() as session:
            due = session.scalars(
                select(Group).where(Group.active.is_(True), Group.claimed.is_(True),
                                    Group.paused.is_(False), Group.next_slot_at <= now, self._mine())
                .order_by(Group.next_slot_at).limit(batch)
            ).all()
            for group in due:
                queued += self._plan_group(session, group, now, grace)
        return queued

    def _plan_group(self, session: Session, group: Group, now: datetime, grace: timedelta) -> int:
        times = times_from_text(group.times)
        slot = group.next_slot_at
        queued = 0
        while slot is not None and slot <= now:
            if is_missed(slot, now, grace):
                log.warning("slot skipped after downtime", extra={"group": group.chat_id,
                                                                   "slot": slot_key(slot)})
            else:
                ids = self.candidates(session, group, limit=1)
                if ids:
                    product = session.get_one(Product, ids[0])
                    if self._insert(session, group, product, slot_key(slot), slot) is not None:
                        queued += 1
                else:
                    log.info("no deal fits group", extra={"group": group.chat_id})
            slot = next_slot(times, group.timezone, slot)
        group.next_slot_at = slot
        return queued

    def reschedule(self, chat_id: int) -> datetime | None:
        """Recompute a group's next slot from now (after /schedule, /timezone, /resume, claim)."""
        with self.db.transaction() as session:
            group = session.scalars(select(Group).where(Group.chat_id == chat_id)).first()
            if group is None:
                return None
            group.next_slot_at = next_slot(times_from_text(group.times), group.timezone, self.now())
            return group.next_slot_at

    # -- the sender's side -----------------------------------------------------------------
    def recover_unknown(self, *, lease: timedelta = timedelta(minutes=2)) -> int:
        """A post ``sending`` for longer than the lease was left by a dead sender: its outcome is
        unknown, so it is never resent. Posts that live senders hold are younger than the lease."""
        cutoff = self.now() - lease
        with self.db.transaction() as session:
            result = session.execute(
                update(Post).where(Post.status == "sending",
                                   (Post.claimed_at < cutoff) | Post.claimed_at.is_(None))
                .values(status="unknown", error="sender stopped during the send")
            )
            return result.rowcount or 0

    def claim(self, *, limit: int = 50) -> list[PostJob]:
        """Move due queued posts to ``sending`` and commit, before any send starts."""
        now = self.now()
        with self.db.transaction() as session:
            query = (select(Post, Group).join(Group, Group.id == Post.group_id)
                     .where(Post.status == "queued", Post.due_at <= now, self._mine())
                     .order_by(Post.due_at, Post.id).limit(limit))
            if not self.db.is_sqlite:
                query = query.with_for_update(skip_locked=True, of=Post)
            jobs: list[PostJob] = []
            for post, group in session.execute(query).all():
                if not group.active:
                    post.status, post.error = "failed", "group inactive"
                    continue
                post.status = "sending"
                post.claimed_at = now
                post.attempts += 1
                jobs.append(PostJob(post_id=post.id, post_code=post.code, chat_id=group.chat_id,
                                    topic_id=group.topic_id, product_id=post.product_id,
                                    price=post.price, attempts=post.attempts))
            return jobs

    def recheck(self, job: PostJob) -> PostJob | None:
        """Just before sending: is the deal still in stock, in its dates and at its price?

        If not, switch the post to the next best deal for that group, or fail it when none fits.
        """
        with self.db.transaction() as session:
            post = session.get_one(Post, job.post_id)
            product = session.get_one(Product, post.product_id)
            if self.catalog.is_available(product) and product.price == post.price:
                return job
            group = session.get_one(Group, post.group_id)
            for pid in self.candidates(session, group, skip={product.id}, limit=5):
                other = session.get_one(Product, pid)
                if self.catalog.is_available(other):
                    post.product_id, post.price = other.id, other.price
                    return PostJob(**{**job.__dict__, "product_id": other.id, "price": other.price})
            post.status, post.error = "failed", "deal no longer available and no other deal fits"
            return None

    def mark_sent(self, post_id: int, message_id: int) -> None:
        """The send succeeded."""
        with self.db.transaction() as session:
            post = session.get_one(Post, post_id)
            post.status, post.message_id, post.sent_at, post.error = "sent", message_id, self.now(), None
            session.get_one(Group, post.group_id).last_post_at = self.now()

    def mark_retry(self, post_id: int, *, delay: timedelta, error: str) -> None:
        """The send certainly did not happen (an error answer, 429, 5xx): queue it again later."""
        with self.db.transaction() as session:
            post = session.get_one(Post, post_id)
            post.status, post.due_at, post.error = "queued", self.now() + delay, error[:512]

    def mark_failed(self, post_id: int, error: str, *, status: str = "failed") -> None:
        """Give up on a post (``failed``), or record an unknown outcome (``unknown``)."""
        with self.db.transaction() as session:
            post = session.get_one(Post, post_id)
            post.status, post.error = status, error[:512]

    def depth(self) -> int:
        """Posts waiting in the outbox."""
        with self.db.transaction() as session:
            return session.scalar(select(func.count(Post.id)).where(Post.status == "queued")) or 0

    def post_by_code(self, session: Session, code: str) -> Post | None:
        return session.scalars(select(Post).where(Post.code == code)).first()
