"""The narrow runtime: the collaborators that handlers, web routes and jobs reach at run time.

Built once by bot/app.py. This module imports nothing of the project at run time (the types
below are for the type checker only), so any layer can name ``Runtime`` without an import
circle: the idea of the full-stack FastAPI template's ``api/deps.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from telegram.ext import ExtBot

    from bot.config import Config
    from bot.domain.throttle import Throttle
    from bot.metrics import Metrics
    from bot.networks.runtime import NetworkRuntime
    from bot.services.container import Services
    from bot.storage.db import Database
    from bot.tg.card_pipeline import CardPipeline
    from bot.tg.sender import Sender
    from bot.tg.stars import StarsSpent
    from bot.tg.tapqueue import TapQueue
    from bot.web.clicks import ClickBuffer


@dataclass(frozen=True, eq=False)
class Runtime:
    """What one running kocbot shares with its handlers, routes and sender."""

    config: Config
    db: Database
    services: Services
    metrics: Metrics
    throttle: Throttle
    taps: TapQueue
    cards: CardPipeline
    sender: Sender
    clicks: ClickBuffer
    networks: NetworkRuntime  # Buy-time promotion links of the enabled affiliate networks
    stars_spent: StarsSpent  # paid-broadcast fees, read from Telegram for /stats
    bot: ExtBot[Any]
    updates: asyncio.Queue[object]  # the application's update queue (webhook updates go here)
    bot_api_ok: Callable[[], Awaitable[bool]]  # a cached getMe check, for /healthz
