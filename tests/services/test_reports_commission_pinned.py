"""/commission and the dashboard's 30-day series against a plain recomputation, entry by entry,
over a seeded random ledger: every bucket (with "payable as of now"), both windows, per group,
per day, several currencies, entries without an order, clicks by people and bots. This pins
the fast query path to the straightforward answer on SQLite and PostgreSQL."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, timedelta

import pytest

from bot.services.reports import EARNING
from bot.storage.models import Click, Group, LedgerEntry, Link, Order, User
from tests.support.clock import Clock
from tests.support.world import FEED, make_services, product_ids

ME, OTHER = 501, 502
BUCKETS = ("pending", "confirmed", "payable", "paid", "reversed")
STATUSES = ("pending", "confirmed", "cancelled", "refunded")


def _ledger(rng: random.Random, now: datetime, hold: int, skus: list[int]) -> dict:
    """Random users, groups, links, clicks, orders and entries, as insertable rows."""
    groups = [{"id": g, "chat_id": -900 - g, "title": f"G{g}", "owner_id": ME, "claimed": True,
               "timezone": "UTC", "times": "09:00", "created_at": now} for g in (1, 2, 3)]
    links, clicks, orders, entries = [], [], [], []
    for n in range(1, 41):
        promoter = rng.choice((ME, ME, OTHER))
        links.append({"id": n, "code": f"pin{n:05d}", "user_id": promoter, "product_id": rng.choice(skus),
                      "group_id": rng.choice((1, 2, 3, None)), "promoter_id": promoter,
                      "created_at": now})
        for c in range(rng.randrange(5)):
            # Some on the same link and day (one unique clicker), some on the window edges.
            at = now - timedelta(days=rng.choice((0, 0.2, 1, 6.99, 7.01, 29.99, 30.01, 45)),
                                 minutes=rng.randrange(3))
            clicks.append({"id": f"k{n}-{c}", "link_id": n, "created_at": at,
                           "is_bot": rng.random() < 0.25})
    for n in range(1, 121):
        status = rng.choice(STATUSES)
        # ordered_at on and near the 7- and 30-day edges and the day boundaries, and in the
        # future; the next edges ahead are apart, each kind at its own time (see the moves).
        ordered = now - timedelta(days=rng.choice((-1, 0, 0.5, 6.999, 7, 7.001, 20, 29.99, 30, 30.001,
                                                    40)), seconds=rng.choice((0, 1, 3600)))
        confirmed = (now - timedelta(days=hold + rng.choice((-1, -0.04, 0, 0.001, 2)))
                     if status in ("confirmed", "refunded") else None)
        settled = now if status == "confirmed" and rng.random() < 0.3 else None
        orders.append({"id": n, "order_id": f"pin{n}", "link_id": rng.choice(links)["id"],
                       "group_id": rng.choice((1, 2, 3, None)), "promoter_id": rng.choice((ME, OTHER)),
                       "buyer_id": ME, "product_id": rng.choice(skus), "amount": 10_000, "pool": 1_000,
                       "currency": "CNY", "status": status, "ordered_at": ordered,
                       "confirmed_at": confirmed, "settled_at": settled, "created_at": now,
                       "updated_at": now})
        for _ in range(rng.randrange(1, 4)):
            entries.append({"order_id": n, "event": status, "party": "promoter",
                            "user_id": rng.choice((ME, ME, OTHER)), "bucket": rng.choice(BUCKETS),
                            "amount": rng.randrange(-500, 3000),
                            "currency": rng.choice(("CNY", "CNY", "USD")), "created_at": now})
    for _ in range(10):  # payouts and adjustments: entries with no order
        entries.append({"order_id": None, "event": "payout", "party": "promoter", "user_id": ME,
                        "bucket": rng.choice(BUCKETS), "amount": rng.randrange(-2000, 2000),
                        "currency": "CNY", "created_at": now})
    return {"groups": groups, "links": links, "clicks": clicks, "orders": orders, "entries": entries}


def _expected(rows: dict, now: datetime, hold: int, currency: str) -> dict:
    """The answer computed the plain way, one entry at a time."""
    orders = {o["id"]: o for o in rows["orders"]}
    titles = {g["id"]: g["title"] for g in rows["groups"]}
    buckets: dict[str, int] = defaultdict(int)
    per_group: dict[int, int] = defaultdict(int)
    d7 = d30 = 0
    today = now.date()
    first = today - timedelta(days=29)
    start = datetime.combine(first, datetime.min.time(), tzinfo=now.tzinfo)
    per_day: dict[date, int] = defaultdict(int)
    for e in rows["entries"]:
        if e["user_id"] != ME:
            continue
        o = orders.get(e["order_id"])
        if o is not None and e["bucket"] in EARNING and o["ordered_at"] >= start:
            per_day[o["ordered_at"].date()] += e["amount"]  # every currency, as the chart sums
        if e["currency"] != currency:
            continue
        bucket = e["bucket"]
        if (o is not None and bucket == "confirmed" and o["status"] == "confirmed"
                and o["settled_at"] is None and o["confirmed_at"] <= now - timedelta(days=hold)):
            bucket = "payable"
        buckets[bucket] += e["amount"]
        if o is not None and e["bucket"] in EARNING:
            d7 += e["amount"] if o["ordered_at"] >= now - timedelta(days=7) else 0
            d30 += e["amount"] if o["ordered_at"] >= now - timedelta(days=30) else 0
            if bucket in EARNING and o["group_id"] is not None:
                per_group[o["group_id"]] += e["amount"]
    mine = {link["id"] for link in rows["links"] if link["promoter_id"] == ME}
    human = [c for c in rows["clicks"] if c["link_id"] in mine and not c["is_bot"]]
    return {
        "buckets": {b: a for b, a in buckets.items()},
        "last_7_days": d7, "last_30_days": d30,
        "per_group": [(titles[g], a) for g, a in sorted(per_group.items(), key=lambda i: (-i[1], i[0])) if a],
        "clicks": len(human),
        "unique_clicks": len({(c["link_id"], c["created_at"].date()) for c in human}),
        "orders": sum(1 for o in rows["orders"] if o["promoter_id"] == ME
                      and o["status"] in ("pending", "confirmed")),
        "series": [(first + timedelta(days=n), per_day.get(first + timedelta(days=n), 0)) for n in range(30)],
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_commission_and_series_match_a_plain_recomputation(db_url: str, seed: int) -> None:
    rng = random.Random(seed)
    # A clock just after midnight, so the 30-day chart's first day and the windows differ.
    clock = Clock(datetime(2026, 11, 24, 0, 30, tzinfo=Clock().current.tzinfo))
    s = make_services(db_url, clock)
    s.catalog.import_feed(FEED, filename="feed.csv")
    hold = s.config.commission.settle_after_days
    now = clock()
    with s.db.transaction() as session:
        for uid in (ME, OTHER):
            session.add(User(id=uid, first_name=f"U{uid}", registered_at=now, invite_code=f"pin{uid}",
                             created_at=now))
        session.flush()
        rows = _ledger(rng, now, hold, list(product_ids(s).values()))
        for model, key in ((Group, "groups"), (Link, "links"), (Click, "clicks"), (Order, "orders"),
                           (LedgerEntry, "entries")):
            session.execute(model.__table__.insert(), rows[key])
    # The clock alone crosses, in turn: the 7-day edges (86 s ahead), the 30-day edges
    # (14.4 min), the hold's end (57.6 min), midnight, then goes back; new rows show at once.
    moves = [dict(seconds=60), dict(seconds=30), dict(minutes=15), dict(minutes=45), dict(hours=23),
             dict(hours=-30), dict(days=6, hours=23)]
    recent = [o["id"] for o in rows["orders"] if now - timedelta(days=1) <= o["ordered_at"] <= now]

    def check() -> None:
        for _ in range(2):  # once computed, once as kept
            now = clock()
            want = _expected(rows, now, hold, s.config.commission.currency)
            got = s.reports.commission(ME)
            assert {b: a for b, a in got.buckets.items() if a or b in want["buckets"]} == want["buckets"]
            assert (got.last_7_days, got.last_30_days) == (want["last_7_days"], want["last_30_days"])
            assert got.per_group == want["per_group"]
            assert (got.clicks, got.unique_clicks, got.orders) == (
                want["clicks"], want["unique_clicks"], want["orders"])
            assert s.dashboard.daily_commission(ME, days=30) == want["series"]

    for step, move in enumerate(moves):
        check()
        entry = {"order_id": rng.choice(recent), "event": "confirmed", "party": "promoter",
                 "user_id": ME, "bucket": ("confirmed", "pending", "payable")[step % 3],
                 "amount": 1 + step, "currency": "CNY", "created_at": clock()}
        link = next(link for link in rows["links"] if link["promoter_id"] == ME)
        click = {"id": f"new{step}", "link_id": link["id"], "created_at": clock(), "is_bot": False}
        if step % 3 == 1:
            with s.db.transaction() as session:
                session.execute(LedgerEntry.__table__.insert(), [entry])
                session.execute(Click.__table__.insert(), [click])
            rows["entries"].append(entry)
            rows["clicks"].append(click)
            check()
        clock.advance(**move)
    check()
