"""The click path's link cache: one database lookup per code however many clicks arrive
together, a shared lookup that survives a departing client, and failures not cached."""

from __future__ import annotations

import asyncio
import threading

import pytest

from bot.services.tracking import ClickTarget
from bot.web.link_cache import LinkCache

TARGET = ClickTarget(link_id=7, product_url="https://shop.example/p/1", subid_param="subid",
                     url_template="", title="Kettle", active=True, ends_at=None, stock=None)


class SlowResolve:
    """A resolve that blocks until released, counting its calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.release = threading.Event()
        self.fail = False

    def __call__(self, codes: list[str]) -> dict[str, ClickTarget]:
        """The cache's ``resolve_many``: one call for the codes, each counted."""
        self.calls.extend(codes)
        self.release.wait(timeout=5)
        if self.fail:
            raise RuntimeError("database restarting")
        return {code: TARGET for code in codes if code == "known"}


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


class ManyResolve:
    """A resolve_many that blocks until released, recording each call's codes."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.release = threading.Event()
        self.release.set()
        self.fail = False

    def __call__(self, codes: list[str]) -> dict[str, ClickTarget]:
        self.calls.append(list(codes))
        self.release.wait(timeout=5)
        if self.fail:
            raise RuntimeError("database restarting")
        return {c: TARGET for c in codes if c.startswith("known")}


async def test_misses_of_one_loop_turn_share_one_lookup() -> None:
    """A cold cache (a restart at peak) costs one query for the codes clicked together."""
    many = ManyResolve()
    cache = LinkCache(many)
    codes = [f"known{i}" for i in range(10)] + ["gone"]
    clicks = [asyncio.create_task(cache.get(c)) for c in codes * 5]
    assert await asyncio.gather(*clicks) == ([TARGET] * 10 + [None]) * 5
    assert many.calls == [codes]
    assert [cache.peek(c) for c in codes] == [TARGET] * 10 + [None]  # both kinds cached
    assert many.calls == [codes]


async def test_misses_during_a_lookup_wait_for_the_next_one() -> None:
    many = ManyResolve()
    many.release.clear()
    cache = LinkCache(many)
    first = asyncio.create_task(cache.get("known1"))
    for _ in range(500):
        if many.calls:
            break
        await asyncio.sleep(0.01)
    second = [asyncio.create_task(cache.get(c)) for c in ("known2", "known1", "known3")]
    await asyncio.sleep(0.05)
    many.release.set()
    assert await first is TARGET
    assert await asyncio.gather(*second) == [TARGET] * 3
    assert many.calls == [["known1"], ["known2", "known3"]]  # known1 joined the lookup under way


async def test_a_failed_batch_reaches_every_waiter_and_is_not_cached() -> None:
    many = ManyResolve()
    many.fail = True
    cache = LinkCache(many)
    clicks = [asyncio.create_task(cache.get(c)) for c in ("known1", "known2", "known1")]
    outcomes = await asyncio.gather(*clicks, return_exceptions=True)
    assert [type(o) for o in outcomes] == [RuntimeError] * 3
    many.fail = False
    assert await cache.get("known1") is TARGET
    assert many.calls == [["known1", "known2"], ["known1"]]


async def test_busy_links_are_renewed_together_before_they_expire() -> None:
    many = ManyResolve()
    cache = LinkCache(many, ttl=0.4)
    codes = [f"known{i}" for i in range(20)]
    assert await asyncio.gather(*(cache.get(c) for c in codes)) == [TARGET] * 20
    await asyncio.sleep(0.25)  # past half the ttl: clicks are answered from the cache ...
    assert [cache.peek(c) for c in codes] == [TARGET] * 20
    await asyncio.sleep(0.1)  # ... and renewed behind them, in one lookup
    assert many.calls == [codes, sorted(codes)]
    await asyncio.sleep(0.1)  # the first lookups are older than the ttl, the renewal is not
    assert [cache.peek(c) for c in codes] == [TARGET] * 20
    assert many.calls == [codes, sorted(codes)]


async def test_a_failed_renewal_keeps_serving_until_the_ttl_and_tries_again() -> None:
    many = ManyResolve()
    cache = LinkCache(many, ttl=0.4)
    assert await cache.get("known1") is TARGET
    await asyncio.sleep(0.25)
    many.fail = True
    assert cache.peek("known1") is TARGET
    await asyncio.sleep(0.1)  # the renewal failed ...
    assert len(many.calls) == 2
    many.fail = False
    assert cache.peek("known1") is TARGET  # ... the entry is still served, and renewed again
    await asyncio.sleep(0.1)
    assert many.calls == [["known1"]] * 3
    await asyncio.sleep(0.1)
    assert cache.peek("known1") is TARGET
