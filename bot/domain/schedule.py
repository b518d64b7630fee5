"""Posting slots: parse a group's times, and find the next slot in its time zone.

A group stores its local times ("09:00 20:00") and an IANA zone. The scheduler keeps one
``next_slot_at`` (UTC) per group, so each tick only looks at groups that are due, and no
job per group is held in memory. DST: a local time that does not exist (spring forward) is
taken at the same wall-clock offset as before the jump (``fold=0``), one that repeats
(fall back) is taken once, at its first occurrence.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_SLOTS = 12
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")


def parse_slot_times(words: list[str] | tuple[str, ...]) -> list[time]:
    """``["9:00", "20:30"]`` → sorted unique times; ValueError with a one-line reason."""
    if not words:
        raise ValueError("give at least one time, like 09:00")
    times: set[time] = set()
    for word in words:
        match = _HHMM.match(word.strip())
        if not match or int(match[1]) > 23 or int(match[2]) > 59:
            raise ValueError(f"{word!r} is not a time like 09:00 or 20:30")
        times.add(time(int(match[1]), int(match[2])))
    if len(times) > MAX_SLOTS:
        raise ValueError(f"at most {MAX_SLOTS} posting times a day")
    return sorted(times)


def times_from_text(text: str) -> list[time]:
    """The stored form ``"09:00 20:00"`` back to times ("" → none)."""
    return parse_slot_times(text.split()) if text.strip() else []


def next_slot(times: list[time], tz_name: str, after: datetime) -> datetime | None:
    """The first slot strictly after ``after`` (aware), in UTC; None when there are no times."""
    if not times:
        return None
    tz = ZoneInfo(tz_name)
    local = after.astimezone(tz)
    for day in range(0, 3):
        date = (local + timedelta(days=day)).date()
        for t in times:
            candidate = datetime.combine(date, t, tzinfo=tz).astimezone(UTC)
            if candidate > after:
                return candidate
    return None


def slot_key(slot: datetime) -> str:
    """The outbox key of a scheduled slot: its UTC minute."""
    return slot.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def is_scheduled(slot_key_text: str) -> bool:
    """True for a scheduled slot's key; False for ``/post`` (``now:…``) and ``/broadcast``."""
    return not slot_key_text.startswith(("now:", "broadcast:"))


def is_missed(slot: datetime, now: datetime, grace: timedelta) -> bool:
    """A slot older than the grace period (downtime) is skipped rather than posted late."""
    return now - slot > grace
