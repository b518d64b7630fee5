"""Writing a parsed product feed: streamed, batched upserts by (merchant, sku) in one transaction.

The feed is read with ``iter_feed`` and written in batches of a few thousand rows, so a
100,000-row file never sits in memory as objects and the database sees one bulk statement
per batch instead of one per row. Everything happens inside one transaction: an unusable
file (``FeedError``, even at its last line) or a ``--strict`` file with a bad row rolls
back every batch already written.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO, cast

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from bot.config import Config
from bot.domain.feed import FeedReader, ProductRow, RowError
from bot.services.base import in_chunks
from bot.storage.models import Merchant, Product

BATCH = 5000
# Progress is reported at most this often (in rows), so a terminal bar costs nothing.
PROGRESS_EVERY = 2000

# The columns a feed row sets; a row whose values all equal the stored ones is "unchanged".
_COMPARED = (Product.title, Product.url, Product.price, Product.original_price, Product.currency,
             Product.commission_rate, Product.category, Product.image_url, Product.starts_at,
             Product.ends_at, Product.stock, Product.featured)

Progress = Callable[[int, int], None]
"""Called with (bytes read so far, rows seen so far)."""


@dataclass
class ImportResult:
    """What an import did; ``rejected`` means --strict refused the whole file."""

    total: int = 0
    created: int = 0
    updated: int = 0  # rows that changed a known product
    unchanged: int = 0  # rows equal to what is stored: nothing written
    ended: int = 0  # rows that ended a deal (ends_at passed, or active = false)
    deactivated: int = 0
    errors: list[RowError] = field(default_factory=list)
    rejected: bool = False
    encoding: str = "utf-8"  # what the file was read as: utf-8 or gb18030
    deactivation_skipped: bool = False  # --deactivate-missing with bad rows: nothing deactivated


class ImportRejected(Exception):
    """--strict met a bad row: roll the whole transaction back."""

    def __init__(self, result: ImportResult) -> None:
        super().__init__(result)
        self.result = result


class _Counting(io.RawIOBase):
    """Counts the bytes the parser has pulled, for the progress bar."""

    def __init__(self, stream: BinaryIO) -> None:
        super().__init__()
        self._stream = stream
        self.count = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.count += len(data)
        return data


class FeedWriter:
    """One import run: merchants and existing products are looked up once, rows go in batches."""

    def __init__(self, session: Session, *, config: Config, now: datetime) -> None:
        self.session = session
        self.config = config
        self.now = now
        self.merchants: dict[str, int] = dict(session.execute(select(Merchant.name, Merchant.id)).all())
        self._sync_configured_merchants()
        # (merchant id, sku) → (product id, active, fingerprint of the stored values): one
        # query instead of one per row, and an int per product rather than its whole row.
        self.existing: dict[tuple[int, str], tuple[int, bool, int]] = {
            (row[1], row[2]): (row[0], row[3], hash(tuple(row[3:])))
            for row in session.execute(select(Product.id, Product.merchant_id, Product.sku,
                                              Product.active, *_COMPARED))
        }
        self.seen: set[tuple[int, str]] = set()
        self.inserts: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []

    def _sync_configured_merchants(self) -> None:
        """Config is the source of truth for a configured merchant's sub-id and URL template."""
        for name, settings in self.config.merchants.items():
            if name in self.merchants:
                self.session.execute(
                    update(Merchant).where(Merchant.id == self.merchants[name])
                    .values(subid_param=settings.subid_param, url_template=settings.url_template))

    def _merchant_id(self, name: str) -> int:
        mid = self.merchants.get(name)
        if mid is None:
            settings = self.config.merchants.get(name)
            merchant = Merchant(name=name, subid_param=settings.subid_param if settings else "subid",
                                url_template=settings.url_template if settings else "",
                                created_at=self.now)
            self.session.add(merchant)
            self.session.flush()
            mid = self.merchants[name] = merchant.id
        return mid

    def add(self, row: ProductRow, result: ImportResult) -> None:
        """Queue one valid row; writes a batch when it is full."""
        mid = self._merchant_id(row.merchant)
        key = (mid, row.sku)
        self.seen.add(key)
        values = {
            "merchant_id": mid, "sku": row.sku, "title": row.title, "url": row.url,
            "price": row.price, "original_price": row.original_price, "currency": row.currency,
            "commission_rate": row.commission_rate, "category": row.category,
            "image_url": row.image_url, "starts_at": row.starts_at, "ends_at": row.ends_at,
            "stock": row.stock, "featured": row.featured, "active": row.active, "updated_at": self.now,
        }
        known = self.existing.get(key)
        if not row.active and (known is None or known[1]):
            result.ended += 1
        if known is None:
            self.inserts.append(values)
            result.created += 1
        elif known[2] == hash((row.active, *(values[c.key] for c in _COMPARED))):
            # An unchanged row writes nothing: a nightly re-import of the same feed is cheap and
            # does not bump updated_at (which other processes read as "the catalog changed").
            result.unchanged += 1
        else:
            values["id"] = known[0]
            self.updates.append(values)
            result.updated += 1
        if len(self.inserts) + len(self.updates) >= BATCH:
            self.flush()

    def flush(self) -> None:
        """Write the queued rows: one bulk INSERT and one bulk UPDATE-by-id."""
        if self.inserts:
            self.session.execute(insert(Product), self.inserts)
            self.inserts = []
        if self.updates:
            self.session.execute(update(Product), self.updates)
            self.updates = []

    def deactivate_missing(self) -> int:
        """Mark active products that this (full) feed did not mention as inactive."""
        missing = [pid for key, (pid, active, _) in self.existing.items()
                   if active and key not in self.seen]
        for chunk in in_chunks(missing):
            self.session.execute(update(Product).where(Product.id.in_(chunk))
                                 .values(active=False, updated_at=self.now))
        return len(missing)


def import_stream(
    session: Session,
    stream: BinaryIO,
    *,
    filename: str,
    config: Config,
    now: datetime,
    strict: bool,
    deactivate_missing: bool,
    progress: Progress | None = None,
) -> ImportResult:
    """Parse and write a feed inside ``session``'s transaction; raises FeedError or ImportRejected."""
    counting = _Counting(stream)
    result = ImportResult()
    writer = FeedWriter(session, config=config, now=now)
    # The parser reads through a binary file's interface, which _Counting provides.
    reader = FeedReader(cast(BinaryIO, counting), filename=filename,
                        default_currency=config.commission.currency, now=now)
    for _, item in reader:
        result.total += 1
        if isinstance(item, RowError):
            result.errors.append(item)
        elif not (strict and result.errors):  # after a strict failure only keep reading errors
            writer.add(item, result)
        if progress is not None and result.total % PROGRESS_EVERY == 0:
            progress(counting.count, result.total)
    result.encoding = reader.encoding
    if strict and result.errors:
        result.rejected = True
        result.created = result.updated = result.unchanged = result.ended = 0
        raise ImportRejected(result)
    writer.flush()
    if deactivate_missing:
        if result.errors:
            # A bad row's product cannot be told apart from a missing one: deactivate nothing.
            result.deactivation_skipped = True
        else:
            result.deactivated = writer.deactivate_missing()
    if progress is not None:
        progress(counting.count, result.total)
    return result
