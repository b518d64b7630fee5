"""Curation and search on real databases: featured, picks, the exact-sku-first search, and a
choice that respects categories, exclusions, featured and picks (through PostingService)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.config import parse_config
from bot.domain.feed import normalize_category
from bot.services.base import ServiceError
from bot.services.container import Services
from bot.storage.db import Database
from bot.storage.models import Product
from tests.support.clock import Clock
from tests.support.flow import feed_csv

FEED = feed_csv(
    "acme,A10,Kettle ten,https://s.example/10,10.00,20.00,5%,home,,,,,yes,CNY",
    "acme,A1,Kettle one,https://s.example/1,10.00,20.00,5%,home,,,,,,CNY",
    "acme,GONE,Sold out kettle,https://s.example/0,10.00,20.00,5%,home,,,,0,,CNY",
    "acme,LATER,Future kettle,https://s.example/2,10.00,20.00,5%,home,,2030-01-01,,,,CNY",
)


@pytest.fixture
def services(db_url: str, clock: Clock) -> Services:
    config = parse_config({"database": {"url": db_url}}, env={})
    return Services(config=config, db=Database.from_url(db_url), now=clock)


def test_search_puts_the_exact_sku_first_and_hides_unavailable(services: Services) -> None:
    services.catalog.import_feed(FEED, filename="feed.csv")
    assert [p.sku for p in services.catalog.search("A1")] == ["A1", "A10"]
    assert [p.sku for p in services.catalog.search("kettle")] == ["A10", "A1"]  # featured first
    assert [p.sku for p in services.catalog.search("KETTLE one")] == ["A1"]
    assert services.catalog.search("gone") == [] and services.catalog.search("future") == []


def test_feature_unfeature_and_pick_refusals(services: Services) -> None:
    services.catalog.import_feed(FEED, filename="feed.csv")
    services.catalog.set_featured("A1", True)
    assert [d.product_id for d in services.catalog.index().featured()] != []
    with pytest.raises(ServiceError, match="no product with sku 'NOPE'"):
        services.catalog.set_featured("NOPE", True)
    services.catalog.set_featured("A10", False)
    services.catalog.set_featured("A1", False)
    assert services.catalog.index().featured() == []
    with services.db.transaction() as session:
        pid = session.scalars(select(Product.id).where(Product.sku == "A1")).one()
    with pytest.raises(ServiceError, match="send /start to me first"):
        services.catalog.pick(user_id=42, product_id=pid)
    with pytest.raises(ServiceError, match="no longer available"):
        services.catalog.pick(user_id=42, product_id=999_999)


def test_category_normalisation_matches_the_feed() -> None:
    assert normalize_category("  Home   Goods ") == "home-goods"
    assert normalize_category("TECH") == "tech"
