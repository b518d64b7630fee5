"""A sender that finds a group at its per-minute limit puts back only a post that is still
queued: another sender may have claimed the same post meanwhile, and must not lose it to a
second send."""

from __future__ import annotations

from datetime import timedelta

from bot.storage.models import Post
from tests.e2e.delivery_kit import import_catalog, posts_of, register_owner, seed_groups


async def test_a_full_group_never_requeues_a_post_another_sender_claimed(emulator, kocbot_factory) -> None:
    emu = emulator
    kb = await kocbot_factory(rate_limit=True, role="bot")  # no sender of its own running
    import_catalog(kb.services)
    register_owner(emu, kb.services)
    [chat] = seed_groups(emu, kb.services, 1)
    assert kb.services.posting.broadcast("SKU1") == 1
    [job] = kb.services.posting.due()  # this sender read the post ...
    for _ in range(20):  # ... its group has had twenty messages this minute ...
        assert (await kb.limiter.reserve(chat))[0]
    assert kb.services.posting.start([job]) == [job]  # ... and another sender claimed it.
    await kb.sender._dispatch([job])  # noqa: SLF001 - the step under test: the group-full path
    [post] = posts_of(kb.services, chat)
    assert post.status == "sending"  # still the other sender's; not queued for a second send
    assert emu.sent(method="sendPhoto") == []

    kb.services.posting.mark_retry(post.id, delay=timedelta(0), error="x")
    await kb.sender._dispatch(kb.services.posting.due())  # noqa: SLF001 - unclaimed: deferred
    [post] = posts_of(kb.services, chat)
    assert post.status == "queued" and post.error == "group at 20 messages a minute"
    assert isinstance(post, Post)
