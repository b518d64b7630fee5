"""Networks retry postbacks, and retries arrive together (issue 11). Through the real web
server: 12 orders, each reported pending, then 4 simultaneous copies of its confirmation,
with a refund racing them on every other order; /commission (through the emulator) is then
exact. Also: a postback right after its click is attributed at once, a report for an
existing order with another click is 409, and a value with '&' is 400."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import create_engine, func, make_url, select, text

from bot.domain.money import format_money
from bot.storage.models import LedgerEntry, Order
from tests.support.flow import click, command_reply, post_card, postback, subid, tap_buy
from tests.support.world import FEED

PROMOTER, MEMBER = 301, 302
COPIES = 4


def split(amount_fen: int) -> tuple[int, int]:
    """(platform, promoter) of an order of SKU2 (8%), from PRODUCT.md's rules."""
    pool = int((Decimal(amount_fen) * Decimal("0.08")).to_integral_value(rounding=ROUND_HALF_EVEN))
    platform = int((Decimal(pool) * Decimal("0.10")).to_integral_value(rounding=ROUND_HALF_EVEN))
    return platform, pool - platform


async def a_click(emu, kocbot) -> str:  # type: ignore[no-untyped-def]
    """The promoter's group, a card of SKU2, and the member's tracked link: one click's URL."""
    kocbot.services.catalog.import_feed(FEED, filename="feed.csv")
    emu.add_user(PROMOTER, "Promo")
    emu.add_user(MEMBER, "Mei")
    await command_reply(emu, user=PROMOTER, chat_id=PROMOTER, text="/start")
    chat = emu.create_group("Retries", admins=[PROMOTER], members=[MEMBER])
    emu.add_bot_to_group(chat, PROMOTER)
    await emu.wait_for(lambda: emu.sent(chat_id=chat), timeout=10)
    card = await post_card(emu, kocbot, admin=PROMOTER, chat_id=chat, sku="SKU2")
    return await tap_buy(emu, member=MEMBER, card=card)


async def test_simultaneous_copies_and_refunds_then_commission_is_exact(
        emulator, kocbot_factory) -> None:
    emu = emulator
    kocbot = await kocbot_factory(run_scheduler=False)
    url = await a_click(emu, kocbot)
    status, location = await click(url, **{"user-agent": "Mozilla/5.0"})
    assert status == 302
    # No explicit flush: the postback itself must find the click in this process's buffer.
    click_id = subid(location)
    amounts = [f"{50 + 7 * n}.{n:02d}" for n in range(12)]

    def fields(n: int, state: str) -> dict[str, str]:
        return {"click_id": click_id, "order_id": f"RT-{n}", "amount": amounts[n], "status": state}

    first = await postback(kocbot, fields(0, "pending"))
    assert first.status_code == 200, first.text  # attributed at once, not 202
    for n in range(1, 12):
        assert (await postback(kocbot, fields(n, "pending"))).status_code == 200

    sends = [postback(kocbot, fields(n, "confirmed")) for n in range(12) for _ in range(COPIES)]
    sends += [postback(kocbot, fields(n, "refunded")) for n in range(0, 12, 2)]
    answers = await asyncio.gather(*sends)
    assert {a.status_code for a in answers} == {200}, [a.text for a in answers if a.status_code != 200]

    fen = [int(Decimal(a) * 100) for a in amounts]
    confirmed = sum(split(fen[n])[1] for n in range(1, 12, 2))
    reversed_ = sum(split(fen[n])[1] for n in range(0, 12, 2))
    text = (await command_reply(emu, user=PROMOTER, chat_id=PROMOTER, text="/commission"))["text"]
    assert f"Pending: {format_money(0, 'CNY')}" in text
    assert f"Confirmed: {format_money(confirmed, 'CNY')} (payable ¥0.00)" in text
    assert f"Reversed: {format_money(reversed_, 'CNY')}" in text
    with kocbot.db.transaction() as session:
        assert session.scalar(select(func.count(Order.id))) == 12
        platform = session.scalar(select(func.sum(LedgerEntry.amount))
                                  .where(LedgerEntry.party == "platform",
                                         LedgerEntry.bucket.in_(("confirmed", "reversed"))))
    assert platform == sum(split(f)[0] for f in fen)


async def test_click_mismatch_is_409_and_ambiguous_values_are_400(
        emulator, kocbot_factory) -> None:
    emu = emulator
    kocbot = await kocbot_factory(run_scheduler=False)
    url = await a_click(emu, kocbot)
    ids = [subid((await click(url, **{"user-agent": "Mozilla/5.0"}))[1]) for _ in range(2)]
    ok = await postback(kocbot, {"click_id": ids[0], "order_id": "MM-1", "amount": "99.00",
                             "status": "pending"})
    assert ok.status_code == 200, ok.text
    other = await postback(kocbot, {"click_id": ids[1], "order_id": "MM-1", "amount": "5.00",
                                "status": "confirmed"})
    assert other.status_code == 409 and "click_id" in other.json()["reason"]
    with kocbot.db.transaction() as session:
        order = session.scalars(select(Order).where(Order.order_id == "MM-1")).one()
        assert (order.click_id, order.amount, order.status) == (ids[0], 99_00, "pending")
    for bad in ("MM-2&status=confirmed", "MM-2=x", "MM\x01-2"):
        answer = await postback(kocbot, {"click_id": ids[0], "order_id": bad, "amount": "9.00",
                                     "status": "pending"})
        assert answer.status_code == 400 and "'&', '=' or a control character" in answer.json()["error"]


def hold_clicks_table(db_url: str, seconds: float, held: threading.Event) -> None:
    """From another connection, keep the clicks table from being written for ``seconds``:
    a slow disk or a busy database, as a real lock."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(url.database, timeout=30, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(seconds)
        conn.execute("COMMIT")
        conn.close()
        return
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("LOCK TABLE clicks IN EXCLUSIVE MODE"))  # reads go on, writes wait
        held.set()
        time.sleep(seconds)
    engine.dispose()


async def test_a_postback_while_its_click_is_being_written_is_attributed_at_once(
        emulator, kocbot_factory, db_url) -> None:
    """The buffer's timer may have taken the click out of the buffer and be writing it when
    the postback arrives: the buffer then looks empty, but the click is not in the database
    yet. The postback must wait for that write, not answer 202."""
    emu = emulator
    kocbot = await kocbot_factory(run_scheduler=False)
    url = await a_click(emu, kocbot)
    for n in range(2):
        click_id = subid((await click(url, **{"user-agent": "Mozilla/5.0"}))[1])
        held = threading.Event()
        holder = threading.Thread(target=hold_clicks_table, args=(db_url, 1.0, held))
        holder.start()
        assert await asyncio.to_thread(held.wait, 10)
        writing = asyncio.create_task(kocbot.clicks.flush())  # what the timer does
        await asyncio.sleep(0)  # the flush has taken the batch and is writing it
        assert len(kocbot.clicks) == 0
        answer = await postback(kocbot, {"click_id": click_id, "order_id": f"FL-{n}",
                                     "amount": "20.00", "status": "confirmed"})
        await writing
        await asyncio.to_thread(holder.join)
        assert answer.status_code == 200, answer.text
