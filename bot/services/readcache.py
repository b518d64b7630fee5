"""A small in-process cache for per-person figures read from the append-only ledger.

An answer is kept with a *stamp* read from the database before the answer was computed and
with the span of time over which it holds. It is served only while a fresh stamp is equal and
the clock is inside that span, so a new ledger row (or click) is never answered from an older
figure. The stamp is a count of the person's rows: the ledger and the clicks are append-only
(nothing updates or deletes them), so any new row changes the count. Reading the stamp first
and the figures second keeps this true under concurrent writers: the figures then include at
least the rows counted, and any row they include beyond that makes the next stamp differ.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.storage.models import LedgerEntry


@dataclass(frozen=True)
class _Kept:
    stamp: Hashable
    since: datetime
    until: datetime | None  # None: no moment ahead changes the answer
    value: Any


class ReadCache:
    """Answers by key, each valid for one stamp and from ``since`` until before ``until``;
    the least recently used go first beyond ``size``, so memory stays bounded."""

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._kept: OrderedDict[Hashable, _Kept] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, stamp: Hashable, now: datetime) -> Any | None:
        """The kept answer if its stamp is ``stamp`` and ``now`` is inside its span, else None."""
        with self._lock:
            kept = self._kept.get(key)
            if kept is None or kept.stamp != stamp or now < kept.since or (
                    kept.until is not None and now >= kept.until):
                return None
            self._kept.move_to_end(key)
            return kept.value

    def put(self, key: Hashable, stamp: Hashable, since: datetime, until: datetime | None,
            value: Any) -> None:
        """Keep ``value`` for ``stamp``, valid from ``since`` until before ``until``."""
        with self._lock:
            self._kept[key] = _Kept(stamp, since, until, value)
            self._kept.move_to_end(key)
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)


def ledger_stamp(session: Session, user_id: int) -> int:
    """How many ledger rows the person has, in every currency (an index-only count)."""
    return session.scalar(select(func.count()).select_from(LedgerEntry)
                          .where(LedgerEntry.user_id == user_id)) or 0


def earliest(*moments: datetime | None) -> datetime | None:
    """The earliest of the moments given, ignoring None."""
    known = [m for m in moments if m is not None]
    return min(known) if known else None
