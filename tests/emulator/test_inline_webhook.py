"""Inline mode end to end, and webhook delivery with the secret header."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultCachedPhoto,
    InputTextMessageContent,
    Update,
)
from telegram.error import BadRequest, Conflict
from telegram.ext import CallbackQueryHandler, ChosenInlineResultHandler, ContextTypes, InlineQueryHandler

from bot.emulator import Emulator

from .conftest import ALICE, BOB, jpeg


async def test_inline_query_answer_choose_and_edit(emu: Emulator, bot: Bot, app_factory) -> None:
    emu.send_message(ALICE, ALICE, "/start")
    photo_id = (await bot.send_photo(ALICE, jpeg())).photo[-1].file_id
    chosen: list[str] = []

    async def on_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Claim", callback_data="claim")]])
        await update.inline_query.answer([
            InlineQueryResultArticle("deal-1", "Deal 1", InputTextMessageContent(
                "<b>Deal 1</b> for 9.99", parse_mode="HTML"), reply_markup=keyboard),
            InlineQueryResultCachedPhoto("deal-2", photo_id, caption="Deal 2"),
        ], cache_time=0)

    async def on_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chosen.append(update.chosen_inline_result.inline_message_id)

    async def on_claim(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer()
        await update.callback_query.edit_message_text("claimed")

    group = emu.create_group("Friends", admins=[ALICE], members=[BOB])
    handlers = (InlineQueryHandler(on_query), ChosenInlineResultHandler(on_chosen),
                CallbackQueryHandler(on_claim))
    async with app_factory(*handlers):
        query_id = emu.inline_query(ALICE, "deal")
        await emu.wait_for(lambda: query_id in emu.inline_answers)
        message = emu.choose_inline_result(ALICE, query_id, "deal-1", group)
        assert message["via_bot"]["username"] == "kocbot_demo_bot"
        assert message["text"] == "Deal 1 for 9.99"
        assert message["entities"][0]["type"] == "bold"
        inline_id = emu.inline_message_id(message)
        await emu.wait_for(lambda: chosen == [inline_id])

        # Bob, another member, taps the button under Alice's inline message.
        query = emu.tap_button(BOB, message, "claim")
        await emu.wait_callback_answer(query)
        await emu.wait_for(lambda: emu.messages_in(group)[-1]["text"] == "claimed")

        photo_query = emu.inline_query(ALICE, "photo")
        await emu.wait_for(lambda: photo_query in emu.inline_answers)
        posted = emu.choose_inline_result(ALICE, photo_query, "deal-2", ALICE)
        assert posted["photo"][-1]["file_id"] == photo_id and posted["caption"] == "Deal 2"
    assert emu.violations == []


async def test_inline_answer_rules(emu: Emulator, bot: Bot) -> None:
    query_id = emu.inline_query(ALICE, "x")
    bogus = InlineQueryResultCachedPhoto("p", "AgACnotissued")
    with pytest.raises(BadRequest, match="(?i)wrong file identifier"):
        await bot.answer_inline_query(query_id, [bogus])
    many = [InlineQueryResultArticle(str(i), "t", InputTextMessageContent("m")) for i in range(51)]
    with pytest.raises(BadRequest, match="(?i)results_too_much"):
        await bot.answer_inline_query(query_id, many)
    assert len(emu.violations) == 2
    await bot.answer_inline_query(query_id, many[:50])
    with pytest.raises(BadRequest, match="(?i)query is too old"):
        await bot.answer_inline_query(query_id, many[:1])


class Receiver:
    """A tiny webhook endpoint that fails its first request."""

    def __init__(self) -> None:
        self.received: list[tuple[str | None, dict]] = []
        self.attempts = 0

    async def endpoint(self, request: Request) -> Response:
        self.attempts += 1
        if self.attempts == 1:
            return Response(status_code=500)  # the emulator must retry
        self.received.append((request.headers.get("x-telegram-bot-api-secret-token"),
                              await request.json()))
        return Response(status_code=200)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    hook = Receiver()
    app = Starlette(routes=[Route("/hook", hook.endpoint, methods=["POST"])])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="off", ws="none"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.005)
    yield hook, f"http://127.0.0.1:{port}/hook"
    server.should_exit = True
    await task


async def test_webhook_delivery_with_secret(emu: Emulator, bot: Bot, receiver) -> None:
    hook, url = receiver
    assert await bot.set_webhook(url, secret_token="s3cret-token", allowed_updates=["message"])
    assert emu.webhook is not None and emu.webhook["url"] == url
    with pytest.raises(Conflict, match="(?i)webhook is active"):
        await bot.get_updates()
    emu.send_message(ALICE, ALICE, "via webhook")
    query = emu.inline_query(ALICE, "filtered out by allowed_updates")
    await emu.wait_for(lambda: len(hook.received) == 1 and not emu.pending_updates)
    secret, update = hook.received[0]
    assert secret == "s3cret-token"
    assert update["message"]["text"] == "via webhook"
    assert hook.attempts == 2
    info = await bot.get_webhook_info()
    assert info.url == url and info.pending_update_count == 0
    assert "500" in (info.last_error_message or "")
    assert await bot.delete_webhook()
    assert emu.webhook is None
    assert await bot.get_updates() == ()
    assert query not in emu.inline_answers
    assert emu.violations == []


async def test_webhook_never_leaves_loopback(emu: Emulator, bot: Bot) -> None:
    await bot.set_webhook("https://example.com/hook")
    emu.send_message(ALICE, ALICE, "stays here")
    await emu.wait_for(lambda: "loopback" in ((emu.core.webhook_error or (0, ""))[1]))
    assert len(emu.pending_updates) == 1
