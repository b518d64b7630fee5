"""Browsing deals outside a group (the mini app): search in the bot's order, and one deal's page."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from bot.domain.ranking import Deal
from bot.domain.search import DealSearch, Filters, Listing
from bot.services.base import Service
from bot.services.catalog import INDEX_RECHECK, CatalogService
from bot.storage.models import Merchant, Product


@dataclass(frozen=True)
class DealPage:
    """What a deal's page shows, read fresh from the database."""

    product: Product
    merchant: str
    live: bool


class BrowseService(Service):
    """The live catalog as a search index (rebuilt when the catalog changes) and deal pages."""

    def __init__(self, *, catalog: CatalogService, **deps: Any) -> None:
        super().__init__(**deps)
        self.catalog = catalog
        self._search: DealSearch | None = None
        self._version: tuple[Any, ...] | None = None
        self._checked = 0.0
        self._generation = -1
        self._lock = threading.Lock()  # held by the one rebuild in progress

    def index(self) -> DealSearch:
        """The search index of active products, re-read when the catalog changes.

        Rebuilding 100k products takes seconds, so only the very first search waits for it.
        After that, a change made in this process (import, ``/feature``) or one noticed by the
        version check (another process's change, every ``INDEX_RECHECK`` seconds) is rebuilt in
        the background while searches keep the old index until the new one is ready. Deal
        pages, Buy and Share read the database, so the old index never sells an ended deal.
        """
        changed = self._generation != self.catalog.generation
        if self._search is not None and not changed and time.monotonic() - self._checked < INDEX_RECHECK:
            return self._search
        if self._search is None:
            with self._lock:
                if self._search is None:
                    self._rebuild(force=True)
            assert self._search is not None
            return self._search
        current = self._search  # this search's answer, even if the rebuild finishes first
        if self._lock.acquire(blocking=False):  # one rebuild at a time; others keep the old index
            self._checked = time.monotonic()
            threading.Thread(target=self._rebuild_and_release, args=(changed,),
                             name="kocbot-browse-index", daemon=True).start()
        return current

    def _rebuild_and_release(self, force: bool) -> None:
        try:
            self._rebuild(force=force)
        finally:
            self._lock.release()

    def _rebuild(self, *, force: bool) -> None:
        """Read the live catalog into a new index; unless ``force`` (this process changed it),
        skip the read when the catalog's version has not moved."""
        generation = self.catalog.generation
        with self.db.transaction() as session:
            version = self.catalog._version(session)
            if not force and self._search is not None and version == self._version:
                self._checked, self._generation = time.monotonic(), generation
                return
            rows = session.execute(
                select(Product.id, Product.category, Product.price, Product.original_price,
                       Product.commission_rate, Product.featured, Product.starts_at,
                       Product.ends_at, Product.stock, Product.sku, Merchant.name,
                       Product.title, Product.currency, Product.image_url)
                .join(Merchant, Merchant.id == Product.merchant_id)
                .where(Product.active.is_(True))).all()
        search = DealSearch(
            Listing(deal=Deal(product_id=r[0], category=r[1], price=r[2], original_price=r[3],
                              commission_rate=r[4], featured=r[5], starts_at=r[6], ends_at=r[7],
                              stock=r[8]),
                    sku=r[9], merchant=r[10], title=r[11], currency=r[12], image=r[13])
            for r in rows)
        self._search, self._version, self._checked = search, version, time.monotonic()
        self._generation = generation

    def invalidate(self) -> None:
        """Forget the index (after an import in this process)."""
        self._search = None

    def search(self, filters: Filters, *, offset: int = 0, limit: int = 20) -> tuple[list[Listing], bool]:
        """A page of live deals matching ``filters``, best first, and whether more follow."""
        return self.index().search(filters, now=self.now(), offset=offset, limit=limit)

    def deal(self, product_id: int) -> DealPage | None:
        """One product's page (stock, dates and price as of now); None when unknown."""
        with self.db.transaction() as session:
            row = session.execute(
                select(Product, Merchant.name).join(Merchant, Merchant.id == Product.merchant_id)
                .where(Product.id == product_id)).first()
            if row is None:
                return None
            product, merchant = row
            return DealPage(product=product, merchant=merchant,
                            live=self.catalog.is_available(product))
