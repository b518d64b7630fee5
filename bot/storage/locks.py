"""PostgreSQL advisory lock keys, in one place so no two uses share one, and the transaction
locks that keep processes' writes apart where a row lock cannot (a row not written yet).

On SQLite these are no-ops: one writer at a time already orders the transactions."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

SCHEDULER_LEADER = 0x6B6F63_0001  # "koc" + 1: session lock of the one scheduler (leader.py)
STATS_FOLD = 1701170003  # the /stats rollups' compaction (services/reports.py)
EARNINGS_FOLD = 1701170010  # the earning_days compaction (services/dashboard.py)
CLICK_ATTRIBUTION = 1701170011  # click batches (shared) against unknown-click reports (exclusive)


def hold(session: Session, key: int, *, shared: bool = False) -> None:
    """Take advisory lock ``key`` until ``session``'s transaction ends (PostgreSQL only)."""
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    session.execute(text(f"SELECT {function}(:k)"), {"k": key})


def click_batch(session: Session) -> None:
    """Taken (shared) by a batch of clicks before it writes them: batches never wait on each
    other, only on an order report that is deciding that its click does not exist."""
    if session.get_bind().dialect.name == "postgresql":
        hold(session, CLICK_ATTRIBUTION, shared=True)


def unknown_click(session: Session) -> bool:
    """Taken (exclusive) by an order report whose click is not in the table, before it stores
    the order unattributed: it waits for the click batches in flight to commit, so that a
    second look sees their clicks, and a batch starting later sees this order when it looks
    for orders waiting on its clicks. Without it, under READ COMMITTED the two could each
    miss the other and the order stay with the platform for good.

    True when it waited (PostgreSQL), so a second look can find something the first did not."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    hold(session, CLICK_ATTRIBUTION)
    return True
