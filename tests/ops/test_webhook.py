"""Webhook mode: Telegram (the emulator) POSTs updates to /telegram with the secret header."""

from __future__ import annotations

import httpx

from tests.conftest import free_port
from tests.support.flow import command_reply

SECRET = "hook-secret_123"


async def test_webhook_delivers_updates_and_rejects_wrong_secrets(emulator, kocbot_factory) -> None:
    kocbot = await kocbot_factory(config={"telegram": {"mode": "webhook", "webhook_secret": SECRET}})
    assert emulator.webhook is not None
    assert emulator.webhook["url"] == f"{kocbot.config.web.public_url}/telegram"
    emulator.add_user(11, "Hook", language_code="en")
    reply = await command_reply(emulator, user=11, chat_id=11, text="/start")
    assert "registered as a promoter" in reply["text"]

    url = f"{kocbot.config.web.public_url}/telegram"
    update = {"update_id": 999, "message": {"message_id": 1, "date": 0, "chat": {"id": 12, "type": "private"},
                                             "from": {"id": 12, "is_bot": False, "first_name": "X"},
                                             "text": "/start"}}
    async with httpx.AsyncClient() as client:
        missing = await client.post(url, json=update)
        wrong = await client.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "nope"})
        garbage = await client.post(url, content=b"\x00not json",
                                    headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert (missing.status_code, wrong.status_code, garbage.status_code) == (403, 403, 400)
    assert not [s for s in emulator.sent() if s["chat"]["id"] == 12]


async def test_polling_mode_refuses_webhook_posts(emulator, kocbot) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{kocbot.config.web.public_url}/telegram", json={"update_id": 1},
                                     headers={"X-Telegram-Bot-Api-Secret-Token": ""})
    assert response.status_code == 403


async def test_health_and_metrics(emulator, kocbot_factory) -> None:
    kocbot = await kocbot_factory(config={"metrics": {"port": free_port()}})
    async with httpx.AsyncClient() as client:
        health = await client.get(f"{kocbot.config.web.public_url}/healthz")
        metrics = await client.get(f"http://127.0.0.1:{kocbot.config.metrics.port}/metrics")
    assert (health.status_code, health.text) == (200, "ok")
    for name in ("kocbot_updates", "kocbot_posts_sent", "kocbot_taps", "kocbot_clicks",
                 "kocbot_orders", "kocbot_send_errors", "kocbot_outbox_depth"):
        assert name in metrics.text
