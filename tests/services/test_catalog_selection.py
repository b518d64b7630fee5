"""choose_for_groups gives exactly what PostingService.candidates gives, group by group, with
the same seeded random source: same picks, exclusions and learning stats, read in batches."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from bot.services import base
from bot.services.container import Services
from bot.services.selection import batch_stats, choose_for_groups
from bot.storage.models import Group, Pick, Post, Product, User
from tests.services.test_catalog_learning import FEED, make_group, services  # noqa: F401


def test_batched_choice_equals_per_group_choice(services: Services, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setattr(base, "IN_LIST", 2)  # several IN-chunks even with five groups
    services.catalog.import_feed(FEED, filename="feed.csv")
    ids = [make_group(services, -10 - n, taps_in=cat)
           for n, cat in enumerate(["home", "tech", None, "toys", "home"])]
    now = services.now()
    with services.db.transaction() as session:
        products = {p.sku: p.id for p in session.scalars(select(Product))}
        session.add(User(id=77, first_name="owner", created_at=now))
        session.flush()
        for n, sku in enumerate(["toys5", "home30", "tech31"]):
            session.add(Pick(user_id=77, product_id=products[sku], created_at=now + timedelta(n)))
        groups = {g.id: g for g in session.scalars(select(Group))}
        groups[ids[1]].owner_id = 77
        groups[ids[2]].categories = "home toys"
        for k, sku in enumerate(["home31", "home32", "toys5"]):  # recent: excluded
            session.add(Post(code=f"recent{k}", group_id=ids[1], product_id=products[sku],
                             slot=f"r{k}", due_at=now, status="sent", price=1000, created_at=now))

    with services.db.transaction() as session:
        ordered = [session.get_one(Group, gid) for gid in ids]
        assert batch_stats(session, ids) == {gid: services.posting._stats(session, gid)
                                             for gid in ids}
        services.posting.rng = random.Random(9)
        one_by_one = {g.id: services.posting.candidates(session, g, limit=5) for g in ordered}
        batched = choose_for_groups(session, ordered, index=services.catalog.index(), now=now,
                                    repeat_window_days=services.config.schedule.repeat_window_days,
                                    rng=random.Random(9), limit=5)
    assert batched == one_by_one
    assert one_by_one[ids[1]][:2] == [products["home30"], products["tech31"]]  # picks first
    assert products["toys5"] not in one_by_one[ids[1]]  # posted just now
