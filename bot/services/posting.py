"""Posting use cases: plan due slots into the outbox, choose deals, and move posts through states.

The outbox rule (exactly-once posting; docs/DELIVERY.md tells the whole story):
- every post is a ``posts`` row, unique per (group, slot), before anything is sent;
- the sender reads due ``queued`` rows without changing them, waits for a rate-limit slot,
  and only then claims them, ``queued → sending``, in a committed transaction that also
  re-checks the deal. So a row is ``sending`` only once its request is about to go out, and a
  post that was merely waiting for its turn is still ``queued`` after a crash and goes out
  after the restart;
- the answer moves it to ``sent`` (with the message id), back to ``queued`` (Telegram
  certainly did not post it: 429, 5xx, a connection never made), or to ``failed``;
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
from typing import Any, cast

from sqlalchemy import CursorResult, exists, func, insert, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.domain.links import new_code
from bot.domain.ranking import ArmStats, rank_deals
from bot.domain.schedule import is_missed, is_scheduled, next_slot, slot_key, times_from_text
from bot.services import statements
from bot.services.base import Service, ServiceError
from bot.services.catalog import CatalogService
from bot.services.selection import LIVE_STATES, choose_for_groups
from bot.storage.models import Group, Link, Order, Pick, Post, Product, Tap

log = logging.getLogger(__name__)

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

    def _served_groups(self) -> Any:
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
        # Links with at least one tap, as EXISTS: joining through taps gets a plan that scans
        # every tap on PostgreSQL (10 ms per group against 0.8 ms; bench/bench_choose.py).
        taps = session.execute(
            select(Product.category, func.count(Link.id))
            .join(Product, Product.id == Link.product_id)
            .where(Link.group_id == group_id, exists().where(Tap.link_id == Link.id))
            .group_by(Product.category)
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

    def post_now(self, chat_id: int, *, sku: str | None = None, key: str | None = None) -> Post:
        """Queue a post for a group right away (/post).

        ``key`` names the request (the command's message): a command update that Telegram
        delivers again after a crash finds its post already queued and adds none.
        """
        with self.db.transaction() as session:
            group = session.scalars(select(Group).where(Group.chat_id == chat_id)).first()
            if group is None or not group.active:
                raise ServiceError("group_not_registered")
            if not group.claimed:
                raise ServiceError("group_not_claimed")
            if sku is not None:
                product = self.catalog.find_by_sku(session, sku)
                if product is None:
                    raise ServiceError("no_product", sku=repr(sku))
                if not self.catalog.is_available(product):
                    raise ServiceError("not_available_stock_or_dates", sku=sku)
            else:
                ids = self.candidates(session, group, limit=1)
                if not ids:
                    raise ServiceError("no_deal_fits")
                product = session.get_one(Product, ids[0])
            slot = f"now:{key or new_code()}"
            post = self._insert(session, group, product, slot, self.now())
            if post is None:  # the same request again
                post = session.scalars(select(Post).where(Post.group_id == group.id,
                                                          Post.slot == slot)).one()
            return post

    def broadcast(self, sku: str, *, key: str | None = None) -> int:
        """Queue one deal for every active claimed group; returns how many were queued.

        ``key`` names the request, as in ``post_now``: the same broadcast twice queues nothing new.
        """
        with self.db.transaction() as session:
            product = self.catalog.find_by_sku(session, sku)
            if product is None:
                raise ServiceError("no_product", sku=repr(sku))
            if not self.catalog.is_available(product):
                raise ServiceError("not_available_now", sku=sku)
            slot = f"broadcast:{key}" if key else f"broadcast:{product.id}:{self.now():%Y%m%dT%H%M%S}"
            now = self.now()
            # Three statements for any number of groups, not three per group: a broadcast to
            # thousands of groups is queued in a few milliseconds.
            # Every group, whichever bot serves it: each bot's sender sends its own (``due``).
            groups = set(session.scalars(select(Group.id).where(Group.active.is_(True),
                                                                Group.claimed.is_(True))))
            groups -= set(session.scalars(select(Post.group_id).where(Post.slot == slot)))
            last: dict[int, datetime] = {gid: due for gid, due in session.execute(
                select(Post.group_id, func.max(Post.due_at)).where(Post.status.in_(LIVE_STATES))
                .group_by(Post.group_id))}
            rows = [{"code": new_code(), "group_id": gid, "product_id": product.id, "slot": slot,
                     "due_at": max(now, last[gid] + MIN_SPACING) if gid in last else now,
                     "price": product.price, "status": "queued", "attempts": 0, "created_at": now}
                    for gid in sorted(groups)]
            if rows:
                session.execute(insert(Post), rows)
            return len(rows)

    def plan_due(self, *, batch: int = 1000) -> int:
        """Scheduler tick: turn every due slot into an outbox row; returns posts queued."""
        now = self.now()
        grace = timedelta(minutes=self.config.schedule.misfire_grace_minutes)
        queued = 0
        with self.db.transaction() as session:
            due = session.scalars(
                select(Group).where(Group.active.is_(True), Group.claimed.is_(True),
                                    Group.paused.is_(False), Group.next_slot_at <= now, self._served_groups())
                .order_by(Group.next_slot_at).limit(batch)
            ).all()
            # One batch of queries for the whole slot's picks, exclusions and learning stats,
            # instead of five per group (bench/bench_choose.py: 10,000 groups in seconds).
            chosen = choose_for_groups(
                session, due, index=self.catalog.index(), now=now,
                repeat_window_days=self.config.schedule.repeat_window_days, rng=self.rng)
            for group in due:
                queued += self._plan_group(session, group, now, grace, chosen.get(group.id))
        return queued

    def _plan_group(self, session: Session, group: Group, now: datetime, grace: timedelta,
                    first_choice: list[int] | None = None) -> int:
        times = times_from_text(group.times)
        slot = group.next_slot_at
        queued = 0
        while slot is not None and slot <= now:
            if is_missed(slot, now, grace):
                log.warning("slot skipped after downtime", extra={"group": group.chat_id,
                                                                   "slot": slot_key(slot)})
            else:
                # The batch choice holds for the first slot; later piled-up slots of the same
                # group must see the post just queued, so they ask again.
                ids = first_choice if first_choice is not None else self.candidates(session, group, limit=1)
                first_choice = None
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
            # An UPDATE's result is a cursor result, which has the row count.
            result = cast(CursorResult[Any], session.execute(
                update(Post).where(Post.status == "sending",
                                   (Post.claimed_at < cutoff) | Post.claimed_at.is_(None))
                .values(status="unknown", error="sender stopped during the send")
            ))
            return result.rowcount or 0

    def due(self, *, limit: int = 200) -> list[PostJob]:
        """Queued posts whose time has come, oldest first. Nothing changes: ``start`` claims."""
        with self.db.transaction() as session:
            rows = session.execute(
                select(Post.id, Post.code, Group.chat_id, Group.topic_id, Post.product_id,
                       Post.price, Post.attempts)
                .join(Group, Group.id == Post.group_id)
                .where(Post.status == "queued", Post.due_at <= self.now(), self._served_groups())
                .order_by(Post.due_at, Post.id).limit(limit)
            ).all()
        return [PostJob(post_id=r[0], post_code=r[1], chat_id=r[2], topic_id=r[3], product_id=r[4],
                        price=r[5], attempts=r[6] + 1) for r in rows]

    def start(self, jobs: list[PostJob]) -> list[PostJob]:
        """Claim posts right before their requests go out: ``queued → sending``, committed.

        One transaction for many posts. The conditional UPDATE is the claim (a post another
        sender took meanwhile is left out). Here, a few milliseconds before the send:
        - a post to a group that got a post less than a minute ago, or has one in flight, waits
          until that minute is over (the spacing holds however the posts piled up);
        - each deal is re-checked: stock, dates and the price the card shows; a post whose deal
          lapsed switches to the next best deal for its group, or fails when none fits;
        - a scheduled post to a group paused since it was queued fails ("group paused").
        """
        if not jobs:
            return []
        by_id = {job.post_id: job for job in jobs}
        now = self.now()
        # Two prebuilt statements per chunk (bot/services/statements.py).
        with self.db.transaction() as session:
            conn = session.connection()
            rows = conn.execute(statements.CLAIM_CHECK, {"ids": list(by_id)}).all()
            busy = {row.group_id for row in rows if row.in_flight}
            eligible: list[int] = []
            lapsed: set[int] = set()
            for row in rows:
                last = row.last_post_at
                if not row.group_active or (row.paused and is_scheduled(row.slot)):
                    # /pause stops scheduled posts already queued too; /post and /broadcast
                    # are someone's explicit request and still go out.
                    reason = "group inactive" if not row.group_active else "group paused"
                    session.execute(update(Post).where(Post.id == row.id)
                                    .values(status="failed", error=reason))
                elif row.group_id in busy or (last is not None and now - last < MIN_SPACING):
                    later = (max(now, last or now) if row.group_id in busy else last) + MIN_SPACING
                    session.execute(update(Post).where(Post.id == row.id).values(due_at=later))
                else:
                    busy.add(row.group_id)
                    eligible.append(row.id)
                    if not (self.catalog.is_available(row) and row.price == by_id[row.id].price):
                        lapsed.add(row.id)
            if not eligible:
                return []
            claimed = set(conn.execute(statements.CLAIM, {"ids": eligible, "now": now}).scalars())
            ready: list[PostJob] = []
            for post_id in sorted(claimed):
                job = by_id[post_id]
                if post_id not in lapsed:
                    ready.append(job)
                elif (switched := self._substitute(session, post_id, job.product_id)) is not None:
                    ready.append(PostJob(**{**job.__dict__, "product_id": switched.id,
                                            "price": switched.price}))
            return ready

    def _substitute(self, session: Session, post_id: int, lapsed: int) -> Product | None:
        """The next best available deal for a post whose deal lapsed (or None, and it fails)."""
        post = session.get_one(Post, post_id)
        group = session.get_one(Group, post.group_id)
        for pid in self.candidates(session, group, skip={lapsed}, limit=5):
            other = session.get_one(Product, pid)
            if self.catalog.is_available(other):
                post.product_id, post.price = other.id, other.price
                log.info("post switched deal", extra={"post": post_id, "product": other.id})
                return other
        post.status, post.error = "failed", "deal no longer available and no other deal fits"
        log.info("post dropped: deal unavailable", extra={"post": post_id})
        return None

    def record_sent(self, sent: list[tuple[int, int, datetime]]) -> None:
        """Successful sends, many per transaction: ``(post id, message id, answered at)``.

        The time is the sender's, taken when Telegram answered, not when the batch is written:
        the one-minute spacing must count from the send itself."""
        if not sent:
            return
        rows = [{"post_id": post_id, "message_id": message_id, "sent_at": sent_at}
                for post_id, message_id, sent_at in sent]
        with self.db.transaction() as session:
            conn = session.connection()
            conn.execute(statements.RECORD_SENT, rows)
            conn.execute(statements.TOUCH_GROUP, rows)

    def mark_retry(self, post_id: int, *, delay: timedelta, error: str) -> None:
        """The send certainly did not happen (an error answer, 429, 5xx): queue it again later."""
        with self.db.transaction() as session:
            post = session.get_one(Post, post_id)
            post.status, post.error = "queued", error[:512]
            post.due_at = self.now() + delay

    def defer(self, post_id: int, *, delay: timedelta, error: str) -> bool:
        """Push a post that is still ``queued`` (not claimed) to later; False if it was claimed.

        For a sender that only *read* the post: another sender may have claimed it since, and
        putting a ``sending`` post back to ``queued`` would send it twice."""
        with self.db.transaction() as session:
            moved = cast(CursorResult[Any], session.execute(
                update(Post).where(Post.id == post_id, Post.status == "queued")
                .values(due_at=self.now() + delay, error=error[:512])))
            return bool(moved.rowcount)

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
