"""A small money world built through the real services on a real database: a catalog,
groups with sent posts, promoters with uplines, links and clicks."""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from bot.config import parse_config
from bot.domain.links import new_code
from bot.services.container import Services
from bot.services.promoters import Person
from bot.services.tracking import ClickRecord
from bot.storage.db import Database
from bot.storage.models import Group, LedgerEntry, Order, Post, Product, User
from tests.support.clock import Clock
from tests.support.config import POSTBACK_SECRET
from tests.support.flow import feed_csv

FEED = feed_csv(
    "acme,SKU1,Thermos 500ml,https://shop.example/p/1,39.00,59.00,10%,home,,,,100,,CNY",
    "acme,SKU2,Wireless earbuds,https://shop.example/p/2,99.00,199.00,0.08,tech,,,,,,CNY",
    "acme,SKU3,Tea set,https://shop.example/p/3,128.50,150.00,12.5%,home,,,,,,CNY",
)


def make_services(db_url: str, clock: Clock, **sections: dict[str, Any]) -> Services:
    """Services on a migrated database, with the test clock."""
    raw: dict[str, Any] = {"telegram": {"token": "1:T"}, "database": {"url": db_url},
                           "postback": {"secret": POSTBACK_SECRET}}
    for name, values in sections.items():
        raw.setdefault(name, {}).update(values)
    config = parse_config(raw, env={})
    return Services(config=config, db=Database.from_url(db_url), now=clock, rng=random.Random(1))


def register(services: Services, user_id: int, name: str, *, inviter: int | None = None) -> None:
    """Register a promoter, invited by ``inviter`` if given."""
    code = None
    if inviter is not None:
        code = services.promoters.get(inviter).invite_code
    services.promoters.register(Person(id=user_id, first_name=name), invite_code=code)


def add_group(services: Services, chat_id: int, title: str, owner: int) -> int:
    """A claimed group owned by ``owner``; returns its row id."""
    with services.db.transaction() as session:
        group = Group(chat_id=chat_id, title=title, owner_id=owner, added_by=owner, claimed=True,
                      active=True, paused=False, timezone="Asia/Shanghai", times="09:00",
                      categories="", created_at=services.now())
        session.add(group)
        session.flush()
        return group.id


# The upline chain of the money tests: partner → mentor → promoter, and a buyer.
PARTNER, MENTOR, PROMOTER, BUYER = 1, 2, 3, 4


def upline_chain(services: Services) -> tuple[int, str]:
    """The feed, a partner → mentor → promoter chain, a group of the promoter's with a Tea set
    (SKU3) card, and the buyer's link to it: returns (group row id, link code)."""
    services.catalog.import_feed(FEED, filename="feed.csv")
    register(services, PARTNER, "Pat")
    register(services, MENTOR, "Mo", inviter=PARTNER)
    register(services, PROMOTER, "Pro", inviter=MENTOR)
    with services.db.transaction() as session:
        session.get_one(User, PARTNER).tier = "partner"
        session.get_one(User, MENTOR).tier = "mentor"
    group = add_group(services, -100, "Club", PROMOTER)
    return group, tap(services, add_post(services, group, product_ids(services)["SKU3"]), BUYER, "Bea")


def product_ids(services: Services) -> dict[str, int]:
    with services.db.transaction() as session:
        return {p.sku: p.id for p in session.query(Product).all()}


def add_post(services: Services, group_id: int, product_id: int, price: int = 3900) -> str:
    """A sent card in a group; returns its post code."""
    code = new_code()
    with services.db.transaction() as session:
        session.add(Post(code=code, group_id=group_id, product_id=product_id, slot=f"now:{code}",
                         due_at=services.now(), status="sent", price=price,
                         created_at=services.now(), sent_at=services.now()))
    return code


def tap(services: Services, post_code: str, member: int, name: str = "") -> str:
    """A member taps Buy; returns the link code."""
    link = services.tracking.tap_post(post_code=post_code, person=Person(id=member, first_name=name),
                                      promoters=services.promoters)
    return link.code


def clicks(services: Services, link_code: str, count: int = 1, *, at: datetime | None = None,
           is_bot: bool = False) -> list[str]:
    """``count`` clicks on a link, written as the web buffer would; returns their ids."""
    target = services.tracking.resolve(link_code)
    assert target is not None
    records = [ClickRecord(id=new_code(), link_id=target.link_id, at=at or services.now(),
                           is_bot=is_bot, ip_hash=None, user_agent="test", referrer=None)
               for _ in range(count)]
    services.tracking.save_clicks(records, orders=services.orders, promoters=services.promoters)
    return [r.id for r in records]


def holdings(services: Services, order_id: str) -> dict[tuple[str, int | None, str], int]:
    """The order's balance per (party, user, bucket), read from the ledger."""
    with services.db.transaction() as session:
        rows = session.execute(
            select(LedgerEntry.party, LedgerEntry.user_id, LedgerEntry.bucket, func.sum(LedgerEntry.amount))
            .join(Order, Order.id == LedgerEntry.order_id).where(Order.order_id == order_id)
            .group_by(LedgerEntry.party, LedgerEntry.user_id, LedgerEntry.bucket))
        return {(p, u, b): int(a) for p, u, b, a in rows if a}
