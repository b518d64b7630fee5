"""Cards ready to send: caption, keyboard data and the photo, rendered and uploaded once.

A card's photo is keyed by (product, price, template version, locale). The first send of a
key uploads the rendered JPEG and remembers Telegram's ``file_id``; every later send of the
same key reuses it. A per-key lock makes concurrent fan-out wait for that first upload
instead of rendering and uploading the same card a thousand times. The rendered bytes are
kept until the upload succeeds, so a failed first upload does not render again.

Cards are also cached in memory per (product, price) for ``CARD_TTL`` seconds: a broadcast to
a thousand groups reads the product once, not a thousand times. The sender re-checks the
price before each send, so a cached card never shows a stale price.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from telegram import Message

from bot.cards.captions import make_environment, render_caption
from bot.cards.images import fetch_image
from bot.cards.render import CardInput, render_card

if TYPE_CHECKING:
    from bot.config import Config
    from bot.metrics import Metrics
    from bot.services.cards import CardService
    from bot.storage.db import Database
    from bot.storage.models import Merchant, Product

TEMPLATE_VERSION = "1"
CARD_TTL = 60.0


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

    def __init__(self, *, config: Config, db: Database, cards: CardService, bot_id: int | None,
                 metrics: Metrics, cache_dir: Path, out_dir: Path | None = None) -> None:
        self.config = config
        self.db = db
        self.store = cards
        self.bot_id = bot_id
        self.metrics = metrics
        self.cache_dir = cache_dir
        self.out_dir = out_dir  # the demo writes every rendered card here
        self.env = make_environment()
        self._locks: dict[str, asyncio.Lock] = {}
        self._file_ids: dict[str, str] = {}
        self._cards: dict[tuple[int, int], tuple[float, Card]] = {}
        self._bytes: dict[str, bytes] = {}

    def _key(self, product_id: int, price: int) -> str:
        # A file_id belongs to the bot that uploaded it, so each token caches its own.
        bot = self.bot_id or 0
        return f"{bot}:{product_id}:{price}:{TEMPLATE_VERSION}:{self.config.card.locale}"

    def _product_key(self, product: Product) -> str:
        return self._key(product.id, product.price)

    async def _load(self, product_id: int) -> tuple[Product, Merchant, str | None]:
        return await self.db.run(self.store.load, product_id, self._product_key, self._file_ids.get)

    async def prepare(self, product_id: int, price: int | None = None) -> Card:
        """Caption and cached file id (if any) of a product's card (``price``: use the cache)."""
        if price is not None:
            cached = self._cards.get((product_id, price))
            if cached is not None and time.monotonic() - cached[0] < CARD_TTL:
                card = cached[1]
                if card.file_id is None and card.key in self._file_ids:
                    card = Card(**{**card.__dict__, "file_id": self._file_ids[card.key]})
                    self._cards[(product_id, price)] = (cached[0], card)
                return card
        card = await self._prepare(product_id)
        if len(self._cards) > 4096:
            self._cards.clear()
        self._cards[(card.product_id, card.price)] = (time.monotonic(), card)
        return card

    async def warm(self, product_id: int, price: int) -> None:
        """Render a card that has no file id yet, before its first send is timed."""
        card = await self.prepare(product_id, price)
        if card.file_id is None and card.key not in self._file_ids and card.key not in self._bytes:
            async with self._locks.setdefault(card.key, asyncio.Lock()):
                if card.key not in self._file_ids and card.key not in self._bytes:
                    self._bytes[card.key] = await self.render(product_id)

    async def _prepare(self, product_id: int) -> Card:
        product, merchant, file_id = await self._load(product_id)
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
        product, merchant, _ = await self._load(product_id)
        image = None
        if product.image_url:
            image = await fetch_image(product.image_url, cache_dir=self.cache_dir / "images",
                                    allow_private=self.config.card.allow_private_image_urls)
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
            known = self._file_ids.get(card.key) or (await self._load(card.product_id))[2]
            if known:
                # Another process uploaded it: keep its file id, so that the next sends of this
                # card skip the lock (held through a whole send, it would send them one by one).
                self._file_ids[card.key] = known
                yield known
            else:
                data = self._bytes.get(card.key) or await self.render(card.product_id)
                self._bytes[card.key] = data
                yield data

    async def remember(self, card: Card, message: Message) -> None:
        """Keep the file id of the largest size Telegram made of an uploaded card."""
        if card.key in self._file_ids or not message.photo:
            return
        file_id = message.photo[-1].file_id
        self._file_ids[card.key] = file_id
        self._bytes.pop(card.key, None)
        self._locks.pop(card.key, None)
        self.metrics.uploads.inc()
        await self.db.run(self.store.remember_file, card.key, file_id)
