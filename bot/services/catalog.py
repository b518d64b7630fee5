"""Catalog use cases: import a product feed, curate, search, and the in-memory ranking index."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from bot.domain.feed import FeedError, ProductRow, RowError, parse_feed
from bot.domain.ranking import CatalogIndex, Deal
from bot.services.base import Service, ServiceError
from bot.storage.models import Merchant, Pick, Product, User


@dataclass
class ImportResult:
    """What an import did; ``rejected`` means --strict refused the whole file."""

    total: int = 0
    created: int = 0
    updated: int = 0
    deactivated: int = 0
    errors: list[RowError] = field(default_factory=list)
    rejected: bool = False


class CatalogService(Service):
    """Products and merchants."""

    def __init__(self, **deps: Any) -> None:
        super().__init__(**deps)
        self._index: CatalogIndex | None = None

    # -- import ---------------------------------------------------------------------------
    def import_feed(
        self, data: bytes, *, filename: str, strict: bool = False, deactivate_missing: bool = False
    ) -> ImportResult:
        """Parse and upsert a feed in one transaction; per-line errors are reported, not fatal."""
        try:
            parsed = parse_feed(data, filename=filename, default_currency=self.config.commission.currency,
                                now=self.now())
        except FeedError as exc:
            raise ServiceError(str(exc)) from None
        result = ImportResult(total=parsed.total, errors=list(parsed.errors))
        if strict and parsed.errors:
            result.rejected = True
            return result
        with self.db.transaction() as session:
            self._upsert(session, [row for _, row in parsed.rows], result)
            if deactivate_missing:
                seen = {(row.merchant, row.sku) for _, row in parsed.rows}
                result.deactivated = self._deactivate_missing(session, seen)
        self._index = None
        return result

    def _merchant_ids(self, session: Session, names: set[str]) -> dict[str, int]:
        existing = dict(session.execute(select(Merchant.name, Merchant.id)).all())
        for name in sorted(names - existing.keys()):
            settings = self.config.merchants.get(name)
            merchant = Merchant(
                name=name,
                subid_param=settings.subid_param if settings else "subid",
                url_template=settings.url_template if settings else "",
                created_at=self.now(),
            )
            session.add(merchant)
            session.flush()
            existing[name] = merchant.id
        return existing

    def _upsert(self, session: Session, rows: list[ProductRow], result: ImportResult) -> None:
        merchants = self._merchant_ids(session, {row.merchant for row in rows})
        existing = {
            (mid, sku): pid
            for pid, mid, sku in session.execute(select(Product.id, Product.merchant_id, Product.sku))
        }
        now = self.now()
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for row in rows:
            values = {
                "merchant_id": merchants[row.merchant], "sku": row.sku, "title": row.title,
                "url": row.url, "price": row.price, "original_price": row.original_price,
                "currency": row.currency, "commission_rate": row.commission_rate,
                "category": row.category, "image_url": row.image_url, "starts_at": row.starts_at,
                "ends_at": row.ends_at, "stock": row.stock, "featured": row.featured,
                "active": True, "updated_at": now,
            }
            pid = existing.get((values["merchant_id"], row.sku))
            if pid is None:
                inserts.append(values)
            else:
                updates.append({"id": pid, **values})
        # Bulk statements: one round trip per batch, not one per row (100k-row feeds).
        if inserts:
            session.execute(Product.__table__.insert(), inserts)
        if updates:
            session.execute(update(Product), updates)
        result.created, result.updated = len(inserts), len(updates)

    def _deactivate_missing(self, session: Session, seen: set[tuple[str, str]]) -> int:
        count = 0
        rows = session.execute(
            select(Product.id, Merchant.name, Product.sku)
            .join(Merchant, Merchant.id == Product.merchant_id)
            .where(Product.active.is_(True))
        )
        missing = [pid for pid, name, sku in rows if (name, sku) not in seen]
        for start in range(0, len(missing), 500):
            chunk = missing[start:start + 500]
            session.execute(update(Product).where(Product.id.in_(chunk)).values(active=False))
            count += len(chunk)
        return count

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
                raise ServiceError(f"no product with sku {sku!r}")
            product.featured = featured
        self._index = None
        return product

    def pick(self, *, user_id: int, product_id: int) -> None:
        """A promoter picks a deal for their groups (idempotent)."""
        with self.db.transaction() as session:
            if session.get(Product, product_id) is None:
                raise ServiceError("this deal is no longer available")
            if session.get(User, user_id) is None:
                raise ServiceError("send /start to me first")
            exists = session.scalars(select(Pick).where(Pick.user_id == user_id,
                                                        Pick.product_id == product_id)).first()
            if exists is None:
                session.add(Pick(user_id=user_id, product_id=product_id, created_at=self.now()))

    def is_available(self, product: Product) -> bool:
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
        query = query.order_by(Product.featured.desc(), Product.id).offset(offset).limit(limit)
        with self.db.transaction() as session:
            return list(session.scalars(query))

    def merchant(self, session: Session, merchant_id: int) -> Merchant:
        return session.get_one(Merchant, merchant_id)

    # -- ranking index ---------------------------------------------------------------------
    def index(self) -> CatalogIndex:
        """The active catalog as a ranking index, rebuilt after imports and curation."""
        if self._index is None:
            with self.db.transaction() as session:
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
        return self._index

    def invalidate(self) -> None:
        """Forget the cached index (after a write elsewhere)."""
        self._index = None
