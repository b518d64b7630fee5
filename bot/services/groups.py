"""Group lifecycle and settings: added, claimed, removed, migrated; schedule, topic, categories."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.links import new_code
from bot.domain.schedule import parse_slot_times
from bot.services.base import Service, ServiceError
from bot.storage.models import Group, GroupTopic, User


@dataclass(frozen=True)
class Added:
    group: Group
    needs_claim: bool  # the adder never started the bot: the group waits for a g_ claim


class GroupService(Service):
    """Everything about the groups the bot is in."""

    def get(self, session: Session, chat_id: int) -> Group | None:
        return session.scalars(select(Group).where(Group.chat_id == chat_id)).first()

    def find(self, chat_id: int) -> Group | None:
        """The group with this chat id, or None (read in a transaction of its own)."""
        with self.db.transaction() as session:
            return self.get(session, chat_id)

    def bot_added(self, *, chat_id: int, title: str, by_user_id: int, bot_id: int | None = None,
                  adder_is_admin: bool = False) -> Added:
        """Register (or re-activate) a group; owned by the adder if the adder is a promoter
        whom Telegram reports as the group's creator or an administrator."""
        with self.db.transaction() as session:
            group = self.get(session, chat_id)
            adder = session.get(User, by_user_id)
            registered = adder is not None and adder.registered_at is not None
            if group is None:
                group = Group(
                    chat_id=chat_id, title=title[:256], created_at=self.now(),
                    timezone=self.config.schedule.timezone,
                    times=" ".join(self.config.schedule.default_times),
                )
                session.add(group)
            group.title = title[:256]
            group.active = True
            group.added_by = by_user_id
            group.bot_id = bot_id if bot_id is not None else group.bot_id
            # Any member may add a bot; only an administrator may make it theirs.
            if registered and adder_is_admin and not group.claimed:
                group.owner_id = by_user_id
                group.claimed = True
                group.claim_token = None
            elif not group.claimed:
                group.claim_token = group.claim_token or new_code()
            session.flush()
            return Added(group=group, needs_claim=not group.claimed)

    def claim(self, *, token: str, user_id: int, is_admin: bool) -> Group:
        """A group admin who opened the g_ link becomes the group's owner."""
        with self.db.transaction() as session:
            group = session.scalars(select(Group).where(Group.claim_token == token)).first()
            if group is None:
                raise ServiceError("group_link_invalid")
            if not is_admin:
                raise ServiceError("claim_admin_only")
            group.owner_id = user_id
            group.claimed = True
            group.claim_token = None
            return group

    def claim_target(self, token: str) -> Group | None:
        """The group a g_ token would claim (so the caller can check admin rights first)."""
        with self.db.transaction() as session:
            return session.scalars(select(Group).where(Group.claim_token == token)).first()

    def bot_removed(self, chat_id: int) -> None:
        """The bot was removed or the chat is gone: nothing more is posted there."""
        with self.db.transaction() as session:
            group = self.get(session, chat_id)
            if group is not None:
                group.active = False

    def migrate(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup: same settings and history under the new id."""
        with self.db.transaction() as session:
            old = self.get(session, old_chat_id)
            if old is None:
                return
            clash = self.get(session, new_chat_id)
            if clash is not None and clash.id != old.id:
                # The new id registered itself first (its service message came earlier):
                # keep the old row, whose history matters, and retire the empty one.
                clash.chat_id = -abs(clash.id) - 10**15
                session.flush()
            old.chat_id = new_chat_id
            old.active = True

    def update(self, chat_id: int, **changes: object) -> Group:
        """Change settings of a known group."""
        with self.db.transaction() as session:
            group = self.get(session, chat_id)
            if group is None:
                raise ServiceError("group_not_registered")
            for key, value in changes.items():
                setattr(group, key, value)
            return group

    def set_schedule(self, chat_id: int, words: list[str]) -> Group:
        """Set posting times from ``["09:00", "20:00"]`` (``["off"]``: none); ServiceError if bad."""
        return self.update(chat_id, times=times_value(words))

    def set_timezone(self, chat_id: int, name: str) -> Group:
        """Set the group's IANA time zone; ServiceError for an unknown name."""
        return self.update(chat_id, timezone=timezone_value(name))

    def set_categories(self, chat_id: int, words: list[str]) -> Group:
        """Which categories the group gets: ``["all"]`` (or none) for every one."""
        return self.update(chat_id, categories=categories_value(words))

    def change(self, chat_id: int, *, times: list[str] | None = None, timezone: str | None = None,
               categories: list[str] | None = None, paused: bool | None = None,
               topic: int | None | bool = False) -> Group:
        """Several settings at once, checked by the same rules as the group commands, and
        written together or not at all (the mini app's settings form). ``topic``: a known
        forum topic's thread id, or None for the main chat; False leaves it as it is."""
        changes: dict[str, object] = {}
        if times is not None:
            changes["times"] = times_value(times)
        if timezone is not None:
            changes["timezone"] = timezone_value(timezone)
        if categories is not None:
            changes["categories"] = categories_value(categories)
        if paused is not None:
            changes["paused"] = bool(paused)
        if topic is not False and not isinstance(topic, bool):
            changes["topic_id"] = self._topic_value(chat_id, topic)
        return self.update(chat_id, **changes)

    def topic_seen(self, chat_id: int, thread_id: int, name: str | None = None) -> None:
        """Remember a forum topic of the group (its name when Telegram gave it)."""
        with self.db.transaction() as session:
            group = self.get(session, chat_id)
            if group is None:
                return
            known = session.get(GroupTopic, (group.id, thread_id))
            if known is None:
                session.add(GroupTopic(group_id=group.id, thread_id=thread_id,
                                       name=(name or f"#{thread_id}")[:128], seen_at=self.now()))
            else:
                known.seen_at = self.now()
                if name:
                    known.name = name[:128]

    def topics(self, chat_id: int) -> list[GroupTopic]:
        """The group's known forum topics, by name."""
        with self.db.transaction() as session:
            return list(session.scalars(
                select(GroupTopic).join(Group, Group.id == GroupTopic.group_id)
                .where(Group.chat_id == chat_id).order_by(GroupTopic.name, GroupTopic.thread_id)))

    def set_topic(self, chat_id: int, thread_id: int | None) -> Group:
        """Post into that forum topic from now on (None: the main chat), as /topic does; the
        topic must be one the bot has seen in this group."""
        return self.update(chat_id, topic_id=self._topic_value(chat_id, thread_id))

    def _topic_value(self, chat_id: int, thread_id: int | None) -> int | None:
        if thread_id is None:
            return None
        with self.db.transaction() as session:
            group = self.get(session, chat_id)
            if group is None or session.get(GroupTopic, (group.id, thread_id)) is None:
                raise ServiceError("unknown_topic")
        return thread_id

    def owned(self, chat_id: int, user_id: int) -> Group:
        """The group, if ``user_id`` owns it; ServiceError otherwise (unknown looks the same)."""
        with self.db.transaction() as session:
            group = self.get(session, chat_id)
        if group is None or group.owner_id != user_id:
            raise ServiceError("owner_only")
        return group

    def owned_by(self, user_id: int) -> list[Group]:
        with self.db.transaction() as session:
            return list(session.scalars(
                select(Group).where(Group.owner_id == user_id).order_by(Group.created_at)
            ))

    def active_groups(self) -> list[Group]:
        with self.db.transaction() as session:
            return list(session.scalars(
                select(Group).where(Group.active.is_(True), Group.claimed.is_(True))
            ))


def times_value(words: list[str]) -> str:
    """The stored posting times for ``/schedule`` words (``["off"]`` → none); ServiceError if bad."""
    if words == ["off"]:
        return ""
    try:
        times = parse_slot_times(words)
    except ValueError as exc:
        raise ServiceError("bad_times", reason=str(exc)) from None
    return " ".join(t.strftime("%H:%M") for t in times)


def timezone_value(name: str) -> str:
    """An IANA zone name that exists here; ServiceError otherwise."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ServiceError("unknown_timezone", name=repr(name)) from None
    return name


def categories_value(words: list[str]) -> str:
    """The stored categories for ``/categories`` words (``["all"]`` or none → every one)."""
    value = "" if words in ([], ["all"]) else " ".join(sorted({w.lower()[:32] for w in words}))
    if len(value) > 512:
        raise ServiceError("too_many_categories")
    return value
