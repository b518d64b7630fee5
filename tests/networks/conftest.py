"""Fixtures of the network tests: a fake JD gateway on loopback and a small world on it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from bot.networks.jd import JdConnector
from bot.networks.sync import NetworkSync
from bot.services import Services
from bot.storage.models import LedgerEntry, Product, User
from tests.support.clock import Clock
from tests.support.fake_jd import FakeJd
from tests.support.world import PARTNER, add_group, add_post, clicks, make_services, register, tap

MENTOR, PROMOTER, BUYER, OTHER = 2, 3, 4, 5


@pytest.fixture
async def fake_jd(clock: Clock) -> AsyncIterator[FakeJd]:
    fake = FakeJd(now=clock)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


def jd_settings(fake: FakeJd, **overrides: object) -> dict[str, object]:
    return {"app_key": fake.app_key, "app_secret": fake.app_secret, "union_id": "1000001",
            "api_url": fake.url, "enabled": True, "poll_seconds": 60, **overrides}


@dataclass
class JdWorld:
    services: Services
    sync: NetworkSync
    fake: FakeJd
    link_code: str  # the buyer's link to a JD product, in the promoter's group
    click_id: str

    def ledger(self) -> dict[tuple[str, int | None, str], int]:
        totals: dict[tuple[str, int | None, str], int] = defaultdict(int)
        with self.services.db.transaction() as session:
            for entry in session.scalars(select(LedgerEntry)):
                totals[(entry.party, entry.user_id, entry.bucket)] += entry.amount
        return {k: v for k, v in totals.items() if v}


def make_sync(services: Services, fake: FakeJd, clock: Clock, **options: object) -> NetworkSync:
    connector = JdConnector(services.config.networks.jd, now=clock, timeout=2.0)
    options = {"backoff": 0.01, "page_pause": 0.0, **options}
    return NetworkSync(connector=connector, services=services, **options)  # type: ignore[arg-type]


@pytest.fixture
async def jd_world(db_url: str, clock: Clock, fake_jd: FakeJd) -> AsyncIterator[JdWorld]:
    """A partner → mentor → promoter chain, JD goods imported from the fake, and the buyer's
    link (with one click) to the first of them in the promoter's group."""
    services = make_services(db_url, clock, networks={"jd": jd_settings(fake_jd)})
    for sku in range(100001, 100004):
        fake_jd.add_goods(sku)
    sync = make_sync(services, fake_jd, clock)
    await sync.import_products()
    register(services, PARTNER, "Pat")
    register(services, MENTOR, "Mo", inviter=PARTNER)
    register(services, PROMOTER, "Pro", inviter=MENTOR)
    with services.db.transaction() as session:
        session.get_one(User, PARTNER).tier = "partner"
        session.get_one(User, MENTOR).tier = "mentor"
        product = session.scalars(select(Product.id).where(Product.sku == "100001")).one()
    group = add_group(services, -100, "Club", PROMOTER)
    code = tap(services, add_post(services, group, product), BUYER, "Bea")
    click_id = clicks(services, code)[0]
    try:
        yield JdWorld(services=services, sync=sync, fake=fake_jd, link_code=code, click_id=click_id)
    finally:
        await sync.connector.aclose()
        services.db.dispose()
