"""Buy taps in bursts (``TrackingService.tap_posts``) on real SQLite and PostgreSQL: the same
links, users and taps as one tap at a time, and no duplicate link when processes race."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from bot.services.base import ServiceError
from bot.services.promoters import Person
from bot.services.tracking import IssuedLink
from bot.storage.models import Link, Post, Tap, User
from tests.support.world import add_group, add_post, product_ids, register, tap

OWNER, OTHER_OWNER = 1, 2


@pytest.fixture
def services(services):  # type: ignore[no-untyped-def]
    register(services, OWNER, "Owner")
    register(services, OTHER_OWNER, "Other")
    return services


def counts(services) -> tuple[int, int]:
    with services.db.transaction() as session:
        return (session.scalar(select(func.count()).select_from(Link)),
                session.scalar(select(func.count()).select_from(Tap)))


def test_a_burst_gives_each_tap_its_outcome_in_order(services) -> None:
    skus = product_ids(services)
    first = add_post(services, add_group(services, -10, "A", OWNER), skus["SKU1"])
    second = add_post(services, add_group(services, -20, "B", OTHER_OWNER), skus["SKU2"])
    queued = add_post(services, add_group(services, -30, "C", OWNER), skus["SKU3"])
    with services.db.transaction() as session:
        session.scalars(select(Post).where(Post.code == queued)).one().status = "queued"
    earlier = tap(services, first, 500, "Early")  # an existing link is handed out again

    outcomes = services.tracking.tap_posts([
        (first, Person(id=500, first_name="Early")),
        (first, Person(id=501, first_name="Ann", username="ann")),
        ("no-such-post-code", Person(id=502, first_name="Bob")),
        (second, Person(id=501, first_name="Ann")),
        (queued, Person(id=503, first_name="Cy")),
        (first, Person(id=501, first_name="Ann", username="ann")),  # a second tap, same link
    ], promoters=services.promoters)

    assert [type(o) for o in outcomes] == [IssuedLink, IssuedLink, ServiceError, IssuedLink,
                                           ServiceError, IssuedLink]
    assert outcomes[0].code == earlier
    assert outcomes[1] == outcomes[5] and outcomes[1] != outcomes[3]
    assert str(outcomes[2]) == "this deal is no longer available"
    assert counts(services) == (3, 5)  # links: early, ann×first, ann×second; 4 taps now + 1 before
    with services.db.transaction() as session:
        by_code = {link.code: link for link in session.scalars(select(Link))}
        assert by_code[outcomes[1].code].promoter_id == OWNER
        assert by_code[outcomes[3].code].promoter_id == OTHER_OWNER
        assert by_code[outcomes[3].code].product_id == skus["SKU2"]
        assert session.get(User, 502) is None  # a refused tap leaves no trace
        ann = session.get_one(User, 501)
        assert (ann.first_name, ann.username, ann.registered_at) == ("Ann", "ann", None)  # newest facts


def test_a_burst_refreshes_what_telegram_says_about_a_member(services) -> None:
    post = add_post(services, add_group(services, -10, "A", OWNER), product_ids(services)["SKU1"])
    services.tracking.tap_posts([(post, Person(id=700, first_name="Old", language_code="en"))],
                                promoters=services.promoters)
    services.tracking.tap_posts([(post, Person(id=700, first_name="", username="new"))],
                                promoters=services.promoters)
    with services.db.transaction() as session:
        user = session.get_one(User, 700)
        assert (user.first_name, user.username, user.language_code) == ("Old", "new", "en")


def test_a_tap_on_an_unknown_post_raises_the_reason(services) -> None:
    with pytest.raises(ServiceError, match="no longer available"):
        services.tracking.tap_post(post_code="nope-nope-nope", person=Person(id=9),
                                   promoters=services.promoters)
    assert counts(services) == (0, 0)


def test_racing_bursts_share_one_link_per_member_and_post(services) -> None:
    """Four workers tap the same cards for the same members at once: inserts collide, the
    losing batch is retried tap by tap, and every tap is recorded against the one link."""
    group = add_group(services, -10, "A", OWNER)
    posts = [add_post(services, group, pid) for pid in product_ids(services).values()]
    burst = [(post, Person(id=1000 + m, first_name=f"M{m}")) for post in posts for m in range(40)]
    results: list[list[IssuedLink | ServiceError]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def worker() -> None:
        try:
            start.wait()
            results.append(services.tracking.tap_posts(burst, promoters=services.promoters))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert all(isinstance(o, IssuedLink) for outcome in results for o in outcome)
    assert all(outcome == results[0] for outcome in results)  # everyone got the same links
    assert counts(services) == (len(burst), 4 * len(burst))
