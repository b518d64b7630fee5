"""Inline sharing at the service level (``TrackingService.shares_for``) on real SQLite and
PostgreSQL: one share per sharer and deal, made on first offer and offered again after."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.services.promoters import Person
from bot.storage.models import Share, User
from tests.support.world import product_ids

ANN, BOB = Person(id=501, first_name="Ann"), Person(id=502, first_name="Bob")


def share_rows(services) -> int:
    with services.db.transaction() as session:
        return session.scalar(select(func.count()).select_from(Share))


def test_each_keystroke_offers_the_same_shares(services) -> None:
    skus = product_ids(services)
    some = [skus["SKU1"], skus["SKU2"]]
    more = [skus["SKU2"], skus["SKU3"], skus["SKU2"]]
    shares = lambda who, ids: services.tracking.shares_for(  # noqa: E731
        sharer=who, product_ids=ids, promoters=services.promoters)

    first = shares(ANN, some)
    assert set(first) == set(some) and len(set(first.values())) == 2
    again = shares(ANN, more)  # a later keystroke: SKU2 again, SKU3 new
    assert again[skus["SKU2"]] == first[skus["SKU2"]]
    assert set(again) == {skus["SKU2"], skus["SKU3"]}
    assert share_rows(services) == 3
    bobs = shares(BOB, some)  # another sharer gets shares of his own
    assert not set(bobs.values()) & set(first.values())
    assert share_rows(services) == 5
    assert shares(ANN, []) == {}
    with services.db.transaction() as session:
        assert session.get_one(User, ANN.id).first_name == "Ann"  # the sharer is known now
