"""Shared steps of the delivery tests: a catalog, many registered groups, and outbox look-ups."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.services.promoters import Person
from bot.storage.models import Group, Post
from tests.support.flow import feed_csv

OWNER = 101
FEED = feed_csv(
    "acme,SKU1,Thermos 500ml,https://shop.example/p/1,39.00,59.00,10%,home,,,,100,,CNY",
    "acme,SKU2,Wireless earbuds,https://shop.example/p/2,99.00,199.00,0.08,tech,,,,,,CNY",
)


def import_catalog(services: Any, feed: bytes = FEED) -> None:
    """Import a feed; every row must import."""
    result = services.catalog.import_feed(feed, filename="feed.csv")
    assert result.errors == [], result.errors


def register_owner(emu: Any, services: Any, user_id: int = OWNER) -> int:
    """A promoter who started the bot (so groups they add are claimed at once)."""
    emu.add_user(user_id, "Owner", language_code="en")
    services.promoters.register(Person(id=user_id, first_name="Owner", language_code="en"))
    return user_id


def seed_groups(emu: Any, services: Any, count: int, *, owner: int = OWNER,
                **settings: Any) -> list[int]:
    """``count`` groups with the bot in them, registered and claimed, without join chatter.

    The join updates are confirmed away: the groups are registered directly, so a test of
    hundreds of groups does not also test hundreds of greetings.
    """
    chats = []
    for i in range(count):
        chat = emu.create_group(f"Group {i}", admins=[owner])
        emu.add_bot_to_group(chat, owner)
        added = services.groups.bot_added(chat_id=chat, title=f"Group {i}", by_user_id=owner,
                                          adder_is_admin=True)
        assert not added.needs_claim
        if settings:
            services.groups.update(chat, **settings)
        chats.append(chat)
    world = emu.core.world
    world.confirm(world.next_update_id)
    return chats


def posts_of(services: Any, chat_id: int) -> list[Post]:
    """Outbox rows of a group, oldest first."""
    with services.db.transaction() as session:
        group = session.scalars(select(Group).where(Group.chat_id == chat_id)).one()
        return list(session.scalars(select(Post).where(Post.group_id == group.id).order_by(Post.id)))


def group_row(services: Any, chat_id: int) -> Group | None:
    with services.db.transaction() as session:
        return session.scalars(select(Group).where(Group.chat_id == chat_id)).first()


def cards(emu: Any, chat_id: int) -> list[dict[str, Any]]:
    """Cards (photos) the bot posted in a chat."""
    return emu.sent(chat_id=chat_id, method="sendPhoto")
