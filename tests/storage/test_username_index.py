"""Finding a user by ``@name`` uses the ``lower(username)`` index (migration 0012) on both
backends, instead of scanning every member the bot has seen. The statements checked are the
ones the services run, captured as they execute."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import event

from bot.services.promoters import Person
from tests.support.clock import Clock
from tests.support.databases import make_database_url
from tests.support.world import make_services


@pytest.fixture(params=["sqlite", "postgres"])
def services(request: pytest.FixtureRequest, tmp_path: Path):
    svc = make_services(make_database_url(request.param, tmp_path), Clock())
    for uid in range(1, 40):
        svc.promoters.register(Person(id=uid, first_name=f"P{uid}", username=f"Name{uid}"))
    yield svc
    svc.db.dispose()


def lookups(services, find: Callable[[], object]) -> list[tuple[str, object]]:  # type: ignore[no-untyped-def]
    """The statements on ``users`` that filter by lower(username), run by ``find``."""
    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "lower(users.username)" in statement:
            seen.append((statement, parameters))

    event.listen(services.db.engine, "before_cursor_execute", record)
    try:
        find()
    finally:
        event.remove(services.db.engine, "before_cursor_execute", record)
    assert seen, "the lookup ran no statement on lower(username)"
    return seen


def plan(services, statement: str, parameters: object) -> str:  # type: ignore[no-untyped-def]
    with services.db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            return "\n".join(str(row[-1]) for row in rows)
        # A few dozen rows: the planner would scan anyway. Forbid scans to see whether an
        # index can answer the filter at all.
        conn.exec_driver_sql("SET enable_seqscan = off")
        return "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters))


@pytest.mark.parametrize("who", ["promoters.resolve", "operator.find_user"])
def test_username_lookups_use_the_index(services, who: str) -> None:
    service, method = who.split(".")
    find = getattr(getattr(services, service), method)
    for statement, parameters in lookups(services, lambda: find("@NAME7")):
        assert "ix_users_username_lower" in plan(services, statement, parameters)
    found = find("@name7")
    assert (found if isinstance(found, int) else found.id) == 7
