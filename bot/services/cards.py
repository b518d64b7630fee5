"""The rows behind a deal card: the product, its merchant and the cached Telegram file id."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from bot.services.base import Service
from bot.storage.models import CardFile, Merchant, Product


class CardService(Service):
    """Reads what a card shows and remembers the file id Telegram gave an uploaded card."""

    def load(self, product_id: int, key_of: Callable[[Product], str],
             known: Callable[[str], str | None]) -> tuple[Product, Merchant, str | None]:
        """The product, its merchant and the card's file id (``known`` first, then the table).

        Raises ``NoResultFound`` when the product is gone."""
        with self.db.transaction() as session:
            product = session.get_one(Product, product_id)
            merchant = session.get_one(Merchant, product.merchant_id)
            key = key_of(product)
            file_id = known(key) or session.scalar(select(CardFile.file_id).where(CardFile.key == key))
            return product, merchant, file_id

    def remember_file(self, key: str, file_id: str) -> None:
        """Keep a card's file id for every later send of the same key (the first one wins)."""
        with self.db.transaction() as session:
            if session.get(CardFile, key) is None:
                session.add(CardFile(key=key, file_id=file_id, created_at=self.now()))

    def by_sku(self, sku: str) -> tuple[Product, Merchant] | None:
        """A product by sku with its merchant (``kocbot card preview``), or None."""
        with self.db.transaction() as session:
            # The first merchant's, if two share a sku (as CatalogService.find_by_sku).
            product = session.scalars(
                select(Product).where(Product.sku == sku).order_by(Product.id).limit(1)).first()
            if product is None:
                return None
            return product, session.get_one(Merchant, product.merchant_id)
