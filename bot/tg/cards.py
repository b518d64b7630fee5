"""Cards ready to send: caption, keyboard data and the photo, rendered and uploaded once.

A card's photo is keyed by (product, price, template version, locale). The first send of a
key uploads the rendered JPEG and remembers Telegram's ``file_id``; every later send of the
same key reuses it. A per-key lock makes concurrent fan-out wait for that first upload
instead of rendering and uploading the same card a thousand times.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from telegram import Message

from bot.cards.captions import make_environment, render_caption
from bot.cards.images import fetch_image
from bot.cards.render import CardInput, render_card
from bot.config import Config
from bot.metrics import Metrics
from bot.services import Services
from bot.storage.models import CardFile, Merchant, Product

TEMPLATE_VERSION = "1"


@dataclass(frozen=True)
class Card:
    product_id: int
    key: str
    caption: str
    sku: str
    price: int
    currency: str
    file_id: str | None


class CardPipeline:
    """Renders cards, caches their file ids, and serves card images by product."""

    def __init__(self, *, config: Config, services: Services, metrics: Metrics, cache_dir: Path,
                 out_dir: Path | None = None) -> None:
        self.config = config
        self.services = services
        self.metrics = metrics
        self.cache_dir = cache_dir
        self.out_dir = out_dir  # the demo writes every rendered card here
        self.env = make_environment()
        self._locks: dict[str, asyncio.Lock] = {}
        self._file_ids: dict[str, str] = {}

    def _key(self, product_id: int, price: int) -> str:
        # A file_id belongs to the bot that uploaded it, so each token caches its own.
        bot = self.services.bot_id or 0
        return f"{bot}:{product_id}:{price}:{TEMPLATE_VERSION}:{self.config.card.locale}"

    def _load(self, product_id: int) -> tuple[Product, Merchant, str | None]:
        with self.services.db.transaction() as session:
            product = session.get_one(Product, product_id)
            merchant = session.get_one(Merchant, product.merchant_id)
            key = self._key(product.id, product.price)
            file_id = self._file_ids.get(key) or session.scalar(
                select(CardFile.file_id).where(CardFile.key == key))
            return product, merchant, file_id

    async def prepare(self, product_id: int) -> Card:
        """Caption and cached file id (if any) of a product's card."""
        product, merchant, file_id = self._load(product_id)
        locale = self.config.card.locale
        caption = render_caption(locale=locale, title=product.title, merchant=merchant.name,
                                 price=product.price, original_price=product.original_price,
                                 currency=product.currency, category=product.category,
                                 ends_at=product.ends_at, env=self.env)
        key = self._key(product.id, product.price)
        return Card(product_id=product.id, key=key, caption=caption, sku=product.sku,
                    price=product.price, currency=product.currency, file_id=file_id)

    async def render(self, product_id: int) -> bytes:
        """The card image (JPEG bytes) of a product."""
        product, merchant, _ = self._load(product_id)
        image = None
        if product.image_url:
            image = await fetch_image(product.image_url, cache_dir=self.cache_dir / "images")
        data = await asyncio.to_thread(render_card, CardInput(
            title=product.title, merchant=merchant.name, price=product.price,
            original_price=product.original_price, currency=product.currency, image=image,
            locale=self.config.card.locale), font_path=self.config.card.font_path)
        self.metrics.renders.inc()
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            (self.out_dir / f"{product.sku}.jpg").write_bytes(data)
        return data

    @asynccontextmanager
    async def photo(self, card: Card) -> AsyncIterator[str | bytes]:
        """Yield a file id, or fresh JPEG bytes while holding the key's lock for the upload."""
        if card.file_id or card.key in self._file_ids:
            yield card.file_id or self._file_ids[card.key]
            return
        lock = self._locks.setdefault(card.key, asyncio.Lock())
        async with lock:
            known = self._file_ids.get(card.key) or self._load(card.product_id)[2]
            if known:
                yield known
            else:
                yield await self.render(card.product_id)

    def remember(self, card: Card, message: Message) -> None:
        """Keep the file id of the largest size Telegram made of an uploaded card."""
        if card.key in self._file_ids or not message.photo:
            return
        file_id = message.photo[-1].file_id
        self._file_ids[card.key] = file_id
        self._locks.pop(card.key, None)
        self.metrics.uploads.inc()
        with self.services.db.transaction() as session:
            if session.get(CardFile, card.key) is None:
                session.add(CardFile(key=card.key, file_id=file_id, created_at=self.services.now()))
