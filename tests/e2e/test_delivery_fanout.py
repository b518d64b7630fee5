"""Upload once: one deal to many groups at once renders one card and uploads one photo."""

from __future__ import annotations

import asyncio
from collections import Counter

from tests.e2e.delivery_kit import import_catalog, register_owner, seed_groups


async def test_fan_out_renders_once_and_uploads_once(emulator, kocbot_factory) -> None:
    emu = emulator
    kocbot = await kocbot_factory(rate_limit=False)
    import_catalog(kocbot.services)
    register_owner(emu, kocbot.services)
    chats = seed_groups(emu, kocbot.services, 60)
    emu.reset_observations()
    assert kocbot.services.posting.broadcast("SKU1") == 60
    kocbot.sender.wake()
    await emu.wait_for(lambda: len(emu.sent(method="sendPhoto")) == 60, timeout=30)
    per_chat = Counter(m["chat"]["id"] for m in emu.sent(method="sendPhoto"))
    assert set(per_chat) == set(chats) and set(per_chat.values()) == {1}
    assert emu.uploads == 1  # one multipart upload; 59 sends by file_id
    assert kocbot.metrics.renders._value.get() == 1
    assert kocbot.metrics.uploads._value.get() == 1
    file_ids = {m["photo"][-1]["file_id"] for m in emu.sent(method="sendPhoto")}
    assert len(file_ids) == 1


async def test_a_card_another_sender_uploaded_is_sent_without_waiting_in_line(
        emulator, kocbot_factory) -> None:
    """Two senders on one token: the one that did not upload finds the file id in the database
    and keeps it, so its later sends of that card do not queue behind one another's."""
    kocbot = await kocbot_factory(rate_limit=False)
    import_catalog(kocbot.services)
    with kocbot.db.transaction() as session:
        product = kocbot.services.catalog.find_by_sku(session, "SKU1")
        product_id, price = product.id, product.price
    cards = kocbot.cards
    card = await cards.prepare(product_id, price)  # warmed before anyone uploaded
    assert card.file_id is None
    await kocbot.db.run(kocbot.services.cards.remember_file, card.key, "file-from-the-other-sender")

    async def enter() -> str | bytes:
        async with cards.photo(card) as photo:
            return photo

    async with cards.photo(card) as first:  # a send holds its photo for the whole request
        second = asyncio.create_task(enter())
        for _ in range(5):
            await asyncio.sleep(0)
        assert second.done()  # not queued behind the send in flight
    assert first == await second == "file-from-the-other-sender"
