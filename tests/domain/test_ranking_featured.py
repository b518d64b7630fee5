"""CatalogIndex.set_featured: curation changes the index in place, as a rebuild would."""

from __future__ import annotations

from decimal import Decimal

from bot.domain.ranking import CatalogIndex, Deal


def deals(featured: set[int]) -> list[Deal]:
    return [Deal(product_id=i, category="c" if i % 2 else "d", price=100, original_price=100 + 10 * i,
                 commission_rate=Decimal("0.1"), featured=i in featured) for i in range(1, 9)]


def snapshot(index: CatalogIndex) -> tuple:
    return ([d.product_id for d in index.featured()],
            {c: index.in_category(c) for c in index.categories()})


def test_set_featured_matches_a_fresh_index() -> None:
    index = CatalogIndex(deals({2}))
    index.set_featured(5, True)
    index.set_featured(7, True)
    assert snapshot(index) == snapshot(CatalogIndex(deals({2, 5, 7})))
    index.set_featured(2, False)
    index.set_featured(99, True)  # unknown: nothing happens
    index.set_featured(5, True)  # already: nothing happens
    assert snapshot(index) == snapshot(CatalogIndex(deals({5, 7})))
