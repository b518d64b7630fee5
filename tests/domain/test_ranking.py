"""Choosing a group's deal: featured, picks, eligibility, categories, determinism, learning."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bot.domain.ranking import (
    ArmStats,
    CatalogIndex,
    Deal,
    choose_deal,
    rank_deals,
    sample_category_values,
    static_score,
)

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def deal(pid: int, category: str = "home", *, price: int = 5000, original: int = 10000,
         rate: str = "0.10", **kwargs: object) -> Deal:
    return Deal(product_id=pid, category=category, price=price, original_price=original,
                commission_rate=Decimal(rate), **kwargs)  # type: ignore[arg-type]


def choose(index: CatalogIndex, **kwargs: object) -> Deal | None:
    args: dict[str, object] = {"now": NOW, "categories": None, "exclude": set(), "stats": {},
                               "rng": random.Random(1)}
    args.update(kwargs)
    return choose_deal(index, **args)  # type: ignore[arg-type]


def ids(deals: list[Deal]) -> list[int]:
    return [d.product_id for d in deals]


def catalog(n_categories: int = 6, per_category: int = 20) -> CatalogIndex:
    rng = random.Random(7)
    deals = []
    for c in range(n_categories):
        for i in range(per_category):
            original = rng.randint(1000, 20000)
            deals.append(deal(c * 1000 + i, f"cat{c}", price=rng.randint(100, original),
                              original=original, rate=f"0.{rng.randint(1, 30):02d}"))
    return CatalogIndex(deals)


# -- static score and index


def test_static_score_prefers_deeper_discount_and_higher_commission() -> None:
    shallow, deep = deal(1, price=9000), deal(2, price=3000)
    low, high = deal(3, rate="0.05"), deal(4, rate="0.25")
    assert static_score(deep) > static_score(shallow)
    assert static_score(high) > static_score(low)
    assert static_score(deal(5, price=0, original=100, rate="0.9")) == pytest.approx(1.0)
    assert static_score(deal(6, price=200, original=100, rate="0")) == 0.0


def test_index_basics() -> None:
    index = CatalogIndex([deal(1, "b"), deal(2, "a"), deal(3, "b")])
    assert len(index) == 3
    assert index.categories() == ["a", "b"]
    assert index.get(2) == deal(2, "a")
    assert index.get(99) is None


# -- order: featured, picks, the rest


def test_featured_first_by_static_score() -> None:
    index = CatalogIndex([deal(1, price=1000), deal(2, featured=True, price=9000),
                          deal(3, featured=True, price=5000)])
    assert ids(rank_deals(index, now=NOW, categories=None, exclude=set(), stats={},
                          rng=random.Random(1))) == [3, 2, 1]


def test_picks_come_after_featured_in_pick_order() -> None:
    index = CatalogIndex([deal(1, price=1000), deal(2, price=9000), deal(3, price=8000),
                          deal(4, featured=True)])
    ranked = rank_deals(index, now=NOW, categories=None, exclude=set(), picks=[3, 2, 99],
                        stats={}, rng=random.Random(1))
    assert ids(ranked) == [4, 3, 2, 1]
    assert choose(CatalogIndex([deal(1, price=1000), deal(3, price=8000)]), picks=[3]) == \
        deal(3, price=8000)


def test_a_featured_pick_is_not_repeated() -> None:
    index = CatalogIndex([deal(1, featured=True), deal(2)])
    assert ids(rank_deals(index, now=NOW, categories=None, exclude=set(), picks=[1, 2, 1],
                          stats={}, rng=random.Random(1))) == [1, 2]


def test_within_one_category_the_best_static_score_wins() -> None:
    index = CatalogIndex([deal(1, price=9000), deal(2, price=2000), deal(3, price=5000)])
    assert choose(index) == deal(2, price=2000)
    ranked = rank_deals(index, now=NOW, categories=None, exclude=set(), stats={},
                        rng=random.Random(3))
    assert ids(ranked) == [2, 3, 1]


def test_rank_deals_limit() -> None:
    index = catalog()
    ranked = rank_deals(index, now=NOW, categories=None, exclude=set(), stats={},
                        rng=random.Random(1), limit=7)
    assert len(ranked) == 7
    assert len(set(ids(ranked))) == 7
    assert rank_deals(index, now=NOW, categories=None, exclude=set(), stats={},
                      rng=random.Random(1), limit=0) == []


def test_rank_deals_lists_every_eligible_deal_once_and_starts_with_choose_deal() -> None:
    index = catalog(4, 10)
    stats = {"cat1": ArmStats(10, 5, 1)}
    ranked = rank_deals(index, now=NOW, categories=None, exclude={5}, stats=stats,
                        rng=random.Random(9), limit=1000)
    everything = {p for c in range(4) for p in range(c * 1000, c * 1000 + 10)}
    assert sorted(ids(ranked)) == sorted(everything - {5})
    assert ranked[0] == choose(index, exclude={5}, stats=stats, rng=random.Random(9))


# -- eligibility


def test_exclusions_and_skips_are_honoured_everywhere() -> None:
    index = CatalogIndex([deal(1, featured=True), deal(2), deal(3, price=100)])
    assert choose(index, exclude={1}, picks=[2]) == deal(2)
    assert choose(index, exclude={1, 2}, picks=[2]) == deal(3, price=100)
    assert choose(index, exclude={1}, skip={2, 3}, picks=[2]) is None


@pytest.mark.parametrize("bad", [
    {"stock": 0},
    {"stock": -3},
    {"ends_at": NOW},
    {"ends_at": NOW - timedelta(days=1)},
    {"starts_at": NOW + timedelta(seconds=1)},
])
def test_inactive_deals_are_skipped_even_when_featured_or_picked(bad: dict[str, object]) -> None:
    good = deal(2, price=9000)
    for flags in ({}, {"featured": True}):
        index = CatalogIndex([deal(1, price=100, **{**bad, **flags}), good])
        assert choose(index, picks=[1]) == good


def test_active_edges() -> None:
    index = CatalogIndex([deal(1, starts_at=NOW, ends_at=NOW + timedelta(seconds=1), stock=1)])
    assert choose(index) is not None


def test_categories_filter_applies_to_all_tiers() -> None:
    index = CatalogIndex([deal(1, "food", featured=True), deal(2, "food"), deal(3, "toys"),
                          deal(4, "home")])
    for seed in range(20):
        ranked = rank_deals(index, now=NOW, categories={"toys", "home", "nope"}, exclude=set(),
                            picks=[2], stats={}, rng=random.Random(seed))
        assert sorted(ids(ranked)) == [3, 4]
    assert choose(index, categories={"nope"}) is None
    assert choose(index, categories=set()) is None


def test_empty_catalog() -> None:
    assert choose(CatalogIndex([])) is None


# -- determinism, cold start, learning


def test_same_seed_same_choices() -> None:
    index = catalog()
    stats = {"cat0": ArmStats(5, 1, 0), "cat3": ArmStats(8, 4, 2)}

    def run(seed: int) -> list[int]:
        rng = random.Random(seed)
        return [choose(index, stats=stats, rng=rng).product_id for _ in range(50)]  # type: ignore[union-attr]

    assert run(42) == run(42)
    assert run(42) != run(43)


def test_cold_start_explores_every_category() -> None:
    index = catalog(6)
    rng = random.Random(5)
    chosen = Counter(choose(index, rng=rng).category for _ in range(600))  # type: ignore[union-attr]
    assert set(chosen) == {f"cat{c}" for c in range(6)}
    assert min(chosen.values()) > 30


def test_learning_prefers_the_category_the_group_taps() -> None:
    index = catalog(6)
    stats = {f"cat{c}": ArmStats(posts=20, taps=1) for c in range(6)}
    stats["cat4"] = ArmStats(posts=20, taps=9, orders=2)
    rng = random.Random(11)
    chosen = Counter(choose(index, stats=stats, rng=rng).category for _ in range(1000))  # type: ignore[union-attr]
    # Chance would be 1/6 ≈ 167 of 1000.
    assert chosen["cat4"] > 600


def test_conversion_breaks_ties_between_equally_tapped_categories() -> None:
    index = catalog(2)
    stats = {"cat0": ArmStats(100, 40, 0), "cat1": ArmStats(100, 40, 20)}
    rng = random.Random(3)
    chosen = Counter(choose(index, stats=stats, rng=rng).category for _ in range(1000))  # type: ignore[union-attr]
    assert chosen["cat1"] > 800


def test_taps_above_posts_and_odd_stats_are_handled() -> None:
    stats = {"a": ArmStats(3, 40, 90), "b": ArmStats(-1, -5, -2), "c": ArmStats()}
    values = sample_category_values(stats, ["a", "b", "c", "d"], random.Random(1))
    assert set(values) == {"a", "b", "c", "d"}
    assert all(v >= 0 for v in values.values())


def test_the_lazy_merge_gives_exactly_the_full_sort() -> None:
    index = catalog(8, 30)
    stats = {f"cat{c}": ArmStats(posts=10 + c, taps=c, orders=c // 3) for c in range(8)}
    exclude = {3, 1004, 2000, 7029}
    for seed in range(5):
        ranked = rank_deals(index, now=NOW, categories=None, exclude=exclude, stats=stats,
                            rng=random.Random(seed), limit=10_000)
        values = sample_category_values(stats, index.categories(), random.Random(seed))
        naive = sorted(
            (d for c in index.categories() for d in _all(index, c) if d.product_id not in exclude),
            key=lambda d: -values[d.category] * (0.5 + 0.5 * static_score(d)),
        )
        assert [values[d.category] * (0.5 + 0.5 * static_score(d)) for d in ranked] == \
            pytest.approx([values[d.category] * (0.5 + 0.5 * static_score(d)) for d in naive])
        assert ranked[0] == naive[0]


def _all(index: CatalogIndex, category: str) -> list[Deal]:
    return [d for pid in range(int(category[3:]) * 1000, int(category[3:]) * 1000 + 30)
            if (d := index.get(pid)) is not None]
