"""The feed import service on real databases: every validation rule reported with its line,
upsert by (merchant, sku), one transaction, --strict, --deactivate-missing, merchants."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import select

from bot.config import parse_config
from bot.services import Services
from bot.services.base import ServiceError
from bot.storage.db import Database
from bot.storage.models import Merchant, Product
from tests.support.clock import Clock
from tests.support.flow import feed_csv

GOOD = "acme,G1,Good,https://shop.example/g1,10.00,12.00,10%,home,,,,,,CNY"

# One bad row per rule: (row, the start of the reason the import reports for it).
BAD_ROWS = [
    ("acme,B1,Free,https://shop.example/b,free,12.00,10%,home,,,,,,CNY",
     "price must be a decimal number like 39.00, got 'free'"),
    ("acme,B2,Zero,https://shop.example/b,0,12.00,10%,home,,,,,,CNY", "price must be greater than 0"),
    ("acme,B3,Minus,https://shop.example/b,-1,12.00,10%,home,,,,,,CNY", "price cannot be negative"),
    ("acme,B4,Fen,https://shop.example/b,1.999,12.00,10%,home,,,,,,CNY",
     "price 1.999 has more than 2 decimal places for CNY"),
    ("acme,B5,Dearer,https://shop.example/b,13.00,12.00,10%,home,,,,,,CNY",
     "original_price 12.00 is less than price 13.00"),
    ("acme,B6,Rate,https://shop.example/b,10.00,12.00,lots,home,,,,,,CNY",
     "commission_rate must be a fraction like 0.12 or a percentage like 12%"),
    ("acme,B7,Rate,https://shop.example/b,10.00,12.00,120%,home,,,,,,CNY",
     "commission_rate 120% is more than 100%"),
    ("acme,B8,Rate,https://shop.example/b,10.00,12.00,1.5,home,,,,,,CNY",
     "commission_rate 1.5 is more than 1"),
    ("acme,B9,Ftp,ftp://shop.example/b,10.00,12.00,10%,home,,,,,,CNY",
     "url must be an http(s) URL with a host"),
    ("acme,B10,Img,https://shop.example/b,10.00,12.00,10%,home,javascript:alert(1),,,,,CNY",
     "image_url must be an http(s) URL with a host"),
    ("acme,B11,Date,https://shop.example/b,10.00,12.00,10%,home,,next monday,,,,CNY",
     "starts_at must be an ISO 8601 date or time"),
    ("acme,B12,Date,https://shop.example/b,10.00,12.00,10%,home,,,31/12/2030,,,CNY",
     "ends_at must be an ISO 8601 date or time"),
    ("acme,B13,Order,https://shop.example/b,10.00,12.00,10%,home,,2030-02-01,2030-01-01,,,CNY",
     "ends_at must be after starts_at"),
    ("acme,B14,Rate,https://shop.example/b,10.00,12.00,-5%,home,,,,,,CNY",
     "commission_rate cannot be negative, got '-5%'"),
    ("acme,B15,Money,https://shop.example/b,10.00,12.00,10%,home,,,,,,XYZ",
     "currency 'XYZ' is not a known currency code"),
    ("acme,B16,Yen,https://shop.example/b,10.50,12,10%,home,,,,,,JPY",
     "price 10.50 must be a whole number for JPY"),
    ("acme,B17,Stock,https://shop.example/b,10.00,12.00,10%,home,,,,many,,CNY",
     "stock must be a whole number"),
    ("acme,B18,Flag,https://shop.example/b,10.00,12.00,10%,home,,,,,perhaps,CNY",
     "featured must be true/false, 1/0 or yes/no"),
    (",B19,NoMerchant,https://shop.example/b,10.00,12.00,10%,home,,,,,,CNY", "merchant is required"),
    ("acme,,NoSku,https://shop.example/b,10.00,12.00,10%,home,,,,,,CNY", "sku is required"),
    ("acme,B21,,https://shop.example/b,10.00,12.00,10%,home,,,,,,CNY", "title is required"),
    ("acme,B22,NoUrl,,10.00,12.00,10%,home,,,,,,CNY", "url is required"),
    ("acme,B23,NoOriginal,https://shop.example/b,10.00,,10%,home,,,,,,CNY",
     "original_price is required"),
    ("acme,G1,Twice,https://shop.example/g1,10.00,12.00,10%,home,,,,,,CNY", "duplicate of line 2"),
    ("acme,B25,Commas,https://shop.example/b,10.00,12.00,10%,home,,,,,,CNY,extra,values",
     "row has 16 values but the header has 14 columns"),
    ("acme,B26,Long,https://shop.example/b,10.00,12.00,10%," + "c" * 65 + ",,,,,,CNY",
     "category is longer than 64 characters"),
]


@pytest.fixture
def services(db_url: str, clock: Clock) -> Services:
    config = parse_config({"database": {"url": db_url},
                           "merchants": {"acme": {"subid_param": "aff_sub",
                                                  "url_template": ""}}}, env={})
    return Services(config=config, db=Database.from_url(db_url), now=clock)


def products(services: Services) -> dict[str, Product]:
    with services.db.transaction() as session:
        return {p.sku: p for p in session.scalars(select(Product))}


def test_every_rule_reports_its_line_and_reason_and_good_rows_import(services: Services) -> None:
    rows = [GOOD] + [row for row, _ in BAD_ROWS]
    result = services.catalog.import_feed(feed_csv(*rows), filename="feed.csv")
    assert (result.total, result.created, result.updated) == (len(rows), 1, 0)
    reasons = {error.line: error.reason for error in result.errors}
    assert sorted(reasons) == list(range(3, 3 + len(BAD_ROWS)))
    for line, (_, expected) in enumerate(BAD_ROWS, start=3):
        assert reasons[line].startswith(expected), (line, reasons[line])
    assert list(products(services)) == ["G1"]


def test_json_feed_with_bom_reports_items(services: Services) -> None:
    items = [
        {"merchant": "acme", "sku": "J1", "title": "Json", "url": "https://shop.example/j1",
         "price": 39.9, "original_price": "59.00", "commission_rate": "12%", "featured": True},
        {"merchant": "acme", "sku": "J2", "title": "Bad", "url": "https://shop.example/j2",
         "price": "0", "original_price": "1"},
    ]
    data = b"\xef\xbb\xbf" + json.dumps(items, ensure_ascii=False).encode()
    result = services.catalog.import_feed(data, filename="feed.json")
    assert result.created == 1
    assert [str(e) for e in result.errors] == ["item 2: price must be greater than 0, got '0'"]
    j1 = products(services)["J1"]
    assert (j1.price, j1.original_price, j1.featured) == (3990, 5900, True)
    assert j1.commission_rate == Decimal("0.12")


def test_upsert_by_merchant_and_sku_and_config_merchants(services: Services) -> None:
    first = services.catalog.import_feed(feed_csv(
        GOOD, "other,G1,Same sku other merchant,https://o.example/g1,5.00,6.00,0.05,tech,,,,,,CNY",
    ), filename="feed.csv")
    assert (first.created, first.updated) == (2, 0)
    again = services.catalog.import_feed(feed_csv(
        "acme,G1,Good v2,https://shop.example/g1,9.00,12.00,10%,home,,,,,,CNY"), filename="feed.csv")
    assert (again.created, again.updated) == (0, 1)
    with services.db.transaction() as session:
        rows = session.execute(select(Merchant.name, Product.title, Product.price, Product.active)
                               .join(Merchant).order_by(Merchant.name)).all()
        assert rows == [("acme", "Good v2", 900, True),
                        ("other", "Same sku other merchant", 500, True)]
        subids = dict(session.execute(select(Merchant.name, Merchant.subid_param)).all())
        assert subids == {"acme": "aff_sub", "other": "subid"}


def test_strict_rejects_the_whole_file_and_writes_nothing(services: Services) -> None:
    services.catalog.import_feed(feed_csv(GOOD), filename="feed.csv")
    feed = feed_csv("acme,G1,Changed,https://shop.example/g1,1.00,12.00,10%,home,,,,,,CNY",
                    "acme,N1,New,https://shop.example/n1,1.00,2.00,10%,home,,,,,,CNY",
                    BAD_ROWS[0][0])
    result = services.catalog.import_feed(feed, filename="feed.csv", strict=True)
    assert result.rejected and (result.created, result.updated) == (0, 0)
    assert [e.line for e in result.errors] == [4]
    assert {sku: p.title for sku, p in products(services).items()} == {"G1": "Good"}


def test_unusable_file_raises_one_line_and_rolls_back_earlier_batches(services: Services) -> None:
    rows = [f"acme,S{i},Row {i},https://shop.example/{i},1.00,2.00,1%,home,,,,,,CNY"
            for i in range(12_000)]
    data = feed_csv(*rows)
    data += b"\xff\xfe not utf-8\n"
    with pytest.raises(ServiceError, match="not UTF-8"):
        services.catalog.import_feed(data, filename="feed.csv")
    assert products(services) == {}


def test_missing_products_stay_unless_deactivate_missing(services: Services) -> None:
    second = "acme,G2,Second,https://shop.example/g2,10.00,12.00,10%,home,,,,,,CNY"
    services.catalog.import_feed(feed_csv(GOOD, second), filename="feed.csv")
    services.catalog.import_feed(feed_csv(GOOD), filename="feed.csv")
    assert products(services)["G2"].active
    with_bad = services.catalog.import_feed(feed_csv(GOOD, BAD_ROWS[0][0]), filename="feed.csv",
                                            deactivate_missing=True)
    assert with_bad.deactivation_skipped and with_bad.deactivated == 0
    assert products(services)["G2"].active
    clean = services.catalog.import_feed(feed_csv(GOOD), filename="feed.csv",
                                         deactivate_missing=True)
    assert clean.deactivated == 1
    assert not products(services)["G2"].active and products(services)["G1"].active
    back = services.catalog.import_feed(feed_csv(GOOD, second), filename="feed.csv")
    # G2 comes back (changed: it was inactive); G1 is as stored (unchanged).
    assert (back.updated, back.unchanged) == (1, 1) and products(services)["G2"].active


def test_progress_is_reported_and_index_follows_imports(services: Services) -> None:
    seen: list[tuple[int, int]] = []
    rows = [f"acme,P{i},Row {i},https://shop.example/{i},1.00,2.00,1%,cat-{i % 3},,,,,,CNY"
            for i in range(4500)]
    data = feed_csv(*rows)
    services.catalog.import_feed(data, filename="feed.csv", progress=lambda b, r: seen.append((b, r)))
    assert seen[-1] == (len(data), 4500) and [r for _, r in seen[:2]] == [2000, 4000]
    assert len(services.catalog.index()) == 4500
    services.catalog.import_feed(feed_csv(GOOD), filename="feed.csv")
    assert len(services.catalog.index()) == 4501
