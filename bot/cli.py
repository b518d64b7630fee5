"""The ``kocbot`` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable

from bot.config import Config, ConfigError, load_config, secret_values
from bot.logs import redact_secrets, setup_logging


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-c", "--config", help="config file (default ./config.toml, else built-in defaults)")
    parser = argparse.ArgumentParser(prog="kocbot", description="A Telegram bot for social commerce.",
                                     parents=[common])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", parents=[common], help="run the bot and its web server")
    run.add_argument("--role", choices=["all", "bot", "web", "sender"], default="all")
    db = sub.add_parser("db", parents=[common], help="database tasks")
    db.add_argument("action", choices=["upgrade"])
    products = sub.add_parser("products", parents=[common], help="catalog tasks")
    products.add_argument("action", choices=["import"])
    products.add_argument("file")
    products.add_argument("--strict", action="store_true", help="reject the whole file if any row is bad")
    products.add_argument("--deactivate-missing", action="store_true",
                          help="deactivate products that are not in this (full) feed")
    orders = sub.add_parser("orders", parents=[common], help="order reports")
    orders.add_argument("action", choices=["import"])
    orders.add_argument("file")
    card = sub.add_parser("card", parents=[common], help="card tasks")
    card.add_argument("action", choices=["preview"])
    card.add_argument("sku")
    card.add_argument("-o", "--output", default="card.png")
    report = sub.add_parser("report", parents=[common], help="earnings reports")
    report.add_argument("--group", type=int, help="a group's chat id")
    report.add_argument("--promoter", type=int, help="a promoter's user id")
    report.add_argument("--since", default="30d", help="7d, 30d or all")
    report.add_argument("--format", choices=["text", "csv"], default="text")
    demo = sub.add_parser("demo", parents=[common], help="run the offline demo story")
    demo.add_argument("--out", default="demo-out", help="folder for the rendered cards and the database")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``kocbot`` script."""
    args = _parser().parse_args(argv)
    setup_logging(json_lines=args.command == "run")
    try:
        config = load_config(args.config)
        redact_secrets(secret_values(config))
        return _dispatch(args, config)
    except ConfigError as exc:
        print(f"kocbot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace, config: Config) -> int:
    from bot import commands

    handlers = {
        "run": commands.run, "db": commands.db_upgrade, "products": commands.products_import,
        "orders": commands.orders_import, "card": commands.card_preview, "report": commands.report,
        "demo": commands.demo,
    }
    return handlers[args.command](args, config)


def run_until_signal(coro_factory: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run ``coro_factory(stop_event)`` until SIGTERM or SIGINT."""

    async def main_task() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await coro_factory(stop)

    asyncio.run(main_task())


if __name__ == "__main__":
    logging.basicConfig()
    sys.exit(main())
