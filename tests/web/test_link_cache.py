"""The click path's link cache: one database lookup per code however many clicks arrive
together, a shared lookup that survives a departing client, and failures not cached."""

from __future__ import annotations

import asyncio
import threading

import pytest

from bot.services.tracking import ClickTarget
from bot.web.clicks import LinkCache

TARGET = ClickTarget(link_id=7, product_url="https://shop.example/p/1", subid_param="subid",
                     url_template="", title="Kettle", active=True, ends_at=None, stock=None)


class SlowResolve:
    """A resolve that blocks until released, counting its calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.release = threading.Event()
        self.fail = False

    def __call__(self, code: str) -> ClickTarget | None:
        self.calls.append(code)
        self.release.wait(timeout=5)
        if self.fail:
            raise RuntimeError("database restarting")
        return TARGET if code == "known" else None


async def until_called(resolve: SlowResolve, n: int) -> None:
    for _ in range(500):
        if len(resolve.calls) >= n:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"resolve called {len(resolve.calls)} times, expected {n}")


async def test_clicks_arriving_together_share_one_lookup() -> None:
    resolve = SlowResolve()
    cache = LinkCache(resolve)
    clicks = [asyncio.create_task(cache.get("known")) for _ in range(50)]
    unknown = asyncio.create_task(cache.get("unknown"))
    await until_called(resolve, 2)
    resolve.release.set()
    assert await asyncio.gather(*clicks) == [TARGET] * 50
    assert await unknown is None
    assert await cache.get("known") is TARGET  # from the cache now
    assert sorted(resolve.calls) == ["known", "unknown"]


async def test_a_client_leaving_does_not_cancel_the_others_lookup() -> None:
    resolve = SlowResolve()
    cache = LinkCache(resolve)
    leaving = asyncio.create_task(cache.get("known"))
    staying = asyncio.create_task(cache.get("known"))
    await until_called(resolve, 1)
    leaving.cancel()
    resolve.release.set()
    assert await staying is TARGET
    with pytest.raises(asyncio.CancelledError):
        await leaving
    assert resolve.calls == ["known"]


async def test_a_failed_lookup_reaches_every_waiter_and_is_not_cached() -> None:
    resolve = SlowResolve()
    resolve.fail = True
    cache = LinkCache(resolve)
    clicks = [asyncio.create_task(cache.get("known")) for _ in range(3)]
    await until_called(resolve, 1)
    resolve.release.set()
    outcomes = await asyncio.gather(*clicks, return_exceptions=True)
    assert [type(o) for o in outcomes] == [RuntimeError] * 3
    resolve.fail = False
    assert await cache.get("known") is TARGET
    assert resolve.calls == ["known", "known"]


async def test_an_entry_is_looked_up_again_after_its_ttl() -> None:
    resolve = SlowResolve()
    resolve.release.set()
    cache = LinkCache(resolve, ttl=0.05)
    assert await cache.get("known") is TARGET
    assert await cache.get("known") is TARGET
    await asyncio.sleep(0.1)
    assert await cache.get("known") is TARGET
    assert resolve.calls == ["known", "known"]


async def test_a_busy_link_is_refreshed_before_it_expires() -> None:
    resolve = SlowResolve()
    resolve.release.set()
    cache = LinkCache(resolve, ttl=0.3)
    assert await cache.get("known") is TARGET
    await asyncio.sleep(0.2)  # past half its ttl: a click is answered from the cache ...
    assert await cache.get("known") is TARGET
    await asyncio.sleep(0.05)
    assert resolve.calls == ["known", "known"]  # ... and the lookup is renewed behind it
    await asyncio.sleep(0.1)  # the first lookup is now older than the ttl, the renewal is not
    assert await cache.get("known") is TARGET
    assert resolve.calls == ["known", "known"]  # no click waited on a miss
