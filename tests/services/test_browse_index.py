"""The mini app's search index (``BrowseService``) on real SQLite and PostgreSQL: the first
search builds it, and a later catalog change is rebuilt in the background, so no member's
search waits seconds behind an import or a ``/feature``."""

from __future__ import annotations

import time

from bot.domain.search import Filters
from tests.support.world import FEED


def skus(services) -> list[str]:
    found, _ = services.browse.search(Filters.of())
    return [listing.sku for listing in found]


def wait_for_new_index(services, old) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 10
    while services.browse.index() is old:
        assert time.monotonic() < deadline, "the index was never rebuilt after the change"
        time.sleep(0.01)


def test_the_first_search_builds_the_index(services) -> None:
    assert sorted(skus(services)) == ["SKU1", "SKU2", "SKU3"]


def test_a_change_here_is_rebuilt_behind_the_old_index(services) -> None:
    old = services.browse.index()
    last = skus(services)[-1]
    services.catalog.set_featured(last, True)
    # The next search answers at once from the index it has ...
    assert services.browse.index() is old
    # ... while the rebuilt one, where the featured deal leads, takes its place.
    wait_for_new_index(services, old)
    assert skus(services)[0] == last


def test_an_import_here_is_searchable_once_rebuilt(services) -> None:
    old = services.browse.index()
    services.catalog.import_feed(FEED.replace(b"Tea set", b"Tea set deluxe"), filename="feed.csv")
    assert services.browse.index() is old
    wait_for_new_index(services, old)
    found, _ = services.browse.search(Filters.of("deluxe"))
    assert [listing.sku for listing in found] == ["SKU3"]
