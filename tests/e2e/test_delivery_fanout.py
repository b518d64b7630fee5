"""Upload once: one deal to many groups at once renders one card and uploads one photo."""

from __future__ import annotations

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
