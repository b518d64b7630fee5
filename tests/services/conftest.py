"""The services tests' common start: the services on a migrated database of each backend,
with the test feed imported. A module that needs more (owners, a clock of its own) overrides
``services``, asking for this one by the same name."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.clock import Clock
from tests.support.databases import make_database_url
from tests.support.world import FEED, make_services


@pytest.fixture(params=["sqlite", "postgres"])
def services(request: pytest.FixtureRequest, tmp_path: Path):
    svc = make_services(make_database_url(request.param, tmp_path), Clock())
    svc.catalog.import_feed(FEED, filename="feed.csv")
    yield svc
    svc.db.dispose()
