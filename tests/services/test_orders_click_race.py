"""A postback and the batch that writes its click, in flight at the same moment, on real SQLite
and PostgreSQL: whichever commits first, the order ends attributed to its promoter.

On PostgreSQL (READ COMMITTED) the two transactions could each miss the other: the postback
read no click (the batch had not committed) and stored the order unattributed, while the
batch looked for waiting orders before the postback committed and found none. The order then
stayed with the platform for good, the promoter and upline unpaid.

Each test forces one interleaving with SQLAlchemy's ``after_cursor_execute`` event: one side
stops right after its read, inside its open transaction, until the other side has finished or
a second has passed (the other side is then waiting on a lock, which is the fix)."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import event

from bot.services import statements
from tests.services.test_orders_late_click import (
    SPLIT_1606,
    buffered_click,
    holdings,
    ingest,
    order_row,
    per_account,
    world,  # noqa: F401 - the fixture, both backends
    write,
)
from tests.support.world import PROMOTER

HOLD = 1.0  # seconds one side stays paused inside its transaction at most


def pause_after(engine, thread: str, matches: Callable[[str], bool], reached: threading.Event,
                resume: threading.Event) -> None:
    """In thread ``thread``, after the first statement that ``matches``, signal ``reached``
    and wait for ``resume`` (at most HOLD seconds) before going on."""
    fired = []

    @event.listens_for(engine, "after_cursor_execute")
    def _pause(_conn, _cursor, statement, _params, _context, _many) -> None:
        if threading.current_thread().name != thread or fired or not matches(statement):
            return
        fired.append(statement)
        reached.set()
        resume.wait(HOLD)


def run(*threads: threading.Thread) -> None:
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
        assert not t.is_alive()


def assert_attributed(services, order_id: str) -> None:
    order = order_row(services, order_id)
    assert order.promoter_id == PROMOTER
    assert per_account(holdings(services, order_id)) == SPLIT_1606


def test_a_postback_while_its_click_batch_is_uncommitted(world) -> None:  # noqa: F811
    """The batch has written the click and looked for waiting orders (none yet); the postback
    arrives before the batch commits."""
    services, link_id, _group = world
    click = buffered_click(services, link_id)
    batch_read, postback_done = threading.Event(), threading.Event()
    pause_after(services.db.engine, "clicks",
                lambda s: s in (statements.SQLITE_AWAITED_CLICKS, statements.PG_AWAITED_CLICKS),
                batch_read, postback_done)
    outcomes = []

    def postback() -> None:
        assert batch_read.wait(10)
        outcomes.append(ingest(services, "R-1", click.id, "pending"))
        postback_done.set()

    run(threading.Thread(target=write, args=(services, click), name="clicks"),
        threading.Thread(target=postback, name="postback"))

    assert outcomes and outcomes[0].status in (200, 202)
    assert_attributed(services, "R-1")


def test_a_click_batch_while_its_postback_is_uncommitted(world) -> None:  # noqa: F811
    """The postback has looked the click up (not written yet); the batch writes it and looks
    for waiting orders before the postback commits."""
    services, link_id, _group = world
    click = buffered_click(services, link_id)
    postback_read, batch_done = threading.Event(), threading.Event()
    pause_after(services.db.engine, "postback", lambda s: "FROM clicks" in s,
                postback_read, batch_done)

    def clicks() -> None:
        assert postback_read.wait(10)
        write(services, click)
        batch_done.set()

    outcomes = []
    run(threading.Thread(target=lambda: outcomes.append(ingest(services, "R-2", click.id, "pending")),
                         name="postback"),
        threading.Thread(target=clicks, name="clicks"))

    assert outcomes and outcomes[0].status in (200, 202)
    assert_attributed(services, "R-2")
