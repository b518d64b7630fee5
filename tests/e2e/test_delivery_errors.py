"""Telegram's errors on a card send, through the emulator: each handled as sender.py's rules say."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from tests.conftest import free_port
from tests.e2e.delivery_kit import cards, group_row, import_catalog, posts_of, register_owner, seed_groups

TITLE = "<b>Bold</b> & <script>alert(1)</script> cup"


def errors(kocbot, kind: str) -> float:  # type: ignore[no-untyped-def]
    return kocbot.metrics.registry.get_sample_value("kocbot_send_errors_total", {"kind": kind}) or 0


async def setup_one(emu, kocbot, **settings):  # type: ignore[no-untyped-def]
    import_catalog(kocbot.services)
    register_owner(emu, kocbot.services)
    (chat,) = seed_groups(emu, kocbot.services, 1, **settings)
    return chat


async def post(kocbot, chat: int, sku: str = "SKU1") -> None:  # type: ignore[no-untyped-def]
    kocbot.services.posting.post_now(chat, sku=sku)
    kocbot.sender.wake()


async def test_429_waits_retry_after_then_sends_once(emulator, kocbot_factory, clock) -> None:
    emu = emulator
    kocbot = await kocbot_factory(rate_limit=True)  # the limiter is what pauses every send
    chat = await setup_one(emu, kocbot)
    emu.inject("429", method="sendPhoto", chat_id=chat, retry_after=2)
    await post(kocbot, chat)
    await emu.wait_for(lambda: errors(kocbot, "429") == 1, timeout=5)
    hit = time.monotonic()
    (row,) = posts_of(kocbot.services, chat)
    assert row.status == "queued" and (row.due_at - clock()).total_seconds() == 2
    clock.advance(seconds=2)
    kocbot.sender.wake()
    await emu.wait_for(lambda: cards(emu, chat), timeout=10)
    assert time.monotonic() - hit >= 2.0  # every send paused for retry_after
    assert len(cards(emu, chat)) == 1
    await emu.wait_for(lambda: posts_of(kocbot.services, chat)[0].status == "sent", timeout=5)


async def test_5xx_is_retried_with_backoff(emulator, kocbot_factory, clock) -> None:
    emu = emulator
    kocbot = await kocbot_factory()
    chat = await setup_one(emu, kocbot)
    emu.inject("5xx", method="sendPhoto", chat_id=chat, times=2)
    await post(kocbot, chat)
    for failures, backoff in ((1, 1), (2, 2)):
        await emu.wait_for(lambda f=failures: errors(kocbot, "network") == f
                           and posts_of(kocbot.services, chat)[0].status == "queued", timeout=5)
        (row,) = posts_of(kocbot.services, chat)
        assert (row.due_at - clock()).total_seconds() == backoff
        assert cards(emu, chat) == []
        clock.advance(seconds=backoff)
        kocbot.sender.wake()
    await emu.wait_for(lambda: posts_of(kocbot.services, chat)[0].status == "sent", timeout=10)
    assert len(cards(emu, chat)) == 1
    assert posts_of(kocbot.services, chat)[0].attempts == 3


async def test_timeout_after_the_request_went_out_is_never_resent(emulator, kocbot_factory, clock) -> None:
    emu = emulator
    kocbot = await kocbot_factory(read_timeout=0.5)
    chat = await setup_one(emu, kocbot)
    # Telegram posts the card but its answer never arrives in time: the outcome is unknown.
    emu.inject("timeout", method="sendPhoto", chat_id=chat, delay=3, deliver=True)
    await post(kocbot, chat)
    await emu.wait_for(lambda: posts_of(kocbot.services, chat)[0].status == "unknown", timeout=10)
    assert errors(kocbot, "timeout") == 1
    clock.advance(minutes=30)
    kocbot.sender.wake()
    await kocbot.tick()
    await asyncio.sleep(1.0)  # time for a (wrong) resend to show up
    assert posts_of(kocbot.services, chat)[0].status == "unknown"
    assert len(cards(emu, chat)) == 1  # posted once, by the lost request, and never again


@pytest.mark.parametrize("fault", ["403", "chat_not_found"])
async def test_403_and_chat_not_found_mark_the_group_inactive(emulator, kocbot_factory, fault) -> None:
    emu = emulator
    kocbot = await kocbot_factory()
    chat = await setup_one(emu, kocbot)
    emu.inject(fault, method="sendPhoto", chat_id=chat)
    await post(kocbot, chat)
    await emu.wait_for(lambda: posts_of(kocbot.services, chat)[0].status == "failed", timeout=5)
    assert group_row(kocbot.services, chat).active is False
    assert cards(emu, chat) == []
    assert kocbot.services.posting.broadcast("SKU2") == 0  # gets nothing more


async def test_migration_moves_the_group_and_resends(emulator, kocbot_factory) -> None:
    emu = emulator
    kocbot = await kocbot_factory()
    chat = await setup_one(emu, kocbot, timezone="Europe/Berlin")
    before = group_row(kocbot.services, chat)
    emu.inject("migrate", method="sendPhoto", chat_id=chat)
    await post(kocbot, chat)
    await emu.wait_for(lambda: emu.core.world.chats[chat].migrated_to is not None, timeout=10)
    new_id = emu.core.world.chats[chat].migrated_to
    await emu.wait_for(lambda: len(cards(emu, new_id)) == 1, timeout=10)
    after = group_row(kocbot.services, new_id)
    assert (after.id, after.timezone) == (before.id, "Europe/Berlin")  # same row, same settings
    assert group_row(kocbot.services, chat) is None
    (row,) = posts_of(kocbot.services, new_id)
    await emu.wait_for(lambda: posts_of(kocbot.services, new_id)[0].status == "sent", timeout=5)
    assert errors(kocbot, "migrated") == 1
    assert cards(emu, chat) == []


async def test_topic_gone_clears_the_topic_and_resends(emulator, kocbot_factory, clock) -> None:
    emu = emulator
    kocbot = await kocbot_factory()
    import_catalog(kocbot.services)
    owner = register_owner(emu, kocbot.services)
    chat = emu.create_group("Forum", admins=[owner], forum=True)
    emu.add_bot_to_group(chat, owner)
    await emu.wait_for(lambda: emu.sent(chat_id=chat), timeout=10)
    topic = emu.create_topic(chat, "Deals")
    emu.send_command(owner, chat, "/topic", message_thread_id=topic)
    await emu.wait_for(lambda: group_row(kocbot.services, chat).topic_id == topic, timeout=10)
    await post(kocbot, chat)
    await emu.wait_for(lambda: len(cards(emu, chat)) == 1, timeout=10)
    assert cards(emu, chat)[0]["message_thread_id"] == topic
    await emu.wait_for(lambda: posts_of(kocbot.services, chat)[0].status == "sent", timeout=5)

    emu.inject("thread_not_found", method="sendPhoto", chat_id=chat)
    clock.advance(minutes=1)  # posts in one group are a minute apart
    kocbot.services.posting.post_now(chat, sku="SKU2")
    kocbot.sender.wake()
    await emu.wait_for(lambda: len(cards(emu, chat)) == 2, timeout=10)
    assert "message_thread_id" not in cards(emu, chat)[1]
    assert group_row(kocbot.services, chat).topic_id is None
    assert errors(kocbot, "thread_not_found") == 1


async def test_html_in_a_title_arrives_escaped(emulator, kocbot_factory) -> None:
    emu = emulator
    kocbot = await kocbot_factory()
    feed = (b"merchant,sku,title,url,price,original_price,commission_rate,category,image_url,"
            b"starts_at,ends_at,stock,featured,currency\n"
            + f'acme,X1,"{TITLE}",https://shop.example/x,10.00,20.00,10%,home,,,,5,,CNY\n'.encode())
    import_catalog(kocbot.services, feed)
    register_owner(emu, kocbot.services)
    (chat,) = seed_groups(emu, kocbot.services, 1)
    await post(kocbot, chat, "X1")
    await emu.wait_for(lambda: cards(emu, chat), timeout=10)
    card = cards(emu, chat)[0]
    assert TITLE in card["caption"]  # the visible text: Telegram parsed our HTML and showed the tags
    call = next(c for c in emu.calls if c.method == "sendPhoto")
    assert "&lt;script&gt;" in call.params["caption"] and "&amp;" in call.params["caption"]
    assert not any(e["type"] in ("bold",) and card["caption"][e["offset"]:].startswith("Bold")
                   for e in card.get("caption_entities", []))


async def test_metrics_show_posts_errors_and_outbox_depth(emulator, kocbot_factory, clock) -> None:
    emu = emulator
    kocbot = await kocbot_factory(config={"metrics": {"port": free_port()}})
    metrics_url = f"http://127.0.0.1:{kocbot.config.metrics.port}/metrics"
    chat = await setup_one(emu, kocbot)
    emu.inject("5xx", method="sendPhoto", chat_id=chat)
    await post(kocbot, chat)
    await emu.wait_for(lambda: errors(kocbot, "network") == 1, timeout=5)
    async with httpx.AsyncClient() as client:
        text = (await client.get(metrics_url)).text
    assert "kocbot_outbox_depth 1.0" in text
    assert 'kocbot_send_errors_total{kind="network"} 1.0' in text
    clock.advance(seconds=1)
    kocbot.sender.wake()
    await emu.wait_for(lambda: cards(emu, chat), timeout=5)
    # The emulator has the card as soon as it answers; the sender counts it once it has the
    # answer and has recorded the post.
    await emu.wait_for(lambda: kocbot.metrics.registry.get_sample_value("kocbot_posts_sent_total") == 1,
                       timeout=5)
    async with httpx.AsyncClient() as client:
        text = (await client.get(metrics_url)).text
    assert "kocbot_posts_sent_total 1.0" in text and "kocbot_outbox_depth 0.0" in text
