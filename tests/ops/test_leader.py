"""Exactly one scheduler: a PostgreSQL advisory lock, taken over when the leader dies."""

from __future__ import annotations

from sqlalchemy import create_engine

from bot.storage.db import normalize_url
from bot.storage.leader import Leader
from tests.support.databases import postgres_url


def test_one_leader_and_takeover_when_it_dies() -> None:
    url = normalize_url(postgres_url())
    engines = [create_engine(url) for _ in range(3)]
    leaders = [Leader(engine, key=4242) for engine in engines]
    try:
        assert [leader.is_leader() for leader in leaders] == [True, False, False]
        assert [leader.is_leader() for leader in leaders] == [True, False, False]
        # The leader's session dies (process killed, connection dropped): the server frees the lock.
        leaders[0]._conn.invalidate()
        assert leaders[1].is_leader() is True
        assert leaders[0].is_leader() is False
        assert leaders[2].is_leader() is False
        leaders[1].release()
        assert leaders[2].is_leader() is True
    finally:
        for leader, engine in zip(leaders, engines, strict=True):
            leader.release()
            engine.dispose()


def test_sqlite_process_always_leads(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    assert Leader(engine).is_leader() is True
    engine.dispose()
