"""Does ranking learn? Simulated groups with hidden category tastes, choose_deal vs random.

Each group has a hidden tap probability per category: 2 favourite categories at 0.30,
the other 28 at 0.03. Every round each group gets one post; a post is tapped (Bernoulli)
and a tap converts to an order with probability 0.1. The learning policy is choose_deal
with the group's running stats; the baseline picks uniformly among eligible deals. Both
honour a repeat window of 7 rounds. Fixed seeds; prints figures; asserts nothing.
Run: python bench/bench_learning.py [groups] [rounds].
"""

from __future__ import annotations

import random
import sys
import time
from collections import deque
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.domain.ranking import ArmStats, CatalogIndex, Deal, choose_deal  # noqa: E402

NOW = datetime(2024, 6, 1, 12, tzinfo=UTC)
N_CATEGORIES = 30
DEALS_PER_CATEGORY = 40
FAVOURITE_P, OTHER_P, ORDER_P = 0.30, 0.03, 0.10
REPEAT_WINDOW = 7
CATEGORIES = [f"cat{i:02d}" for i in range(N_CATEGORIES)]


def make_index(rng: random.Random) -> tuple[CatalogIndex, list[Deal]]:
    """Equal-sized categories, so uniform over deals is uniform over categories."""
    deals = []
    for c, name in enumerate(CATEGORIES):
        for i in range(DEALS_PER_CATEGORY):
            original = rng.randint(1_000, 50_000)
            deals.append(Deal(product_id=c * 1000 + i, category=name,
                              price=rng.randint(100, original), original_price=original,
                              commission_rate=Decimal(rng.randint(1, 30)) / 100))
    return CatalogIndex(deals), deals


def simulate(policy: str, groups: int, rounds: int, seed: int) -> tuple[float, float]:
    """Tap-through over all rounds and over the last half of them, for one policy."""
    world = random.Random(seed)  # the same tastes and catalog for both policies
    index, deals = make_index(world)
    tastes = []
    for _ in range(groups):
        favourites = set(world.sample(CATEGORIES, 2))
        tastes.append({c: FAVOURITE_P if c in favourites else OTHER_P for c in CATEGORIES})
    chooser = random.Random(seed + 1)
    outcomes = random.Random(seed + 2)
    stats: list[dict[str, ArmStats]] = [{} for _ in range(groups)]
    recent: list[deque[int]] = [deque(maxlen=REPEAT_WINDOW) for _ in range(groups)]
    taps = late_taps = late_posts = 0
    for round_no in range(rounds):
        for g in range(groups):
            exclude = set(recent[g])
            if policy == "learning":
                deal = choose_deal(index, now=NOW, categories=None, exclude=exclude,
                                   stats=stats[g], rng=chooser)
            else:
                deal = chooser.choice([d for d in deals if d.product_id not in exclude])
            assert deal is not None
            recent[g].append(deal.product_id)
            arm = stats[g].setdefault(deal.category, ArmStats())
            arm.posts += 1
            tapped = outcomes.random() < tastes[g][deal.category]
            if tapped:
                arm.taps += 1
                taps += 1
                if outcomes.random() < ORDER_P:
                    arm.orders += 1
            if round_no >= rounds // 2:
                late_posts += 1
                late_taps += tapped
    return taps / (groups * rounds), late_taps / late_posts


def main() -> None:
    """Run both policies with the same seed for a few horizons; print tap-through and ratios."""
    groups = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    horizons = [int(sys.argv[2])] if len(sys.argv) > 2 else [30, 60, 120]
    seed = 7
    expected = (2 * FAVOURITE_P + (N_CATEGORIES - 2) * OTHER_P) / N_CATEGORIES
    print(f"{groups} groups, {N_CATEGORIES} categories × {DEALS_PER_CATEGORY} deals; hidden "
          f"taste: 2 favourites at {FAVOURITE_P}, others at {OTHER_P}; random expects "
          f"{expected:.3f}, an oracle {FAVOURITE_P:.3f}; seed {seed}")
    print(f"{'rounds':>6} {'random':>8} {'learning':>9} {'ratio':>6}   {'last half: random':>17} "
          f"{'learning':>9} {'ratio':>6} {'seconds':>8}")
    for rounds in horizons:
        start = time.perf_counter()
        rand_all, rand_late = simulate("random", groups, rounds, seed)
        learn_all, learn_late = simulate("learning", groups, rounds, seed)
        print(f"{rounds:6} {rand_all:8.4f} {learn_all:9.4f} {learn_all / rand_all:6.2f}   "
              f"{rand_late:17.4f} {learn_late:9.4f} {learn_late / rand_late:6.2f} "
              f"{time.perf_counter() - start:8.1f}")
    print("goal: ratio ≥ 1.5")


if __name__ == "__main__":
    main()
