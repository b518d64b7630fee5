"""Choosing the deal for a group's posting slot: featured, then picks, then learned ranking.

Order of a group's candidates (each must be active at ``now``, in stock, in the group's
categories, and not in ``exclude`` or ``skip``):

1. featured deals (platform picks), best static score first;
2. the group's promoter picks, in pick order;
3. everything else, by a score that learns from the group's own taps and orders.

Learning is Thompson sampling over the group's categories ("arms"). For each category
with posts ``p``, taps ``t`` and orders ``o`` (``o`` capped at ``t``), and the group's
totals ``P``, ``T``, ``O``:

    pooled tap rate   m = (T + 0.1) / (P + 1)
    pooled conversion c = (O + 0.05) / (T + 1)
    tap rate          r ~ Gamma(shape = m/4 + t, scale = 1 / (1/4 + p))
    conversion        v ~ Beta(5·c + o, 5·(1 − c) + t − o)
    category value    V = r × (0.5 + v)
    deal score        V × (0.5 + 0.5 × static_score(deal))

``r`` is a Gamma–Poisson posterior rather than a Beta one because a post in a big group
can be tapped by many members: taps/posts is a rate, not a probability. Both priors are
pooled from the group's own totals, so their scale fits the group (a 20-member chat and
a 5,000-member one differ tenfold in taps per post): a cold group samples every category
alike (pure exploration), and a category the group has never posted in starts at the
group's average instead of at an optimistic guess. The tap prior weighs a quarter of a
post, so a category's own record dominates at once; the conversion prior weighs 5 taps,
because orders are rare and one lucky order should not swing the choice. The constant
0.5 keeps taps worth something before any order arrives; a category converting 10%
of its taps is worth 20% more than one with the same taps and no orders.
Tuned with bench/bench_learning.py: the literal Beta(1 + t, 1 + p − t) × Beta(1 + o, …)
form, with its optimistic mean-½ priors, explored so long that it barely beat random.

``static_score`` = 0.6 × discount depth + 0.4 × min(commission_rate / 0.30, 1), in [0, 1].

Speed: ``CatalogIndex`` keeps each category sorted by static score, so within a category
the deal scores only fall. Ranking is a k-way merge over categories with a heap, where a
deal's eligibility is checked only when it reaches the top: a choice costs
O(categories + skipped deals), never O(products). The draws happen in sorted category
order, so a seeded ``random.Random`` gives the same choice every time.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

DISCOUNT_WEIGHT = 0.6
COMMISSION_WEIGHT = 0.4
COMMISSION_CAP = 0.30  # a rate at or above this counts as "full" commission
TAP_PRIOR_POSTS = 0.25
CONVERSION_PRIOR_TAPS = 5.0
DEFAULT_TAP_RATE = 0.1
DEFAULT_CONVERSION = 0.05
TAP_VALUE = 0.5


@dataclass(frozen=True, slots=True)
class Deal:
    """What ranking needs to know about a product; money in minor units, times aware."""

    product_id: int
    category: str
    price: int
    original_price: int
    commission_rate: Decimal
    featured: bool = False
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    stock: int | None = None


@dataclass
class ArmStats:
    """One group's record in one category."""

    posts: int = 0
    taps: int = 0
    orders: int = 0


def static_score(deal: Deal) -> float:
    """Discount depth and commission blended into [0, 1]; a ranking score, not money."""
    if deal.original_price > 0 and deal.price < deal.original_price:
        discount = 1.0 - max(deal.price, 0) / deal.original_price
    else:
        discount = 0.0
    commission = min(max(float(deal.commission_rate), 0.0) / COMMISSION_CAP, 1.0)
    return DISCOUNT_WEIGHT * discount + COMMISSION_WEIGHT * commission


class CatalogIndex:
    """Deals grouped by category, each category pre-sorted by a static score (discount depth,
    commission), so a choice is O(categories + skipped), not O(products)."""

    def __init__(self, deals: Iterable[Deal]) -> None:
        self._by_id: dict[int, Deal] = {}
        for deal in deals:
            self._by_id[deal.product_id] = deal  # a later duplicate id replaces the earlier
        scored = sorted(
            ((static_score(deal), deal) for deal in self._by_id.values()),
            key=lambda pair: (-pair[0], pair[1].product_id),
        )
        self._lists: dict[str, list[Deal]] = {}
        self._scores: dict[str, list[float]] = {}
        self._featured: list[Deal] = []
        for score, deal in scored:
            self._lists.setdefault(deal.category, []).append(deal)
            self._scores.setdefault(deal.category, []).append(score)
            if deal.featured:
                self._featured.append(deal)
        self._categories = sorted(self._lists)

    def __len__(self) -> int:
        return len(self._by_id)

    def get(self, product_id: int) -> Deal | None:
        """The deal with this product id, or None."""
        return self._by_id.get(product_id)

    def categories(self) -> list[str]:
        """Every category that has a deal, sorted."""
        return list(self._categories)

    def in_category(self, category: str) -> list[Deal]:
        """The category's deals, best static score first (eligibility not checked)."""
        return list(self._lists.get(category, ()))

    def featured(self) -> list[Deal]:
        """Featured deals, best static score first."""
        return list(self._featured)

    def set_featured(self, product_id: int, featured: bool) -> None:
        """Feature or unfeature one deal in place: curation must not cost a rebuild of 100k deals."""
        deal = self._by_id.get(product_id)
        if deal is None or deal.featured == featured:
            return
        changed = replace(deal, featured=featured)
        self._by_id[product_id] = changed
        same = self._lists[deal.category]
        same[same.index(deal)] = changed  # same static score, so the order stands
        others = [d for d in self._featured if d.product_id != product_id]
        self._featured = sorted(others + [changed] if featured else others,
                                key=lambda d: (-static_score(d), d.product_id))


def is_active(deal: Deal, now: datetime) -> bool:
    """In stock (None = unlimited) and within its dates at ``now``."""
    if deal.stock is not None and deal.stock <= 0:
        return False
    if deal.starts_at is not None and now < deal.starts_at:
        return False
    return deal.ends_at is None or now < deal.ends_at


def choose_deal(
    index: CatalogIndex,
    *,
    now: datetime,
    categories: Collection[str] | None,
    exclude: Collection[int],
    picks: Sequence[int] = (),
    stats: Mapping[str, ArmStats],
    rng: random.Random,
    skip: Collection[int] = frozenset(),
) -> Deal | None:
    """The best deal for one group's slot, or None when nothing is eligible."""
    return next(_ranked(index, now, categories, exclude, skip, picks, stats, rng), None)


def rank_deals(
    index: CatalogIndex,
    *,
    now: datetime,
    categories: Collection[str] | None,
    exclude: Collection[int],
    picks: Sequence[int] = (),
    stats: Mapping[str, ArmStats],
    rng: random.Random,
    limit: int = 10,
    skip: Collection[int] = frozenset(),
) -> list[Deal]:
    """The group's best ``limit`` deals in order (the next best, when a re-check fails)."""
    ranked = _ranked(index, now, categories, exclude, skip, picks, stats, rng)
    return [deal for deal, _ in zip(ranked, range(max(limit, 0)), strict=False)]


def sample_category_values(
    stats: Mapping[str, ArmStats], categories: Iterable[str], rng: random.Random
) -> dict[str, float]:
    """One Thompson draw of each category's value for a group (see the module docstring)."""
    total_posts = total_taps = total_orders = 0
    for arm in stats.values():
        posts, taps = max(arm.posts, 0), max(arm.taps, 0)
        total_posts += posts
        total_taps += taps
        total_orders += min(max(arm.orders, 0), taps)
    tap_rate = (total_taps + DEFAULT_TAP_RATE) / (total_posts + 1)
    conversion = (total_orders + DEFAULT_CONVERSION) / (total_taps + 1)
    tap_shape = TAP_PRIOR_POSTS * tap_rate
    conv_a = CONVERSION_PRIOR_TAPS * conversion
    conv_b = CONVERSION_PRIOR_TAPS * (1.0 - conversion)
    gamma, beta = rng.gammavariate, rng.betavariate
    values: dict[str, float] = {}
    empty = ArmStats()
    for category in sorted(categories):
        arm = stats.get(category, empty)
        posts, taps = max(arm.posts, 0), max(arm.taps, 0)
        orders = min(max(arm.orders, 0), taps)
        rate = gamma(tap_shape + taps, 1.0 / (TAP_PRIOR_POSTS + posts))
        converts = beta(conv_a + orders, conv_b + taps - orders)
        values[category] = rate * (TAP_VALUE + converts)
    return values


def _ranked(
    index: CatalogIndex,
    now: datetime,
    categories: Collection[str] | None,
    exclude: Collection[int],
    skip: Collection[int],
    picks: Sequence[int],
    stats: Mapping[str, ArmStats],
    rng: random.Random,
) -> Iterator[Deal]:
    """Every eligible deal of the group, best first, computed lazily."""
    given: set[int] = set()

    def eligible(deal: Deal) -> bool:
        pid = deal.product_id
        return (pid not in given and pid not in exclude and pid not in skip
                and is_active(deal, now))

    def fits(deal: Deal) -> bool:
        return categories is None or deal.category in categories

    for deal in index._featured:
        if fits(deal) and eligible(deal):
            given.add(deal.product_id)
            yield deal
    for product_id in picks:
        picked = index.get(product_id)
        if picked is not None and fits(picked) and eligible(picked):
            given.add(product_id)
            yield picked

    names = index._categories if categories is None else [
        name for name in index._categories if name in categories]
    if not names:
        return
    values = sample_category_values(stats, names, rng)
    # Heap of (-score of the category's next deal, category order, position in its list).
    heap: list[tuple[float, int, int]] = []
    lists = [index._lists[name] for name in names]
    scores = [index._scores[name] for name in names]
    factors = [values[name] for name in names]
    for order, factor in enumerate(factors):
        heap.append((-factor * (0.5 + 0.5 * scores[order][0]), order, 0))
    heapq.heapify(heap)
    while heap:
        _, order, position = heap[0]
        deal = lists[order][position]
        nxt = position + 1
        if nxt < len(lists[order]):
            heapq.heapreplace(heap, (-factors[order] * (0.5 + 0.5 * scores[order][nxt]),
                                     order, nxt))
        else:
            heapq.heappop(heap)
        if eligible(deal):
            given.add(deal.product_id)
            yield deal
