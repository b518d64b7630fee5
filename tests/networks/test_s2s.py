"""S2S GET postbacks on a running server, both backends: the token, the status map, replays,
the same rules as POST /postback, and concurrent deliveries booking an order once."""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from urllib.parse import urlencode

import httpx
from sqlalchemy import select

from bot.storage.models import LedgerEntry, Order
from tests.support.world import PROMOTER, clicks, upline_chain

TOKEN = "s2s-token-acme"
MERCHANTS = {"acme": {"postback_token": TOKEN,
                      "status_map": {"1": "pending", "2": "confirmed", "3": "cancelled", "4": "refunded"}},
             "plain": {"postback_token": "plain-token"}}


def ledger(kocbot) -> dict[tuple[str, int | None, str], int]:  # type: ignore[no-untyped-def]
    totals: dict[tuple[str, int | None, str], int] = defaultdict(int)
    with kocbot.db.transaction() as session:
        for entry in session.scalars(select(LedgerEntry)):
            totals[(entry.party, entry.user_id, entry.bucket)] += entry.amount
    return {k: v for k, v in totals.items() if v}


async def start(kocbot_factory):  # type: ignore[no-untyped-def]
    kocbot = await kocbot_factory(run_scheduler=False, config={"merchants": MERCHANTS})
    _, code = upline_chain(kocbot.services)
    click_id = clicks(kocbot.services, code)[0]
    return kocbot, click_id, f"{kocbot.config.web.public_url}/postback/acme"


async def test_token_status_map_and_replays(kocbot_factory) -> None:  # type: ignore[no-untyped-def]
    kocbot, click_id, url = await start(kocbot_factory)
    order = {"click_id": click_id, "order_id": "S2S-1", "amount": "128.50", "status": "1"}
    async with httpx.AsyncClient() as client:
        assert (await client.get(url, params=order)).status_code == 401  # no token
        assert (await client.get(url, params={**order, "token": "wrong"})).status_code == 401
        assert (await client.get(url, params={**order, "token": "plain-token"})).status_code == 401
        other = f"{kocbot.config.web.public_url}/postback/nobody"
        assert (await client.get(other, params={**order, "token": TOKEN})).status_code == 401
        unmapped = await client.get(url, params={**order, "status": "9", "token": TOKEN})
        assert unmapped.status_code == 400 and "status_map" in unmapped.json()["error"]
        bad = await client.get(url, params={**order, "amount": "ten", "token": TOKEN})
        assert bad.status_code == 400 and bad.json()["error"].startswith("amount")
        twice = await client.get(f"{url}?{urlencode(order)}&token={TOKEN}&token={TOKEN}")
        assert twice.status_code == 400
        assert ledger(kocbot) == {}  # nothing refused was booked

        first = await client.get(url, params={**order, "token": TOKEN})
        assert first.status_code == 200 and first.json()["reason"] == "pending"
        pending = ledger(kocbot)
        assert sum(pending.values()) == 1606 and pending[("promoter", PROMOTER, "pending")] > 0
        replay = await client.get(url, params={**order, "token": TOKEN})
        assert replay.status_code == 200 and "no change" in replay.json()["reason"]
        assert ledger(kocbot) == pending

        confirmed = await client.get(url, params={**order, "status": "2", "token": TOKEN})
        assert confirmed.status_code == 200
        assert ledger(kocbot) == {(p, u, "confirmed"): a for (p, u, _), a in pending.items()}
        late = await client.get(url, params={**order, "status": "1", "token": TOKEN})
        assert late.status_code == 200 and "late" in late.json()["reason"]
        illegal = await client.get(url, params={**order, "status": "3", "token": TOKEN})
        assert illegal.status_code == 409
        refunded = await client.get(url, params={**order, "status": "4", "token": TOKEN})
        assert refunded.status_code == 200
        assert sum(v for (_, _, b), v in ledger(kocbot).items() if b != "reversed") == 0

        # A merchant without a status_map takes kocbot's own status names.
        plain = f"{kocbot.config.web.public_url}/postback/plain"
        own = await client.get(plain, params={"click_id": "nobody", "order_id": "P-1", "amount": "5",
                                              "status": "confirmed", "token": "plain-token"})
        assert own.status_code == 202  # unknown click: stored unattributed, as POST /postback
    with kocbot.db.transaction() as session:
        assert session.scalars(select(Order.merchant).where(Order.order_id == "P-1")).one() == "plain"
    with kocbot.db.transaction() as session:
        assert session.scalars(select(Order.status).where(Order.order_id == "S2S-1")).one() == "refunded"


async def test_concurrent_deliveries_book_once(kocbot_factory) -> None:
    """Networks retry: the same callbacks arrive many times at once; the ledger is the one
    that the reports applied one by one would give."""
    kocbot, click_id, url = await start(kocbot_factory)
    order = {"click_id": click_id, "order_id": "S2S-RACE", "amount": "128.50", "token": TOKEN}
    statuses: list[int] = []
    barrier = threading.Barrier(8)

    def deliver(status: str) -> None:
        with httpx.Client() as client:
            barrier.wait()
            statuses.append(client.get(url, params={**order, "status": status}).status_code)

    # httpx.Client in threads: real concurrent requests while the server's loop runs.
    def wave(status: str) -> None:
        threads = [threading.Thread(target=deliver, args=(status,)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    await asyncio.to_thread(wave, "1")
    after_pending = ledger(kocbot)
    await asyncio.to_thread(wave, "2")
    assert set(statuses) == {200}
    assert sum(after_pending.values()) == 1606
    assert ledger(kocbot) == {(p, u, "confirmed"): a for (p, u, _), a in after_pending.items()}
    with kocbot.db.transaction() as session:
        assert len(session.scalars(select(Order).where(Order.order_id == "S2S-RACE")).all()) == 1
