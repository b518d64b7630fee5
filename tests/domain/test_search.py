"""Deal search: every word must match, Chinese inside words, the bot's order, filters, pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bot.domain.ranking import Deal
from bot.domain.search import DealSearch, Filters, Listing

NOW = datetime(2026, 12, 3, tzinfo=UTC)


def listing(pid: int, title: str, *, price: int = 1000, original: int = 2000, rate: str = "0.10",
            category: str = "home", featured: bool = False, stock: int | None = None,
            ends_at: datetime | None = None, sku: str | None = None) -> Listing:
    deal = Deal(product_id=pid, category=category, price=price, original_price=original,
                commission_rate=Decimal(rate), featured=featured, stock=stock, ends_at=ends_at)
    return Listing(deal=deal, sku=sku or f"S{pid}", merchant="acme", title=title, currency="CNY", image="")


def skus(index: DealSearch, query: str = "", **filters: object) -> list[str]:
    found, _ = index.search(Filters.of(query, **filters), now=NOW, limit=50)
    return [x.sku for x in found]


def test_every_word_must_match_inside_chinese_titles() -> None:
    index = DealSearch([listing(1, "不锈钢保温杯 500ml"), listing(2, "保温饭盒"), listing(3, "Steel Cup")])
    assert skus(index, "保温") == ["S1", "S2"]
    assert skus(index, "保温 杯") == ["S1"]
    assert skus(index, "STEEL") == ["S3"]
    assert skus(index, "杯 steel") == []
    # Words do not match across the title/sku/category boundary.
    assert skus(index, "500mls1") == []


def test_order_is_exact_sku_then_featured_then_static_score() -> None:
    index = DealSearch([
        listing(1, "cup a", price=1900, original=2000),                  # 5% off
        listing(2, "cup b", price=1000, original=2000),                  # 50% off
        listing(3, "cup c", price=1900, original=2000, featured=True),
        listing(4, "cup d", price=1500, original=2000, sku="CUPD"),
    ])
    assert skus(index, "cup") == ["S3", "S2", "CUPD", "S1"]
    assert skus(index, "cupd") == ["CUPD"]
    assert skus(index, "s1") == ["S1"]


def test_filters_and_live_deals_only() -> None:
    index = DealSearch([
        listing(1, "a", price=500, category="tech"), listing(2, "b", price=5000, original=5100),
        listing(3, "c", stock=0), listing(4, "d", ends_at=NOW - timedelta(seconds=1)),
        listing(5, "e", ends_at=NOW + timedelta(days=1), category="tech"),
    ])
    assert sorted(skus(index)) == ["S1", "S2", "S5"]
    assert skus(index, category="tech") == ["S1", "S5"]
    assert skus(index, min_price=600) == ["S5", "S2"]
    assert skus(index, max_price=999) == ["S1"]
    assert sorted(skus(index, min_discount=50)) == ["S1", "S5"]
    assert index.categories() == ["home", "tech"]


def test_pages_cover_every_match_once() -> None:
    index = DealSearch([listing(n, f"item {n}", price=1000 + n) for n in range(55)])
    seen, offset, more = [], 0, True
    while more:
        page, more = index.search(Filters.of("item"), now=NOW, offset=offset, limit=20)
        seen += [x.sku for x in page]
        offset += 20
    assert len(seen) == 55 == len(set(seen))
