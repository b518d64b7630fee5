"""What every use case shares."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.config import Config
from bot.storage.db import Database


class ServiceError(Exception):
    """A use case refused: the message is a one-line reason fit to show a user."""


class Service:
    """Holds the config, the database and the clock."""

    def __init__(self, *, config: Config, db: Database, now: Callable[[], datetime]) -> None:
        self.config = config
        self.db = db
        self.now = now
