"""``[web] click_writer = "process"``: the web process hands its click batches to a child
process, on real SQLite and PostgreSQL. Every click is written once; an order reported before
its click was written is attributed by the child at the web process's clock; a killed child is
started again with nothing lost or doubled; a batch the database refuses comes back as a
one-line reason and stays in the buffer; the child ends with the web process."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.domain.postback import OrderReport
from bot.services.tracking import ClickRecord
from bot.storage.models import Click, Order
from bot.web.click_writer import ClickWriterError, ClickWriterProcess
from tests.abuse.test_forgery import MEMBER, OWNER, setup_card
from tests.support.flow import click, subid, tap_buy

PROCESS = {"web": {"click_writer": "process"}}


def clicks_written(kocbot) -> int:  # type: ignore[no-untyped-def]
    with kocbot.db.transaction() as session:
        return session.scalar(select(func.count()).select_from(Click))


async def gone(pid: int) -> bool:
    """Whether process ``pid`` ends within 10 s (exited: reaped, or a zombie not yet reaped)."""
    for _ in range(200):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return True
        if stat[stat.rindex(")") + 2] in "ZX":
            return True
        await asyncio.sleep(0.05)
    return False


async def test_the_child_writes_every_click_and_attributes_a_waiting_order(
        emulator, kocbot_factory, clock) -> None:
    kocbot = await kocbot_factory(config=PROCESS)
    child = kocbot.click_writer.pid
    assert child is not None and child != os.getpid()  # started with the web server
    _chat, card = await setup_card(emulator, kocbot)
    url = await tap_buy(emulator, member=MEMBER, card=card)
    kocbot.clicks.interval = 3600  # the clicks below stay buffered until the flush
    await kocbot.clicks.flush()
    await asyncio.sleep(0.3)  # the timer's current wait (0.25 s) ends
    before = clicks_written(kocbot)
    locations = [(await click(url))[1] for _ in range(20)]
    assert len(kocbot.clicks) == 20
    # Another web process took this order's postback before our buffer was written.
    report = OrderReport(order_id="W-1", click_id=subid(locations[-1]), amount=3900,
                         status="pending", commission=None, currency="CNY", ts=None)
    outcome = await asyncio.to_thread(kocbot.services.orders.ingest, report, source="postback",
                                      promoters=kocbot.services.promoters)
    assert outcome.status == 202
    clock.advance(minutes=3)

    await kocbot.clicks.flush()

    assert clicks_written(kocbot) == before + 20
    assert len({subid(loc) for loc in locations}) == 20
    with kocbot.db.transaction() as session:
        order = session.scalars(select(Order).where(Order.order_id == "W-1")).one()
        assert order.promoter_id == OWNER
        # The web process's clock, which the child was handed with the batch (its own reads now).
        assert order.updated_at.replace(tzinfo=None) == clock().replace(tzinfo=None)
    assert kocbot.click_writer.pid == child


async def test_a_killed_child_is_started_again_and_nothing_is_lost_or_doubled(
        emulator, kocbot_factory) -> None:
    kocbot = await kocbot_factory(config=PROCESS)
    _chat, card = await setup_card(emulator, kocbot)
    url = await tap_buy(emulator, member=MEMBER, card=card)
    for _ in range(5):
        await click(url)
    await kocbot.clicks.flush()
    written = clicks_written(kocbot)
    first = kocbot.click_writer.pid
    os.kill(first, signal.SIGKILL)
    assert await gone(first)
    for _ in range(7):
        await click(url)

    await kocbot.clicks.flush()  # the dead child's socket fails the batch; it is kept
    await kocbot.clicks.flush()  # a new child writes it

    assert len(kocbot.clicks) == 0
    assert clicks_written(kocbot) == written + 7
    assert kocbot.click_writer.pid not in (None, first)


async def test_a_refused_batch_is_a_one_line_reason_and_the_child_goes_on(db_url, clock) -> None:
    from tests.support.config import make_config

    class Emu:
        token, base_url = "1:T", ""

    config = make_config(emulator=Emu, db_url=db_url, port=8080)
    writer = ClickWriterProcess(config, clock)
    try:
        bad = [ClickRecord("x1", 999_999, clock(), False, None, "ua", None)]  # no such link
        with pytest.raises(ClickWriterError) as refused:
            await writer.write(bad)
        text = str(refused.value)
        assert "foreign key" in text.lower() and "\n" not in text, text
        child = writer.pid
        await writer.write([])  # still there, and answering
        assert writer.pid == child
    finally:
        await writer.close()
    assert writer.pid is None and await gone(child)


async def test_the_child_ends_with_the_web_process_not_with_a_signal_to_the_group(
        emulator, kocbot_factory) -> None:
    kocbot = await kocbot_factory(config=PROCESS)
    _chat, card = await setup_card(emulator, kocbot)
    url = await tap_buy(emulator, member=MEMBER, card=card)
    before = clicks_written(kocbot)
    child = kocbot.click_writer.pid
    os.kill(child, signal.SIGTERM)  # as systemd signals every process of the service
    os.kill(child, signal.SIGINT)  # as Ctrl-C in a terminal does
    for _ in range(3):
        await click(url)
    await asyncio.sleep(0.3)
    await kocbot.clicks.flush()
    assert kocbot.click_writer.pid == child  # still the same child, still writing
    await click(url)
    await kocbot.stop()  # the shutdown flush goes through it too
    assert clicks_written(kocbot) == before + 4
    assert await gone(child)


async def test_auto_is_a_process_for_a_web_process_and_a_thread_for_all_roles(kocbot_factory) -> None:
    web = await kocbot_factory(role="web")
    assert web.click_writer is not None and web.click_writer.pid is not None
    everything = await kocbot_factory()
    assert everything.click_writer is None
    threaded = await kocbot_factory(role="web", config={"web": {"click_writer": "thread"}})
    assert threaded.click_writer is None
