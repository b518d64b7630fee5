"""Fixtures: a running emulator, a PTB Bot pointed at it, and a polling PTB Application."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

import pytest
from PIL import Image
from telegram import Bot
from telegram.ext import Application, ApplicationBuilder, BaseHandler
from telegram.request import HTTPXRequest

from bot.emulator import Emulator

TOKEN = "123456:TEST-TOKEN"
ALICE, BOB = 111, 222


def local_request(**kwargs: object) -> HTTPXRequest:
    """An HTTPXRequest for plain-http loopback: skipping the CA bundle saves ~50 ms per client."""
    return HTTPXRequest(httpx_kwargs={"verify": False}, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    """A started emulator with two users; Alice has started the bot."""
    async with Emulator(token=TOKEN, bot_username="kocbot_demo_bot") as emulator:
        emulator.add_user(ALICE, "Alice", username="alice")
        emulator.add_user(BOB, "Bob", username="bob")
        yield emulator


@pytest.fixture
async def bot(emu: Emulator) -> AsyncIterator[Bot]:
    """A real telegram.Bot talking HTTP to the emulator."""
    async with Bot(TOKEN, base_url=emu.base_url, base_file_url=emu.base_file_url,
                   request=local_request(), get_updates_request=local_request()) as tg_bot:
        yield tg_bot


@asynccontextmanager
async def running_app(
    emu: Emulator, handlers: Sequence[BaseHandler], **polling: object
) -> AsyncIterator[Application]:
    """A PTB Application polling the emulator, like run_polling() without the signal handling."""
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(emu.base_url)
        .base_file_url(emu.base_file_url)
        .request(local_request())
        .get_updates_request(local_request())
        .build()
    )
    for handler in handlers:
        app.add_handler(handler)
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1, **polling)
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


@pytest.fixture
def app_factory(emu: Emulator) -> Callable[..., object]:
    """running_app bound to the test's emulator."""
    return lambda *handlers, **polling: running_app(emu, handlers, **polling)


def jpeg(width: int = 640, height: int = 480) -> bytes:
    """A small real JPEG."""
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buf, "JPEG")
    return buf.getvalue()
