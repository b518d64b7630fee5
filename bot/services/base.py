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
    """A use case refused, as a text key and its values; ``str()`` is the English reason.

    The keys and their texts in every language live in ``bot/tg/texts.py`` (``ERRORS``): chat
    handlers translate them, the CLI and the web API show the English.
    """

    def __init__(self, key: str, /, **params: object) -> None:
        super().__init__(key, params)
        self.key = key
        self.params = params

    def text(self, lang: str = "en") -> str:
        """The one-line reason in ``lang``."""
        # The table is plain data (texts.py imports only the standard library), so the use
        # cases reach no Telegram code through it.
        from bot.tg.texts import refusal

        return refusal(self.key, self.params, lang)

    def __str__(self) -> str:
        return self.text()


class Service:
    """Holds the config, the database and the clock."""

    def __init__(self, *, config: Config, db: Database, now: Callable[[], datetime]) -> None:
        self.config = config
        self.db = db
        self.now = now
