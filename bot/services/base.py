"""What every use case shares."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import TypeVar

from bot.config import Config
from bot.storage.db import Database

T = TypeVar("T")

IN_LIST = 500  # values per IN (...) list: far below SQLite's and PostgreSQL's parameter limits


def in_chunks(items: Sequence[T]) -> Iterator[list[T]]:
    """``items`` in slices small enough for one ``IN (...)`` list each (``IN_LIST`` long)."""
    for start in range(0, len(items), IN_LIST):
        yield list(items[start:start + IN_LIST])


class ServiceError(Exception):
    """A use case refused: the message is a one-line reason fit to show a user."""


class Service:
    """Holds the config, the database and the clock."""

    def __init__(self, *, config: Config, db: Database, now: Callable[[], datetime]) -> None:
        self.config = config
        self.db = db
        self.now = now
