"""Users and promoters: registration, invites, uplines and tiers."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.domain.links import new_code
from bot.domain.split import Upline
from bot.domain.tiers import TIERS, compute_tiers, would_cycle
from bot.services import statements
from bot.services.base import Service, ServiceError
from bot.storage.models import LedgerEntry, Order, User

_USERNAME = re.compile(r"[A-Za-z0-9_]{1,32}")


@dataclass(frozen=True)
class Person:
    """The Telegram facts about a user that kocbot keeps."""

    id: int
    first_name: str = ""
    username: str | None = None
    language_code: str | None = None


@dataclass
class Registration:
    user: User
    created: bool
    upline_set: bool = False


@dataclass
class Team:
    tier: str
    invitees: list[User] = field(default_factory=list)
    active_invitees: int = 0
    mentor_invitees: int = 0
    team_earned: int = 0


class PromoterService(Service):
    """Who is who, and who brought whom."""

    def touch(self, session: Session, person: Person) -> User:
        """Create or refresh the user row for someone the bot has seen."""
        user = session.get(User, person.id)
        if user is None:
            user = User(id=person.id, first_name=person.first_name[:128], username=person.username,
                        language_code=person.language_code, created_at=self.now(), tier="promoter")
            session.add(user)
            session.flush()
        else:
            user.first_name = person.first_name[:128] or user.first_name
            user.username = person.username
            user.language_code = person.language_code or user.language_code
        return user

    def touch_many(self, session: Session, people: Iterable[Person]) -> None:
        """``touch`` for a burst of people at once, in set-wise statements (the tap path)."""
        latest = {person.id: person for person in people}  # the newest facts win
        conn = session.connection()
        known = {row.id: row for row in conn.execute(statements.KNOWN_USERS, {"ids": list(latest)})}
        fresh, changed = [], []
        for person in latest.values():
            row = known.get(person.id)
            if row is None:
                fresh.append({"id": person.id, "first_name": person.first_name[:128],
                              "username": person.username, "language_code": person.language_code,
                              "created_at": self.now(), "tier": "promoter"})
                continue
            facts = (person.first_name[:128] or row.first_name, person.username,
                     person.language_code or row.language_code)
            if facts != (row.first_name, row.username, row.language_code):
                changed.append({"user_id": person.id, "new_first_name": facts[0],
                                "new_username": facts[1], "new_language_code": facts[2]})
        if fresh:
            conn.execute(statements.ADD_USER, fresh)
        if changed:
            conn.execute(statements.UPDATE_USER, changed)

    def register(self, person: Person, *, invite_code: str | None = None) -> Registration:
        """Register as a promoter (idempotent); the inviter becomes upline on first registration only."""
        with self.db.transaction() as session:
            user = self.touch(session, person)
            if user.registered_at is not None:
                return Registration(user=user, created=False)
            user.registered_at = self.now()
            user.invite_code = user.invite_code or new_code()
            upline_set = False
            if invite_code:
                inviter = session.scalars(select(User).where(User.invite_code == invite_code)).first()
                if inviter is not None and inviter.registered_at is not None:
                    chain = dict(session.execute(select(User.id, User.upline_id)).all())
                    if not would_cycle(chain, user.id, inviter.id):
                        user.upline_id = inviter.id
                        upline_set = True
            return Registration(user=user, created=True, upline_set=upline_set)

    def get(self, user_id: int) -> User | None:
        with self.db.transaction() as session:
            return session.get(User, user_id)

    def resolve(self, ref: str) -> User:
        """The user named by ``123`` or ``@username``; ServiceError saying why not."""
        text = ref.strip()
        with self.db.transaction() as session:
            if text.lstrip("-").isdigit():
                user = session.get(User, int(text))
                if user is None:
                    raise ServiceError("no_user", user_id=text)
                return user
            name = text.removeprefix("@")
            if not text.startswith("@") or not _USERNAME.fullmatch(name):
                raise ServiceError("not_user_id_or_name", text=repr(text[:40]))
            # Telegram usernames ignore case. A name can pass to someone else, so the table may
            # hold it twice (the old holder not seen since): then only the id is unambiguous.
            found = list(session.scalars(
                select(User).where(func.lower(User.username) == name.lower()).order_by(User.id).limit(5)))
        if not found:
            raise ServiceError("username_never_seen", name=name)
        if len(found) > 1:
            ids = ", ".join(str(u.id) for u in found)
            raise ServiceError("username_matches_many", name=name, ids=ids)
        return found[0]

    def is_registered(self, session: Session, user_id: int) -> bool:
        user = session.get(User, user_id)
        return user is not None and user.registered_at is not None

    def uplines(self, session: Session, promoter_id: int, *, levels: int = 2) -> list[Upline]:
        """The promoter's uplines, nearest first, at most ``levels`` deep."""
        chain: list[Upline] = []
        seen = {promoter_id}
        current = session.get(User, promoter_id)
        while current is not None and current.upline_id is not None and len(chain) < levels:
            if current.upline_id in seen:
                break
            seen.add(current.upline_id)
            current = session.get(User, current.upline_id)
            if current is None:
                break
            chain.append(Upline(user_id=current.id, tier=current.tier))
        return chain

    def refresh_chain(self, session: Session, promoter_id: int | None) -> dict[int, str]:
        """Promote, in the caller's transaction, whom an order event of ``promoter_id`` can
        promote: its inviter (mentor by active invitees), and further up while someone
        crosses the mentor line (partner by mentor invitees). Returns the promoted ones.

        Only promotions take effect here, at the event that earns them (PRODUCT.md); a
        demotion (a refund, or a 30-day window running out) waits for the hourly sweep,
        so a tier never drops and comes back within one burst of reports."""
        changed: dict[int, str] = {}
        if promoter_id is None:
            return changed
        me = session.get(User, promoter_id)
        seen = {promoter_id}
        upline = me.upline_id if me is not None else None
        while upline is not None and upline not in seen:
            seen.add(upline)
            user = session.get(User, upline)
            if user is None or user.registered_at is None:
                break
            old, new = user.tier, self._tier_now(session, user.id)
            if TIERS.index(new) <= TIERS.index(old):
                break  # not promoted: nothing above can be promoted by this event
            user.tier = new
            changed[user.id] = new
            if old != "promoter":
                break  # mentor → partner: the inviter's count of mentors did not move
            upline = user.upline_id
        return changed

    def _tier_now(self, session: Session, user_id: int) -> str:
        """One user's tier from data, with their invitees' tiers as stored now."""
        since = self.now() - timedelta(days=30)
        kids = session.execute(select(User.id, User.tier).where(
            User.upline_id == user_id, User.registered_at.is_not(None))).all()
        mentors = sum(1 for _, tier in kids if tier in ("mentor", "partner"))
        if mentors >= self.config.tiers.partner_min_mentors:
            return "partner"
        invitees = select(User.id).where(User.upline_id == user_id, User.id != user_id,
                                         User.registered_at.is_not(None))
        active = session.scalar(
            select(func.count(func.distinct(Order.promoter_id))).where(
                Order.promoter_id.in_(invitees), Order.status == "confirmed",
                Order.confirmed_at >= since)
        ) if kids else 0
        return "mentor" if (active or 0) >= self.config.tiers.mentor_min_active_invitees else "promoter"

    def refresh_tiers(self, *, max_age: timedelta = timedelta(minutes=1)) -> dict[int, str]:
        """Recompute tiers on demand (for /team), at most once per ``max_age``."""
        last = getattr(self, "_tiers_at", None)
        now = self.now()
        if last is not None and now - last < max_age:
            return {}
        return self.recompute_tiers()

    def recompute_tiers(self) -> dict[int, str]:
        """Recompute every promoter's tier from data; returns the changed ones."""
        self._tiers_at = self.now()
        since = self.now() - timedelta(days=30)
        # The users are locked before the orders are read: a promotion that an order report
        # makes meanwhile (refresh_chain) then waits for this sweep, and is not overwritten
        # by a tier computed from orders as they were before it.
        with self.db.transaction(immediate=True) as session:
            invitees: dict[int, list[int]] = {}
            users = session.execute(
                select(User.id, User.upline_id, User.tier).where(User.registered_at.is_not(None))
                .order_by(User.id).with_for_update()
            ).all()
            for uid, upline, _ in users:
                if upline is not None:
                    invitees.setdefault(upline, []).append(uid)
            active: set[int] = set(session.scalars(
                select(Order.promoter_id).where(Order.status == "confirmed",
                                                Order.confirmed_at >= since,
                                                Order.promoter_id.is_not(None)).distinct()
            ))
            tiers = compute_tiers(
                invitees=invitees, active=active,
                mentor_min_active_invitees=self.config.tiers.mentor_min_active_invitees,
                partner_min_mentors=self.config.tiers.partner_min_mentors,
            )
            changed: dict[int, str] = {}
            for uid, _, old in users:
                new = tiers.get(uid, "promoter")
                if new != old:
                    session.get_one(User, uid).tier = new
                    changed[uid] = new
            return changed

    def team(self, user_id: int) -> Team:
        """Tier, direct invitees and what the team earned, for /team."""
        since = self.now() - timedelta(days=30)
        with self.db.transaction() as session:
            me = session.get(User, user_id)
            tier = me.tier if me else "promoter"
            invitees = list(session.scalars(
                select(User).where(User.upline_id == user_id).order_by(User.registered_at)
            ))
            ids = [u.id for u in invitees]
            active: set[int] = set(session.scalars(
                select(Order.promoter_id).where(Order.promoter_id.in_(ids), Order.status == "confirmed",
                                                Order.confirmed_at >= since).distinct()
            )) if ids else set()
            earned = session.scalar(
                select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                    LedgerEntry.user_id.in_(ids),
                    LedgerEntry.bucket.in_(("pending", "confirmed", "payable", "paid")),
                )
            ) if ids else 0
            return Team(tier=tier, invitees=invitees, active_invitees=len(active),
                        mentor_invitees=sum(1 for u in invitees if u.tier in ("mentor", "partner")),
                        team_earned=int(earned or 0))
