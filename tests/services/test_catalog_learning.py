"""The learned ranking end to end on a real database: PostingService.candidates reads the
group's own posts, taps and orders, and Thompson sampling then favours what the group taps."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.config import parse_config
from bot.services.container import Services
from bot.storage.db import Database
from bot.storage.models import Group, Link, Post, Product, Tap, User
from tests.support.clock import Clock
from tests.support.flow import feed_csv

FEED = feed_csv(*(
    f"acme,{cat}{i},{cat} deal {i},https://s.example/{cat}{i},10.00,20.00,10%,{cat},,,,,,CNY"
    for cat in ("home", "tech", "toys") for i in range(40)
))


@pytest.fixture
def services(db_url: str, clock: Clock) -> Services:
    config = parse_config({"database": {"url": db_url}}, env={})
    return Services(config=config, db=Database.from_url(db_url), now=clock, rng=random.Random(1))


def make_group(services: Services, chat_id: int, *, taps_in: str | None) -> int:
    """A claimed group with 30 sent posts, 10 per category, tapped only in ``taps_in``."""
    now = services.now()
    with services.db.transaction() as session:
        if session.get(User, 1) is None:
            session.add(User(id=1, first_name="m", created_at=now))
        group = Group(chat_id=chat_id, title="g", claimed=True, timezone="UTC", times="09:00",
                      created_at=now)
        session.add(group)
        session.flush()
        products = {p.sku: p for p in session.scalars(select(Product))}
        for cat in ("home", "tech", "toys"):
            for i in range(10):
                when = now - timedelta(days=30 + i)  # outside the repeat window
                post = Post(code=f"{chat_id}{cat}{i}", group_id=group.id,
                            product_id=products[f"{cat}{i}"].id, slot=f"{cat}{i}", due_at=when,
                            status="sent", price=1000, created_at=when)
                session.add(post)
                session.flush()
                if cat == taps_in:
                    link = Link(code=f"l{chat_id}{cat}{i}", user_id=1, product_id=post.product_id,
                                post_id=post.id, group_id=group.id, created_at=when)
                    session.add(link)
                    session.flush()
                    session.add(Tap(link_id=link.id, created_at=when))
        return group.id


def categories_chosen(services: Services, group_id: int, rounds: int = 300) -> Counter[str]:
    chosen: Counter[str] = Counter()
    with services.db.transaction() as session:
        group = session.get_one(Group, group_id)
        for _ in range(rounds):
            pid = services.posting.candidates(session, group, limit=1)[0]
            chosen[session.get_one(Product, pid).category] += 1
    return chosen


def test_taps_in_the_database_steer_the_choice(services: Services) -> None:
    services.catalog.import_feed(FEED, filename="feed.csv")
    tapped = make_group(services, -1, taps_in="tech")
    cold = make_group(services, -2, taps_in=None)
    with services.db.transaction() as session:
        stats = services.posting._stats(session, tapped)
    assert {c: (s.posts, s.taps, s.orders) for c, s in stats.items()} == {
        "home": (10, 0, 0), "tech": (10, 10, 0), "toys": (10, 0, 0)}
    learned = categories_chosen(services, tapped)
    assert learned["tech"] > 0.9 * sum(learned.values())
    even = categories_chosen(services, cold)
    assert all(even[c] > 50 for c in ("home", "tech", "toys")), even  # cold start explores


def test_seeded_random_source_makes_the_choice_repeatable(services: Services) -> None:
    services.catalog.import_feed(FEED, filename="feed.csv")
    group = make_group(services, -3, taps_in="home")
    services.rng.seed(42)
    first = categories_chosen(services, group, rounds=20)
    services.rng.seed(42)
    assert categories_chosen(services, group, rounds=20) == first
