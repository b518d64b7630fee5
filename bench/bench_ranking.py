"""Ranking speed: 100,000 deals in 30 categories; one group's choice, and 10,000 groups' choices.

Baseline: the naive way, scoring every eligible deal of the group and sorting them all.
Run: python bench/bench_ranking.py. Prints figures; asserts nothing.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.domain.ranking import (  # noqa: E402
    ArmStats,
    CatalogIndex,
    Deal,
    choose_deal,
    is_active,
    sample_category_values,
    static_score,
)

NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)
N_DEALS = 100_000
N_CATEGORIES = 30
N_GROUPS = 10_000
CATEGORIES = [f"cat{i:02d}" for i in range(N_CATEGORIES)]


def make_deals(n: int, rng: random.Random) -> list[Deal]:
    """A catalog where ~5% of deals ended, ~3% have not started and ~5% are sold out."""
    deals = []
    for pid in range(1, n + 1):
        original = rng.randint(1_000, 100_000)
        roll = rng.random()
        starts = ends = None
        if roll < 0.05:
            ends = NOW - timedelta(days=rng.randint(1, 30))
        elif roll < 0.08:
            starts = NOW + timedelta(days=rng.randint(1, 30))
        else:
            ends = NOW + timedelta(days=rng.randint(1, 60))
        deals.append(Deal(
            product_id=pid, category=rng.choice(CATEGORIES), price=rng.randint(100, original),
            original_price=original, commission_rate=Decimal(rng.randint(1, 30)) / 100,
            starts_at=starts, ends_at=ends,
            stock=rng.choice([None, None, None, 0] + [rng.randint(1, 500)] * 16),
        ))
    return deals


def random_stats(rng: random.Random) -> dict[str, ArmStats]:
    """A group's record: some categories posted to, with taps and orders."""
    stats = {}
    for name in rng.sample(CATEGORIES, rng.randint(0, N_CATEGORIES)):
        posts = rng.randint(0, 60)
        taps = rng.randint(0, posts * 2)
        stats[name] = ArmStats(posts=posts, taps=taps, orders=rng.randint(0, taps // 5 + 1))
    return stats


def recent_posts(index: CatalogIndex, tops: dict[str, list[int]], rng: random.Random,
                 categories: list[str] | None) -> set[int]:
    """~20 excluded ids, mostly deals near the top of the group's categories (the likely picks:
    that is what a repeat window excludes) and some anywhere."""
    pool = categories or CATEGORIES
    chosen = {rng.choice(tops[rng.choice(pool)]) for _ in range(15)}
    chosen.update(rng.randint(1, N_DEALS) for _ in range(5))
    return chosen


def naive_choice(deals: list[Deal], *, now: datetime, categories: set[str] | None,
                 exclude: set[int], stats: dict[str, ArmStats], rng: random.Random) -> Deal:
    """Baseline: score every eligible deal, sort them all, take the first."""
    values = sample_category_values(stats, categories or CATEGORIES, rng)
    candidates = [
        (values[d.category] * (0.5 + 0.5 * static_score(d)), d) for d in deals
        if (categories is None or d.category in categories) and d.product_id not in exclude
        and is_active(d, now)
    ]
    candidates.sort(key=lambda pair: -pair[0])
    return candidates[0][1]


def percentile(samples: list[float], q: float) -> float:
    """The q-quantile (0..1) of the samples."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    """Build the catalog, time one group and many groups, and the naive baseline."""
    rng = random.Random(2024)
    deals = make_deals(N_DEALS, rng)
    start = time.perf_counter()
    index = CatalogIndex(deals)
    build = time.perf_counter() - start
    print(f"catalog: {len(index):,} deals in {len(index.categories())} categories; "
          f"index built in {build:.2f} s")
    tops = {name: [d.product_id for d in index.in_category(name)[:50]] for name in CATEGORIES}

    # One group, 500 choices, each with a fresh exclusion set as after a day of posting.
    stats = random_stats(rng)
    exclude = recent_posts(index, tops, rng, None)
    timings = []
    for _ in range(500):
        start = time.perf_counter()
        choose_deal(index, now=NOW, categories=None, exclude=exclude, stats=stats, rng=rng)
        timings.append(time.perf_counter() - start)
    p50, p95 = percentile(timings, 0.5) * 1e3, percentile(timings, 0.95) * 1e3
    print(f"one group, all categories, 500 choices: p50 {p50:.3f} ms, p95 {p95:.3f} ms "
          f"(goal p50 ≤ 20 ms)")

    naive = []
    for _ in range(20):
        start = time.perf_counter()
        naive_choice(deals, now=NOW, categories=None, exclude=exclude, stats=stats, rng=rng)
        naive.append(time.perf_counter() - start)
    naive_p50 = statistics.median(naive) * 1e3
    print(f"baseline, full sort of all candidates:  p50 {naive_p50:.1f} ms "
          f"→ index is {naive_p50 / p50:,.0f}× faster")

    # 10,000 groups, each with its own stats, categories and exclusions.
    groups = []
    for _ in range(N_GROUPS):
        categories = None if rng.random() < 0.5 else rng.sample(CATEGORIES, rng.randint(1, 8))
        groups.append((set(categories) if categories else None, random_stats(rng),
                       recent_posts(index, tops, rng, categories), rng.random() < 0.2))
    choices = 0
    start = time.perf_counter()
    for categories, group_stats, group_exclude, has_pick in groups:
        picks = (rng.randint(1, N_DEALS),) if has_pick else ()
        if choose_deal(index, now=NOW, categories=categories, exclude=group_exclude,
                       picks=picks, stats=group_stats, rng=rng) is not None:
            choices += 1
    total = time.perf_counter() - start
    print(f"{N_GROUPS:,} groups (half filtered to 1–8 categories, 20% with a pick): "
          f"{total:.2f} s total, {total / N_GROUPS * 1e3:.3f} ms per group, "
          f"{choices:,} deals chosen (goal ≤ 30 s)")
    print(f"baseline estimate for {N_GROUPS:,} groups: {naive_p50 * N_GROUPS / 1e3:,.0f} s")


if __name__ == "__main__":
    main()
