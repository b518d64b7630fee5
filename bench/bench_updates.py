"""Updates per second the bot handles end to end: Buy taps from many users through the emulator.

The bot runs as a real ``kocbot run`` process (polling, SQLite); the emulator runs in this
process, so each has its own core. Each tap is a real update fetched by long polling, handled
by the real handler (record the tap, create the member's link; the taps that arrive together
share one transaction, bot/tg/tapqueue.py) and answered with answerCallbackQuery. Baseline
in the same run: a child process running a bare PTB application, PTB's defaults, whose
handler only answers the query (no database, no logic).

    python bench/bench_updates.py [--users 3000] [--db postgresql+psycopg://…/db (emptied!)]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import parse_config  # noqa: E402
from bot.emulator import Emulator  # noqa: E402
from bot.services.container import Services  # noqa: E402
from bot.storage.db import Database, upgrade  # noqa: E402

FEED = (b"merchant,sku,title,url,price,original_price,commission_rate\n"
        b"acme,S1,Thermos,https://shop.example/1,39.00,59.00,10%\n")
OWNER = 10


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def baseline_child(token: str, base_url: str) -> None:
    """A bare PTB bot that answers every callback query and does nothing else."""
    from telegram import Update
    from telegram.ext import ApplicationBuilder, CallbackQueryHandler, ContextTypes

    async def answer(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.callback_query.answer()

    app = (ApplicationBuilder().token(token).base_url(base_url).concurrent_updates(32)
           .connection_pool_size(128).build())
    app.add_handler(CallbackQueryHandler(answer))
    app.run_polling(poll_interval=0, timeout=10, close_loop=False)


async def run(users: int, baseline: bool, tmp: Path, db: str = "sqlite") -> tuple[float, float, float]:
    """Start the bot process, tap Buy once per user.

    Returns (updates/s, bot CPU seconds, mean taps per transaction from the bot's /metrics).
    """
    members = list(range(100_000, 100_000 + users))
    async with Emulator(token="777:BENCH", bot_username="bench_bot") as emu:  # noqa: S106
        emu.add_user(OWNER, "Owner")
        for uid in members:
            emu.add_user(uid, f"M{uid}")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        port = metrics_port = 0
        if baseline:
            cmd = [sys.executable, __file__, "--baseline-child", emu.token, emu.base_url]
        else:
            if db == "sqlite":
                db_url = f"sqlite:///{tmp / 'bench.db'}"
                upgrade(db_url)
            else:
                from tests.support.databases import fresh_postgres

                db_url = fresh_postgres(db)
            port, metrics_port = free_port(), free_port()
            raw = {"telegram": {"token": emu.token, "base_url": emu.base_url},
                   "database": {"url": db_url},
                   "web": {"port": port, "public_url": f"http://127.0.0.1:{port}"}}
            services = Services(config=parse_config(raw, env={}), db=Database.from_url(db_url))
            services.catalog.import_feed(FEED, filename="feed.csv")
            services.db.dispose()
            (tmp / "config.toml").write_text(
                f'[telegram]\ntoken = "{emu.token}"\nbase_url = "{emu.base_url}"\n'
                f'[database]\nurl = "{db_url}"\n[web]\nport = {port}\n'
                f'public_url = "http://127.0.0.1:{port}"\n[metrics]\nport = {metrics_port}\n')
            cmd = [sys.executable, "-m", "bot", "run", "-c", str(tmp / "config.toml")]
        proc = subprocess.Popen(cmd, env=env, cwd=tmp, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            await emu.wait_for(lambda: any(c.method == "getUpdates" for c in emu.calls), timeout=60)
            chat = emu.create_group("Bench", admins=[OWNER], members=members)
            if baseline:
                emu.add_bot_to_group(chat, OWNER)
                import httpx

                async with httpx.AsyncClient() as http:
                    await http.post(f"{emu.base_url}{emu.token}/sendMessage", json={
                        "chat_id": chat, "text": "tap",
                        "reply_markup": {"inline_keyboard": [[{"text": "Buy", "callback_data": "b"}]]}})
                card = emu.sent(chat_id=chat)[-1]
            else:
                emu.send_command(OWNER, OWNER, "/start")
                await emu.wait_for(lambda: emu.sent(chat_id=OWNER), timeout=30)
                emu.add_bot_to_group(chat, OWNER)
                await emu.wait_for(lambda: emu.sent(chat_id=chat), timeout=30)
                emu.send_command(OWNER, chat, "/post S1")
                await emu.wait_for(lambda: emu.sent(chat_id=chat, method="sendPhoto"), timeout=60)
                card = emu.sent(chat_id=chat, method="sendPhoto")[-1]
            data = card["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
            cpu0 = _cpu(proc.pid)
            started = time.perf_counter()
            queries = [emu.tap_button(uid, card, data) for uid in members]
            await emu.wait_for(lambda: all(q in emu.callback_answers for q in queries), timeout=900)
            seconds = time.perf_counter() - started
            cpu = _cpu(proc.pid) - cpu0
            burst = 0.0 if baseline else await _mean_burst(metrics_port)
        finally:
            proc.terminate()
            await asyncio.to_thread(proc.wait, 30)
    return users / seconds, cpu, burst


async def _mean_burst(port: int) -> float:
    """Taps per tap transaction, read from the bot's own metrics listener."""
    import httpx

    async with httpx.AsyncClient() as http:
        text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    values = {line.split()[0]: float(line.split()[1]) for line in text.splitlines()
              if line.startswith(("kocbot_taps_total", "kocbot_tap_batches_total"))}
    return values["kocbot_taps_total"] / max(values["kocbot_tap_batches_total"], 1)


def _cpu(pid: int) -> float:
    """User + system CPU seconds of a process (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--db", default="sqlite", help="sqlite, or a PostgreSQL URL to use (emptied!)")
    parser.add_argument("--baseline-child", nargs=2)
    args = parser.parse_args()
    if args.baseline_child:
        baseline_child(*args.baseline_child)
        return
    with tempfile.TemporaryDirectory() as tmp:
        rate, cpu, burst = asyncio.run(run(args.users, False, Path(tmp), args.db))
    with tempfile.TemporaryDirectory() as tmp:
        base, base_cpu, _ = asyncio.run(run(args.users, True, Path(tmp)))
    where = "SQLite" if args.db == "sqlite" else "PostgreSQL"
    print(f"Buy taps handled end to end, {args.users} users, bot in its own process (polling, "
          f"{where}):")
    print(f"  kocbot run: {rate:7.0f} updates/s   bot CPU {cpu / args.users * 1000:.2f} ms/update"
          f"   {burst:.1f} taps per transaction")
    print(f"  bare PTB:   {base:7.0f} updates/s   bot CPU {base_cpu / args.users * 1000:.2f} ms/update")
    print(f"  ratio kocbot/bare PTB: {rate / base:.2f}    goal: ≥ 500 updates/s")


if __name__ == "__main__":
    main()
