"""The money path end to end through the Bot API emulator: a partner → mentor → promoter
chain built with /invite links, tiers recomputed from data, orders in two groups, settling,
a payout and a refund after it. Every figure in /commission and /report is asserted."""

from __future__ import annotations

from sqlalchemy import select

from bot.storage.models import LedgerEntry, Order
from tests.support.config import ADMIN_ID
from tests.support.flow import click, command_reply, post_card, postback, subid, tap_buy
from tests.support.world import FEED

PAT, MO, RO, M1, M2 = 11, 12, 13, 21, 22
LOW_TIERS = {"tiers": {"mentor_min_active_invitees": 1, "partner_min_mentors": 1}}


async def buy(emu, kocbot, *, member: int, chat: int, sku: str, order_id: str, amount: str,
              status: str = "confirmed") -> str:  # type: ignore[no-untyped-def]
    """Post a card, tap Buy, open the link, report the order; returns the click id."""
    card = await post_card(emu, kocbot, admin=RO, chat_id=chat, sku=sku)
    url = await tap_buy(emu, member=member, card=card)
    status_code, location = await click(url, **{"user-agent": "Mozilla/5.0"})
    assert status_code == 302
    click_id = subid(location)
    await kocbot.clicks.flush()
    response = await postback(kocbot, {"click_id": click_id, "order_id": order_id, "amount": amount,
                                   "status": status})
    assert response.status_code == 200, response.text
    return click_id


async def invite_link(emu, user: int) -> str:
    text = (await command_reply(emu, user=user, chat_id=user, text="/invite"))["text"]
    return next(word for word in text.split() if "start=r_" in word)


async def test_partner_mentor_promoter_chain(emulator, kocbot_factory, clock) -> None:
    emu = emulator
    kocbot = await kocbot_factory(config=LOW_TIERS, run_scheduler=False)
    kocbot.services.catalog.import_feed(FEED, filename="feed.csv")
    emu.add_user(PAT, "Pat", language_code="zh-hans")
    for uid, name in ((MO, "Mo"), (RO, "Ro"), (M1, "Mei"), (M2, "Max"), (ADMIN_ID, "Admin")):
        emu.add_user(uid, name)

    # The chain, built the way users build it: /invite links opened by the next person.
    await command_reply(emu, user=PAT, chat_id=PAT, text="/start")
    for inviter, invitee in ((PAT, MO), (MO, RO)):
        before = len(emu.sent(chat_id=invitee))
        emu.open_start_link(invitee, await invite_link(emu, inviter))
        await emu.wait_for(lambda i=invitee, b=before: len(emu.sent(chat_id=i)) > b, timeout=10)
    assert kocbot.services.promoters.get(RO).upline_id == MO
    assert kocbot.services.promoters.get(MO).upline_id == PAT
    # An invite back up the chain cannot make a cycle, and a second /start keeps the upline.
    emu.open_start_link(PAT, await invite_link(emu, RO))
    await emu.wait_for(lambda: len(emu.sent(chat_id=PAT)) >= 3, timeout=10)
    assert kocbot.services.promoters.get(PAT).upline_id is None

    alpha = emu.create_group("Alpha", admins=[RO], members=[M1])
    beta = emu.create_group("Beta", admins=[RO], members=[M2])
    for chat in (alpha, beta):
        emu.add_bot_to_group(chat, RO)
        await emu.wait_for(lambda c=chat: emu.sent(chat_id=c), timeout=10)

    # O1 (Alpha, ¥39.00 at 10%): pool 390 before any tier exists: platform 39, Ro 351.
    await buy(emu, kocbot, member=M1, chat=alpha, sku="SKU1", order_id="O1", amount="39.00")
    # Tiers from data, at the event that earns them (issue 11): Ro is active, so Mo becomes
    # mentor, so Pat becomes partner, before any sweep or /team runs.
    assert (kocbot.services.promoters.get(MO).tier, kocbot.services.promoters.get(PAT).tier) == (
        "mentor", "partner")
    team = await command_reply(emu, user=MO, chat_id=MO, text="/team")
    assert (kocbot.services.promoters.get(MO).tier, kocbot.services.promoters.get(PAT).tier) == (
        "mentor", "partner")
    assert "Tier: mentor" in team["text"] and "Direct invitees: 1 (active 1, mentors 0)" in team["text"]
    assert "1 more invitee who is a mentor" in team["text"]
    team = await command_reply(emu, user=PAT, chat_id=PAT, text="/team")
    assert "等级：合伙人" in team["text"] and "已是最高等级" in team["text"]

    # O2 (Beta, ¥128.50 at 12.5%): pool 1606: platform 161, Mo 80, Pat 48, Ro 1317.
    await buy(emu, kocbot, member=M2, chat=beta, sku="SKU3", order_id="O2", amount="128.50")
    clock.advance(minutes=2)  # posts to one group are at least a minute apart
    # O3 (Alpha, ¥99.00 at 8%), still pending: pool 792: platform 79, Mo 39, Pat 23, Ro 651.
    await buy(emu, kocbot, member=M1, chat=alpha, sku="SKU2", order_id="O3", amount="99.00",
              status="pending")

    clock.advance(days=16)
    assert kocbot.services.orders.settle() == 2
    refusals = {"/payout 13 5.00": "minimum payout is ¥10.00",
                "/payout 13 16.69": "settled balance is ¥16.68",
                "/payout 13": "Usage: /payout <user_id|@username> <amount>"}
    for command, reason in refusals.items():
        answer = await command_reply(emu, user=ADMIN_ID, chat_id=ADMIN_ID, text=command)
        assert reason in answer["text"], answer["text"]
    denied = await command_reply(emu, user=RO, chat_id=RO, text="/payout 13 16.68")
    assert "Only platform admins" in denied["text"]
    paid = await command_reply(emu, user=ADMIN_ID, chat_id=ADMIN_ID, text="/payout 13 16.68")
    assert paid["text"] == "💸 Paid ¥16.68 to 13. Settled balance left: ¥0.00."

    # O2 is refunded after Ro was paid for it: a negative payable entry, nothing rewritten.
    with kocbot.db.transaction() as session:
        o2_click = session.scalars(select(Order.click_id).where(Order.order_id == "O2")).one()
    response = await postback(kocbot, {"click_id": o2_click, "order_id": "O2", "amount": "128.50",
                                   "status": "refunded"})
    assert response.status_code == 200, response.text
    with kocbot.db.transaction() as session:
        negative = session.execute(
            select(LedgerEntry.user_id, LedgerEntry.bucket, LedgerEntry.amount)
            .where(LedgerEntry.event == "refunded", LedgerEntry.amount < 0)).all()
    assert sorted(negative, key=lambda r: r[0] or 0) == [
        (None, "payable", -161), (PAT, "payable", -48), (MO, "payable", -80), (RO, "payable", -1317)]

    ro = (await command_reply(emu, user=RO, chat_id=RO, text="/commission"))["text"]
    assert ("Pending: ¥6.51\nConfirmed: -¥13.17 (payable -¥13.17)\nPaid: ¥16.68\n"
            "Reversed: ¥13.17") in ro
    assert "Clicks: 3 (unique 3) · Orders: 2" in ro
    assert "Last 7 days: ¥0.00 · Last 30 days: ¥10.02" in ro
    assert "• Alpha: ¥10.02" in ro and "Beta" not in ro
    assert "-¥13.17 will be taken from your next earnings" in ro
    mo = (await command_reply(emu, user=MO, chat_id=MO, text="/commission"))["text"]
    assert "Pending: ¥0.39\nConfirmed: ¥0.00 (payable ¥0.00)\nPaid: ¥0.00\nReversed: ¥0.80" in mo
    assert "Clicks: 0 (unique 0) · Orders: 0" in mo and "• Alpha: ¥0.39" in mo
    pat = (await command_reply(emu, user=PAT, chat_id=PAT, text="/commission"))["text"]
    assert "待确认：¥0.23\n已确认：¥0.00（可提现 ¥0.00）\n已支付：¥0.00\n已冲销：¥0.48" in pat
    assert "近30天：¥0.23" in pat

    photos = len(emu.sent(chat_id=alpha, method="sendPhoto"))
    report = (await command_reply(emu, user=RO, chat_id=alpha, text="/report"))["text"]
    assert "Mei · 2 · 2 · ¥138.00 · ¥11.82" in report
    assert "Total: 2 clicks · 2 orders · ¥138.00 sales · ¥11.82 commission" in report
    assert "Split: mentor ¥0.39, partner ¥0.23, platform ¥1.18, promoter ¥10.02" in report
    await emu.wait_for(lambda: len(emu.sent(chat_id=alpha, method="sendPhoto")) > photos, timeout=10)
    report = (await command_reply(emu, user=RO, chat_id=beta, text="/report all"))["text"]
    assert "Max · 1 · 0 · ¥0.00 · ¥0.00" in report and "Split: —" in report
