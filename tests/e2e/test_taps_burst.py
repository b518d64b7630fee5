"""A burst of Buy taps through the emulator: every tap is answered with the member's own
link, forged taps in the same burst are refused, and the burst shares transactions."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.storage.models import Link, Tap
from tests.support.flow import buttons, command_reply, post_card
from tests.support.world import FEED

PROMOTER = 101
MEMBERS = list(range(5000, 5060))


async def test_a_burst_of_taps_gets_one_link_each(emulator, kocbot) -> None:
    emu, kb = emulator, kocbot
    kb.services.catalog.import_feed(FEED, filename="feed.csv")
    emu.add_user(PROMOTER, "Promo")
    for member in MEMBERS:
        emu.add_user(member, f"M{member}")
    await command_reply(emu, user=PROMOTER, chat_id=PROMOTER, text="/start")
    chat = emu.create_group("Burst Club", admins=[PROMOTER], members=MEMBERS)
    emu.add_bot_to_group(chat, PROMOTER)
    await emu.wait_for(lambda: emu.sent(chat_id=chat), timeout=10)
    card = await post_card(emu, kb, admin=PROMOTER, chat_id=chat, sku="SKU1")
    buy = buttons(card)[0]["callback_data"]

    # All taps are queued before the bot's next getUpdates, so they arrive together.
    taps = {member: emu.tap_button(member, card, buy) for member in MEMBERS}
    again = emu.tap_button(MEMBERS[0], card, buy)
    forged = [emu.forge_callback(MEMBERS[1], card, "buy:AAAAAAAAAAAAAAAA"),
              emu.forge_callback(MEMBERS[2], card, "buy:")]
    answers = {m: await emu.wait_callback_answer(q, timeout=20) for m, q in taps.items()}
    repeat = await emu.wait_callback_answer(again, timeout=20)
    refused = [await emu.wait_callback_answer(q, timeout=20) for q in forged]

    urls = {m: a["url"] for m, a in answers.items()}
    assert all(url.startswith("https://t.me/kocbot_test_bot?start=l_") for url in urls.values())
    assert len(set(urls.values())) == len(MEMBERS)  # one personal link each
    assert repeat["url"] == urls[MEMBERS[0]]  # tapping again gives the same link
    assert [a.get("text") for a in refused] == ["This deal is no longer available."] * 2
    with kb.db.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Link)) == len(MEMBERS)
        assert session.scalar(select(func.count()).select_from(Tap)) == len(MEMBERS) + 1
        codes = {code for (code,) in session.execute(select(Link.code))}
    assert codes == {url.split("?start=l_", 1)[1] for url in urls.values()}
    tapped = len(MEMBERS) + 1 + len(forged)
    batches = kb.metrics.tap_batches._value.get()  # noqa: SLF001 - the in-process counter
    assert kb.metrics.taps._value.get() == len(MEMBERS) + 1  # noqa: SLF001
    assert 1 <= batches <= tapped // 2, f"{tapped} taps took {batches} transactions"
