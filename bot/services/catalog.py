"""Catalog use cases: import a product feed, curate, search, and the in-memory ranking index."""

from __future__ import annotations

import io
import time
from typing import Any, BinaryIO

from sqlalchemy import Row, case, func, or_, select
from sqlalchemy.orm import Session

from bot.domain.feed import FeedError
from bot.domain.ranking import CatalogIndex, Deal
from bot.services.base import Service, ServiceError
from bot.services.feed_import import ImportRejected, ImportResult, Progress, import_stream
from bot.storage.models import Merchant, Pick, Product, User

# Seconds between checks that another process (the CLI) changed the catalog.
INDEX_RECHECK = 30.0


class CatalogService(Service):
    """Products and merchants."""

    def __init__(self, **deps: Any) -> None:
        super().__init__(**deps)
        self._index: CatalogIndex | None = None
        self._index_version: tuple[Any, ...] | None = None
        self._index_checked = 0.0
        # Bumped by every change made in this process, so other views (the mini app's search
        # index) see it at once instead of at their next version check.
        self.generation = 0

    # -- import ---------------------------------------------------------------------------
    def import_feed(
        self, data: bytes | BinaryIO, *, filename: str, strict: bool = False,
        deactivate_missing: bool = False, progress: Progress | None = None,
    ) -> ImportResult:
        """Parse and upsert a feed (bytes or a binary stream) in one transaction.

        Bad rows are reported with their line and reason and the good rows import; with
        ``strict`` any bad row rejects the whole file. An unusable file raises ServiceError.
        """
        stream = io.BytesIO(data) if isinstance(data, bytes | bytearray) else data
        try:
            with self.db.transaction() as session:
                result = import_stream(session, stream, filename=filename, config=self.config,
                                       now=self.now(), strict=strict,
                                       deactivate_missing=deactivate_missing, progress=progress)
        except FeedError as exc:
            raise ServiceError("feed_unusable", reason=str(exc)) from None
        except ImportRejected as rejected:
            return rejected.result
        self._index = None
        self.generation += 1
        return result

    # -- lookups and curation ---------------------------------------------------------------
    def find_by_sku(self, session: Session, sku: str) -> Product | None:
        """A product by sku (the first merchant's, if two share a sku); None when unknown."""
        return session.scalars(
            select(Product).where(Product.sku == sku).order_by(Product.id).limit(1)
        ).first()

    def set_featured(self, sku: str, featured: bool) -> Product:
        """Make a deal a platform pick, or stop it being one."""
        with self.db.transaction() as session:
            product = self.find_by_sku(session, sku)
            if product is None:
                raise ServiceError("no_product", sku=repr(sku))
            product.featured = featured
            product.updated_at = self.now()  # a new catalog version for other processes' indexes
        self.generation += 1
        if self._index is not None:
            self._index.set_featured(product.id, featured)
            with self.db.transaction() as session:
                self._index_version = self._version(session)
        return product

    def pick(self, *, user_id: int, product_id: int) -> None:
        """A promoter picks a deal for their groups (idempotent)."""
        with self.db.transaction() as session:
            if session.get(Product, product_id) is None:
                raise ServiceError("deal_gone")
            if session.get(User, user_id) is None:
                raise ServiceError("start_first")
            exists = session.scalars(select(Pick).where(Pick.user_id == user_id,
                                                        Pick.product_id == product_id)).first()
            if exists is None:
                session.add(Pick(user_id=user_id, product_id=product_id, created_at=self.now()))

    def live_version(self, product_id: int) -> str | None:
        """A key that changes whenever the product's card could, or None if it is not live."""
        with self.db.transaction() as session:
            product = session.get(Product, product_id)
            if product is None or not self.is_available(product):
                return None
            return f"{product.id}:{product.updated_at.isoformat()}:{product.price}"

    def is_available(self, product: Product | Row[*tuple[Any, ...]]) -> bool:
        """In stock, active and within its dates right now."""
        now = self.now()
        return (
            product.active
            and (product.stock is None or product.stock > 0)
            and (product.starts_at is None or product.starts_at <= now)
            and (product.ends_at is None or product.ends_at > now)
        )

    def search(self, words: str, *, limit: int = 20, offset: int = 0) -> list[Product]:
        """Available deals whose title, sku or category contains every word."""
        now = self.now()
        query = select(Product).where(
            Product.active.is_(True),
            or_(Product.stock.is_(None), Product.stock > 0),
            or_(Product.starts_at.is_(None), Product.starts_at <= now),
            or_(Product.ends_at.is_(None), Product.ends_at > now),
        )
        for word in words.split()[:8]:
            pattern = f"%{word.lower()}%"
            query = query.where(or_(
                func.lower(Product.title).like(pattern),
                func.lower(Product.sku).like(pattern),
                func.lower(Product.category).like(pattern),
            ))
        # The Share button sends "@bot <sku>": the exact sku comes first, then platform picks.
        exact = case((func.lower(Product.sku) == words.strip().lower(), 0), else_=1)
        query = query.order_by(exact, Product.featured.desc(), Product.id).offset(offset).limit(limit)
        with self.db.transaction() as session:
            return list(session.scalars(query))

    def merchant(self, session: Session, merchant_id: int) -> Merchant:
        return session.get_one(Merchant, merchant_id)

    # -- ranking index ---------------------------------------------------------------------
    def index(self) -> CatalogIndex:
        """The active catalog as a ranking index, rebuilt after imports and curation.

        An import by the CLI runs in another process, so every ``INDEX_RECHECK`` seconds the
        catalog's version (row count and latest ``updated_at``) is compared with the cached one.
        """
        if self._index is not None and time.monotonic() - self._index_checked >= INDEX_RECHECK:
            self._index_checked = time.monotonic()
            with self.db.transaction() as session:
                if self._version(session) != self._index_version:
                    self._index = None
        if self._index is None:
            with self.db.transaction() as session:
                version = self._version(session)
                rows = session.execute(
                    select(Product.id, Product.category, Product.price, Product.original_price,
                           Product.commission_rate, Product.featured, Product.starts_at,
                           Product.ends_at, Product.stock).where(Product.active.is_(True))
                ).all()
            self._index = CatalogIndex(
                Deal(product_id=r[0], category=r[1], price=r[2], original_price=r[3],
                     commission_rate=r[4], featured=r[5], starts_at=r[6], ends_at=r[7], stock=r[8])
                for r in rows
            )
            self._index_version, self._index_checked = version, time.monotonic()
        return self._index

    @staticmethod
    def _version(session: Session) -> tuple[Any, ...]:
        return tuple(session.execute(select(func.count(Product.id), func.max(Product.updated_at))).one())

    def invalidate(self) -> None:
        """Forget the cached index (after a write elsewhere)."""
        self._index = None
        self.generation += 1
