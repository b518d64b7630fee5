"""``TrackingService.resolve_many``, the link cache's batch lookup, on real SQLite and
PostgreSQL: the same targets as one ``resolve`` per code, unknown codes left out."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.services import base
from bot.services.promoters import Person
from tests.support.clock import Clock
from tests.support.databases import make_database_url
from tests.support.world import make_services, upline_chain


@pytest.fixture(params=["sqlite", "postgres"])
def services(request: pytest.FixtureRequest, tmp_path: Path):
    svc = make_services(make_database_url(request.param, tmp_path), Clock())
    yield svc
    svc.db.dispose()


def test_a_batch_resolves_as_each_code_alone(services, monkeypatch) -> None:
    _group, first = upline_chain(services)
    other = services.tracking.direct_link(product_id=1, person=Person(id=77, first_name="O"),
                                          promoters=services.promoters).code
    monkeypatch.setattr(base, "IN_LIST", 2)  # three codes: two IN-lists
    targets = services.tracking.resolve_many([first, "nosuchcode", other])
    assert targets == {first: services.tracking.resolve(first), other: services.tracking.resolve(other)}
    assert targets[first] is not None and targets[other] is not None
    assert targets[first].link_id != targets[other].link_id
    assert services.tracking.resolve("nosuchcode") is None
