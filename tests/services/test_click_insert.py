"""The click batch writer's bulk insert (JSON array on SQLite, COPY on PostgreSQL) stores
exactly the rows SQLAlchemy's own INSERT stores, byte for byte, on real SQLite and PostgreSQL:
readers (reports, exports, the rollup triggers) see no difference."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy import Table, func, select, text

from bot.services.tracking import ClickRecord, click_row, insert_clicks
from bot.storage.models import Click, StatsDay
from tests.support.clock import Clock
from tests.support.databases import make_database_url
from tests.support.world import make_services, upline_chain

AWKWARD = ['quote " and \\ backslash', "tab\tnew\nline", "emoji 🎉 and 中文", "", "null \\N", "\x7f"]


@pytest.fixture(params=["sqlite", "postgres"])
def world(request: pytest.FixtureRequest, tmp_path: Path):
    services = make_services(make_database_url(request.param, tmp_path), Clock())
    _group, link = upline_chain(services)
    target = services.tracking.resolve(link)
    assert target is not None
    yield services, target.link_id
    services.db.dispose()


def records(link_id: int, prefix: str) -> list[ClickRecord]:
    east = timezone(timedelta(hours=8))
    times = [datetime(2026, 12, 3, 23, 59, 59, 999999, tzinfo=UTC),
             datetime(2026, 12, 4, 7, 30, tzinfo=east),  # 23:30 UTC the day before
             datetime(2026, 1, 1, tzinfo=UTC)]
    out = []
    for n, text_value in enumerate(AWKWARD * 2):
        out.append(ClickRecord(id=f"{prefix}{n}", link_id=link_id, at=times[n % 3], is_bot=n % 2 == 1,
                               ip_hash=None if n % 3 == 0 else f"h{n}",
                               user_agent=text_value, referrer=None if n % 4 else text_value))
    return out


def raw_rows(services, prefix: str) -> list[tuple]:
    with services.db.engine.connect() as conn:
        return [tuple(r)[1:] for r in conn.execute(text(
            "SELECT id, link_id, CAST(created_at AS TEXT), is_bot, ip_hash, user_agent, referrer"
            " FROM clicks WHERE id LIKE :p ORDER BY id"), {"p": prefix + "%"})]


def test_bulk_insert_stores_what_sqlalchemy_stores(world) -> None:
    services, link_id = world
    with services.db.transaction() as session:
        session.execute(cast(Table, Click.__table__).insert(),
                        [click_row(c) for c in records(link_id, "orm")])
    with services.db.transaction() as session:
        insert_clicks(session.connection(), records(link_id, "bulk"))
    assert raw_rows(services, "bulk") == raw_rows(services, "orm")
    with services.db.transaction() as session:
        back = session.scalars(select(Click).where(Click.id.like("bulk%")).order_by(Click.id)).all()
        expected = sorted(records(link_id, "bulk"))
        assert [(c.id, c.at.astimezone(UTC), c.is_bot, c.user_agent) for c in expected] == [
            (c.id, c.created_at, c.is_bot, c.user_agent) for c in back]
        # The rollup triggers counted both batches alike (COPY fires them as INSERT does).
        assert session.scalar(select(func.sum(StatsDay.n)).where(StatsDay.metric == "clicks")) == 12
        assert session.scalar(select(func.sum(StatsDay.n)).where(StatsDay.metric == "bot_hits")) == 12


def test_naive_datetime_is_refused_and_nothing_is_written(world) -> None:
    services, link_id = world
    bad = records(link_id, "naive")
    bad[3] = bad[3]._replace(at=datetime(2026, 12, 3, 12, 0))
    with pytest.raises(ValueError, match="naive"), services.db.transaction() as session:
        insert_clicks(session.connection(), bad)
    assert raw_rows(services, "naive") == []


def test_a_batch_written_again_keeps_one_row_per_click(world) -> None:
    """A writer whose answer was lost after its commit (a killed writer process, a dropped
    connection) sends the same batch again: it must go through, each click once, counted
    once, and the clicks after it must not queue behind a batch that can never be written."""
    services, link_id = world
    batch = records(link_id, "again")
    save = lambda clicks: services.tracking.save_clicks(  # noqa: E731
        clicks, orders=services.orders, promoters=services.promoters)
    save(batch)
    first = raw_rows(services, "again")
    save(batch)  # the retry
    save(batch[:3] + records(link_id, "after"))  # partly written before, partly new
    save(records(link_id, "plain"))  # the same rows through the usual path
    assert raw_rows(services, "again") == first
    assert raw_rows(services, "after") == raw_rows(services, "plain")  # stored alike
    with services.db.transaction() as session:
        assert session.scalar(select(func.sum(StatsDay.n)).where(StatsDay.metric == "clicks")) == 18
        assert session.scalar(select(func.sum(StatsDay.n)).where(StatsDay.metric == "bot_hits")) == 18


def test_the_same_batch_from_two_writers_at_once_is_written_once(world) -> None:
    """Two writers handed the same batch at the same moment (a retry racing the first try):
    both return, each click is stored and counted once, on SQLite and PostgreSQL."""
    services, link_id = world
    batch = records(link_id, "twice")
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def write() -> None:
        start.wait()
        try:
            services.tracking.save_clicks(batch, orders=services.orders, promoters=services.promoters)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    writers = [threading.Thread(target=write) for _ in range(2)]
    for t in writers:
        t.start()
    for t in writers:
        t.join(30)
    assert errors == []
    assert len(raw_rows(services, "twice")) == 12
    with services.db.transaction() as session:
        assert session.scalar(select(func.sum(StatsDay.n)).where(StatsDay.metric == "clicks")) == 6
        assert session.scalar(select(func.sum(StatsDay.n)).where(StatsDay.metric == "bot_hits")) == 6
