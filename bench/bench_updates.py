"""Updates per second the bot handles end to end: Buy taps from many users through the emulator.

Each tap is a real update fetched by long polling, handled by the real handler (a database
transaction that records the tap and creates the member's link), and answered with
answerCallbackQuery. Baseline in the same run: the same number of updates answered by a bare
PTB application whose handler only answers the query (no database, no logic).

    python bench/bench_updates.py [--users 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import socket
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telegram import Update  # noqa: E402
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, ContextTypes  # noqa: E402

from bot.app import Kocbot  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.emulator import Emulator  # noqa: E402
from bot.storage.db import upgrade  # noqa: E402

FEED = (b"merchant,sku,title,url,price,original_price,commission_rate\n"
        b"acme,S1,Thermos,https://shop.example/1,39.00,59.00,10%\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def tap_all(emu: Emulator, card: dict, users: list[int]) -> float:
    """Tap Buy once per user; return seconds until every query is answered."""
    data = card["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    started = time.perf_counter()
    queries = [emu.tap_button(uid, card, data) for uid in users]
    await emu.wait_for(lambda: all(q in emu.callback_answers for q in queries), timeout=600)
    return time.perf_counter() - started


async def kocbot_rate(users: int, tmp: Path) -> tuple[float, float]:
    db_url = f"sqlite:///{tmp / 'bench.db'}"
    upgrade(db_url)
    async with Emulator(token="777:BENCH", bot_username="bench_bot") as emu:  # noqa: S106
        port = free_port()
        config = parse_config({"telegram": {"token": emu.token, "base_url": emu.base_url},
                               "database": {"url": db_url},
                               "web": {"port": port, "public_url": f"http://127.0.0.1:{port}"}}, env={})
        kb = Kocbot(config, rng=random.Random(1), cache_dir=tmp / "cache", run_scheduler=False)
        await kb.start()
        try:
            kb.services.catalog.import_feed(FEED, filename="feed.csv")
            owner = 10
            members = list(range(100_000, 100_000 + users))
            emu.add_user(owner, "Owner")
            for uid in members:
                emu.add_user(uid, f"M{uid}")
            emu.send_command(owner, owner, "/start")
            await emu.wait_for(lambda: emu.sent(chat_id=owner), timeout=10)
            chat = emu.create_group("Bench", admins=[owner], members=members)
            emu.add_bot_to_group(chat, owner)
            emu.send_command(owner, chat, "/post S1")
            await emu.wait_for(lambda: emu.sent(chat_id=chat, method="sendPhoto"), timeout=30)
            card = emu.sent(chat_id=chat, method="sendPhoto")[-1]
            cpu0 = time.process_time()
            seconds = await tap_all(emu, card, members)
            cpu = time.process_time() - cpu0
        finally:
            await kb.stop()
    return users / seconds, cpu


async def baseline_rate(users: int) -> float:
    async with Emulator(token="778:BASE", bot_username="base_bot") as emu:  # noqa: S106
        async def answer(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
            await update.callback_query.answer()

        app = (ApplicationBuilder().token(emu.token).base_url(emu.base_url)
               .concurrent_updates(32).connection_pool_size(128).build())
        app.add_handler(CallbackQueryHandler(answer))
        await app.initialize()
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=10)
        try:
            owner = 10
            members = list(range(100_000, 100_000 + users))
            emu.add_user(owner, "Owner")
            for uid in members:
                emu.add_user(uid, f"M{uid}")
            chat = emu.create_group("Base", admins=[owner], members=members)
            emu.add_bot_to_group(chat, owner)
            await app.bot.send_message(chat, "tap", reply_markup={
                "inline_keyboard": [[{"text": "Buy", "callback_data": "buy:x"}]]})
            card = emu.sent(chat_id=chat)[-1]
            seconds = await tap_all(emu, card, members)
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()
    return users / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rate, cpu = asyncio.run(kocbot_rate(args.users, Path(tmp)))
    base = asyncio.run(baseline_rate(args.users))
    print(f"Buy taps handled end to end: {args.users} taps")
    print(f"  kocbot:   {rate:8.0f} updates/s  (bot process CPU {cpu:.2f} s, shared with the emulator)")
    print(f"  baseline: {base:8.0f} updates/s  (bare PTB handler that only answers)")
    print(f"  ratio kocbot/baseline: {rate / base:.2f}   goal: ≥ 500 updates/s with polling")


if __name__ == "__main__":
    main()
