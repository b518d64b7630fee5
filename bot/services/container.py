"""One object that carries every use case, built once in bot/app.py."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypedDict

from bot.config import Config
from bot.services.browse import BrowseService
from bot.services.cards import CardService
from bot.services.catalog import CatalogService
from bot.services.dashboard import DashboardService
from bot.services.google_import import GoogleFeedImport
from bot.services.groups import GroupService
from bot.services.operator import OperatorService
from bot.services.order_import import OrderImportService
from bot.services.orders import OrderService
from bot.services.posting import PostingService
from bot.services.promoters import PromoterService
from bot.services.reports import ReportService
from bot.services.tracking import TrackingService
from bot.storage.db import Database


def utc_now() -> datetime:
    """The real clock."""
    return datetime.now(UTC)


class _Deps(TypedDict):
    """What every service is built with."""

    config: Config
    db: Database
    now: Callable[[], datetime]


@dataclass
class Services:
    """Every use case, sharing one config, database, clock and random source."""

    config: Config
    db: Database
    now: Callable[[], datetime] = utc_now
    rng: random.Random = field(default_factory=random.Random)
    # The bot (token) this process speaks for; None in a single-token deployment.
    bot_id: int | None = None

    def __post_init__(self) -> None:
        deps = _Deps(config=self.config, db=self.db, now=self._now)
        self.catalog = CatalogService(**deps)
        self.promoters = PromoterService(**deps)
        self.groups = GroupService(**deps)
        self.posting = PostingService(**deps, catalog=self.catalog, rng=self.rng, bot_id=self.bot_id)
        self.tracking = TrackingService(**deps)
        self.orders = OrderService(**deps)
        self.reports = ReportService(**deps)
        self.browse = BrowseService(**deps, catalog=self.catalog)
        self.dashboard = DashboardService(**deps)
        self.cards = CardService(**deps)
        self.operator = OperatorService(**deps)
        self.google_feed = GoogleFeedImport(**deps)
        self.order_import = OrderImportService(orders=self.orders, promoters=self.promoters,
                                               currency=self.config.commission.currency)

    def _now(self) -> datetime:
        # Indirection so tests can swap ``services.now`` for an injectable clock at any time.
        return self.now()
