"""Malformed input gets a 4xx or a quiet answer, never a 500, a traceback or "Something went
wrong": deeply nested JSON, non-ASCII header bytes, '²' and 20-digit numbers in callback data
and inline offsets."""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.abuse.test_forgery import MEMBER, setup_card

SECRET = "hook-secret_123"


def handler_failures(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_deeply_nested_json_is_a_400(emulator, kocbot, caplog: pytest.LogCaptureFixture) -> None:
    url = f"{kocbot.config.web.public_url}/postback"
    async with httpx.AsyncClient() as client:
        nested = await client.post(url, content=b"[" * 60_000, headers={"Content-Type": "application/json"})
        objects = await client.post(url, content=b'{"a":' * 12_000,
                                    headers={"Content-Type": "application/json"})
    assert (nested.status_code, objects.status_code) == (400, 400)
    assert "nested too deeply" in nested.json()["error"]
    assert handler_failures(caplog) == []


async def test_a_non_ascii_webhook_secret_is_a_403(emulator, kocbot_factory) -> None:
    kocbot = await kocbot_factory(config={"telegram": {"mode": "webhook", "webhook_secret": SECRET}})
    url = f"{kocbot.config.web.public_url}/telegram"
    async with httpx.AsyncClient() as client:
        answers = [await client.post(url, json={"update_id": 1},
                                     headers={"X-Telegram-Bot-Api-Secret-Token": value})
                   for value in (b"\xff\xfe", SECRET.encode() + b"\xc2\xb2", "hook-secret_12³".encode())]
        right = await client.post(url, json={"update_id": 2},
                                  headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert [a.status_code for a in answers] == [403, 403, 403]
    assert right.status_code == 200


async def test_odd_numbers_in_callback_data_get_a_quiet_answer(emulator, kocbot,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    emu = emulator
    _chat, card = await setup_card(emu, kocbot)
    for data in ("gl:²", "pk:²", "dp:²", "gl:99999999999999999999", "pk:99999999999999999999",
                 "dp:99999999999999999999", "gl:9223372036854775808", "pk:٣", "gl:１２",
                 # found by the fuzz test: NUL in a code (PostgreSQL refuses it), paging on a card
                 "buy:\x00", "sbuy:AAAAAAAA\x00AAAAAAA", "dp:0", "dp:20"):
        answer = await emu.wait_callback_answer(emu.forge_callback(MEMBER, card, data), timeout=10)
        assert "went wrong" not in (answer.get("text") or ""), (data, answer)
        assert "url" not in answer, data
    assert handler_failures(caplog) == []


async def test_odd_inline_offsets_get_a_quiet_answer(emulator, kocbot,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    emu = emulator
    await setup_card(emu, kocbot)
    answers = {}
    for offset in ("²", "99999999999999999999", "10001", "-1", "１", "0", ""):
        query = emu.inline_query(MEMBER, "Thermos", offset=offset)
        await emu.wait_for(lambda q=query: q in emu.inline_answers, timeout=10)
        answers[offset] = emu.inline_answers[query]
    assert len(answers["0"]["results"]) == 1 and len(answers[""]["results"]) == 1
    assert answers["99999999999999999999"]["results"] == [] and answers["10001"]["results"] == []
    assert handler_failures(caplog) == []
