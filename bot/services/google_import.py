"""Importing a Google Merchant Center feed into the catalog: one transaction, batched upserts."""

from __future__ import annotations

from typing import BinaryIO

from bot.domain.feed import FeedError, RowError
from bot.domain.google_feed import iter_google_feed
from bot.services.base import Service, ServiceError
from bot.services.feed_import import FeedWriter, ImportRejected, ImportResult


class GoogleFeedImport(Service):
    """``kocbot products import FILE --format google --merchant KEY``."""

    def run(self, stream: BinaryIO, *, filename: str, merchant: str, strict: bool = False) -> ImportResult:
        """Upsert the feed's items for ``merchant``; bad items are reported by position.

        With ``strict`` one bad item rejects the file; an unusable file raises ServiceError
        and nothing is written (one transaction)."""
        settings = self.config.merchants.get(merchant)
        if settings is None:
            raise ServiceError("merchant_not_configured", merchant=merchant)
        result = ImportResult()
        try:
            with self.db.transaction() as session:
                writer = FeedWriter(session, config=self.config, now=self.now())
                for _, item in iter_google_feed(stream, filename=filename, merchant=merchant,
                                                commission_rate=settings.commission_rate,
                                                default_currency=self.config.commission.currency,
                                                now=self.now()):
                    result.total += 1
                    if isinstance(item, RowError):
                        result.errors.append(item)
                    elif not (strict and result.errors):
                        writer.add(item, result)
                if strict and result.errors:
                    result.rejected = True
                    result.created = result.updated = 0
                    raise ImportRejected(result)  # rolls back every batch already written
                writer.flush()
        except FeedError as exc:
            raise ServiceError("feed_unusable", reason=str(exc)) from None
        except ImportRejected:
            return result
        return result
