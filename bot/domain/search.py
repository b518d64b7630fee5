"""Searching live deals by words, category, price and discount, in the bot's ranking order.

Order: an exact sku match first (what the Share button's ``@bot <sku>`` expects), then
featured deals, then everything else by ``ranking.static_score`` (discount depth and
commission), the order ``CatalogIndex`` keeps each category in. A group's learned ranking
needs a group; a member browsing the mini app has none, so the static order is the one that
fits.

Speed: every entry's lower-cased text is joined, in rank order, into one string. A word is
found with ``str.find`` (C speed) from where the last hit ended, and the first hits are the
best ranked, so a page of results stops the scan early. With a category, only that
category's entries (kept in rank order) are checked. Words without spaces match inside
Chinese titles, which have none.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from typing import Any

from bot.domain.ranking import Deal, is_active, static_score

SEPARATOR = "\x00"
MAX_WORDS = 8


@dataclass(frozen=True, slots=True)
class Listing:
    """A deal as the mini app shows it: the ranking facts plus what a card needs."""

    deal: Deal
    sku: str
    merchant: str
    title: str
    currency: str
    image: str


@dataclass(frozen=True)
class Filters:
    """What a search asks for; prices in minor units, discount in whole percent."""

    words: tuple[str, ...] = ()
    category: str | None = None
    min_price: int | None = None
    max_price: int | None = None
    min_discount: int | None = None

    @classmethod
    def of(cls, query: str = "", **values: Any) -> Filters:
        """Filters from a free-text query (split on spaces, lower-cased) and the rest."""
        words = tuple(dict.fromkeys(w for w in query.lower().split() if w))[:MAX_WORDS]
        return cls(words=words, **values)


def discount_percent(deal: Deal) -> int:
    """Whole percent off the original price (0 when there is no discount)."""
    if deal.original_price <= 0 or deal.price >= deal.original_price:
        return 0
    return (deal.original_price - deal.price) * 100 // deal.original_price


class DealSearch:
    """The live catalog in rank order, searchable without the database."""

    def __init__(self, listings: Iterable[Listing]) -> None:
        ranked = sorted(listings, key=lambda x: (not x.deal.featured, -static_score(x.deal),
                                                 x.deal.product_id))
        self._listings = ranked
        texts = [SEPARATOR.join((x.title, x.sku, x.deal.category)).lower() for x in ranked]
        self._starts: list[int] = []
        position = 0
        for text in texts:
            self._starts.append(position)
            position += len(text) + 1
        self._text = SEPARATOR.join(texts) + SEPARATOR
        self._texts = texts
        self._by_sku: dict[str, list[int]] = {}
        self._by_category: dict[str, list[int]] = {}
        for n, listing in enumerate(ranked):
            self._by_sku.setdefault(listing.sku.lower(), []).append(n)
            self._by_category.setdefault(listing.deal.category, []).append(n)
        self._by_id = {x.deal.product_id: x for x in ranked}
        self._categories = sorted({x.deal.category for x in ranked if x.deal.category})

    def __len__(self) -> int:
        return len(self._listings)

    def get(self, product_id: int) -> Listing | None:
        """The listing of one product, or None."""
        return self._by_id.get(product_id)

    def categories(self) -> list[str]:
        """Every category that has a deal, sorted."""
        return list(self._categories)

    def search(self, filters: Filters, *, now: datetime, offset: int = 0,
               limit: int = 20) -> tuple[list[Listing], bool]:
        """One page of matching live deals, best first, and whether more follow."""
        wanted = offset + limit + 1
        found: list[Listing] = []
        seen: set[int] = set()
        exact = self._by_sku.get(filters.words[0], []) if len(filters.words) == 1 else []
        if filters.category is not None:
            # A category is a few thousand entries at most: check the words on each of them.
            texts, words = self._texts, filters.words
            candidates: Iterable[int] = (n for n in self._by_category.get(filters.category, ())
                                         if all(w in texts[n] for w in words))
        else:
            candidates = self._candidates(filters.words)
        for n in chain(exact, candidates):  # lazily: a full page stops the scan
            if n in seen:
                continue
            seen.add(n)
            listing = self._listings[n]
            if self._fits(listing, filters, now):
                found.append(listing)
                if len(found) >= wanted:
                    break
        return found[offset:offset + limit], len(found) > offset + limit

    def _candidates(self, words: tuple[str, ...]) -> Iterator[int]:
        """Entry numbers, in rank order, whose text holds every word."""
        if not words:
            yield from range(len(self._listings))
            return
        # Scan for the longest word (the rarest, as a rule); check the others per entry.
        lead = max(words, key=len)
        rest = [w for w in words if w != lead]
        text, starts = self._text, self._starts
        position = 0
        while True:
            hit = text.find(lead, position)
            if hit < 0:
                return
            n = bisect_right(starts, hit) - 1
            end = starts[n + 1] - 1 if n + 1 < len(starts) else len(text) - 1
            if all(text.find(w, starts[n], end) >= 0 for w in rest):
                yield n
            position = end + 1

    @staticmethod
    def _fits(listing: Listing, f: Filters, now: datetime) -> bool:
        deal = listing.deal
        if f.category is not None and deal.category != f.category:
            return False
        if f.min_price is not None and deal.price < f.min_price:
            return False
        if f.max_price is not None and deal.price > f.max_price:
            return False
        if f.min_discount is not None and discount_percent(deal) < f.min_discount:
            return False
        return is_active(deal, now)
