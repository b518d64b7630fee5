"""The ``kocbot`` command line: parsing only; bot/commands.py and bot/ops_cli.py do the work.

Each subcommand is added by one small function, so a new module (a network, a view) adds
its own parser and handler without touching the others.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import signal
import sys
from collections.abc import Callable
from importlib import metadata

from bot.config import Config, ConfigError, load_config, secret_values
from bot.logs import redact_secrets, setup_logging

Handler = Callable[[argparse.Namespace, Config], int]
# A handler is named "module:function" and imported only once chosen, so `--help`,
# `--version` and a bad option answer without loading SQLAlchemy, Alembic and the bot.
HandlerName = str

LOG_LEVELS = ("debug", "info", "warning", "error")

FEED_HELP = """\
columns (CSV header row or JSON field names, any order, case-insensitive):
  required: merchant, sku, title, url, price, original_price
  optional: commission_rate (0.12 or 12%), category, image_url, starts_at, ends_at
            (ISO 8601), stock (empty = unlimited), featured (true/false), currency
            (default [commission].currency), active (true/false, default true)
A row whose ends_at has passed, or with active = false, ends that deal.
CSV may be UTF-8 or GB18030/GBK (detected). Full reference: docs/MERCHANTS.md.
exit status: 0 every row imported, 1 some rows bad, 2 the file was refused."""

ORDERS_HELP = """\
columns: order_id, click_id, amount, status (pending, confirmed, cancelled, refunded);
optional: commission, currency, ordered_at (ISO 8601). Reference: docs/MERCHANTS.md.
exit status: 0 every row imported, 1 some rows bad, 2 the file was refused."""


def _version() -> str:
    try:
        return metadata.version("kocbot")
    except metadata.PackageNotFoundError:
        return "unknown"


def _common(*, top: bool) -> argparse.ArgumentParser:
    """-c and --log-level, accepted before and after the subcommand.

    On subcommands the default is SUPPRESS: otherwise a subparser's default (None) would
    overwrite the value given before the subcommand.
    """
    common = argparse.ArgumentParser(add_help=False)
    default = None if top else argparse.SUPPRESS
    common.add_argument("-c", "--config", default=default,
                        help="config file (default ./config.toml, else built-in defaults)")
    common.add_argument("--log-level", choices=LOG_LEVELS, default=default,
                        help="log level (default: info for run, warning otherwise)")
    return common


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kocbot", description="A Telegram bot for social commerce.",
                                     parents=[_common(top=True)])
    parser.add_argument("--version", action="version", version=f"kocbot {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = _common(top=False)
    from bot import cli_networks, ops_cli

    def add(name: str, handler: HandlerName, help_text: str, **kw: object) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help_text, description=help_text, **kw)  # type: ignore[arg-type]
        p.set_defaults(handler=handler)
        return p

    def nested(name: str, help_text: str) -> Callable[..., argparse.ArgumentParser]:
        """A subcommand with actions (``db upgrade``), each with its own --help."""
        group = sub.add_parser(name, parents=[common], help=help_text, description=help_text)
        actions = group.add_subparsers(dest="action", required=True, metavar="ACTION")

        def action(verb: str, handler: HandlerName, text: str,
                   epilog: str | None = None) -> argparse.ArgumentParser:
            p = actions.add_parser(verb, parents=[common], help=text, description=text, epilog=epilog,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
            p.set_defaults(handler=handler)
            return p

        return action

    run = add("run", "bot.commands:run", "run the bot and its web server")
    run.add_argument("--role", choices=["all", "bot", "web", "sender"], default="all",
                     help="what this process does: all (default), bot (updates, scheduler), web "
                          "(links, postbacks, webhook), sender (sends posts); run several for scale")

    nested("db", "database tasks")("upgrade", "bot.commands:db_upgrade", "apply the database migrations")

    imp = nested("products", "catalog tasks")(
        "import", "bot.commands:products_import", "import a product feed (CSV or JSON)", FEED_HELP)
    imp.add_argument("file")
    imp.add_argument("--strict", action="store_true", help="reject the whole file if any row is bad")
    imp.add_argument("--deactivate-missing", action="store_true",
                     help="deactivate products that are not in this (full) feed")

    orders = nested("orders", "order reports")(
        "import", "bot.commands:orders_import", "import an order report CSV", ORDERS_HELP)
    orders.add_argument("file")

    card = nested("card", "card tasks")("preview", "bot.commands:card_preview",
                                        "render one product's card to a file")
    card.add_argument("sku")
    card.add_argument("-o", "--output", default="card.png",
                      help="output file; the format follows the suffix: .png, .jpg/.jpeg or .webp")

    report = add("report", "bot.commands:report", "earnings reports")
    report.add_argument("--group", type=int, help="a group's chat id (see kocbot groups)")
    report.add_argument("--promoter", type=int, help="a promoter's user id")
    report.add_argument("--since", default="30d", help="7d, 30d (default), any Nd, or all")
    report.add_argument("--format", choices=["text", "csv"], default="text")

    ops_cli.add_parsers(add)
    cli_networks.add_arguments(nested, imp)

    demo = add("demo", "bot.commands:demo", "run the offline demo story")
    demo.add_argument("--out", default="demo-out",
                      help="folder for the rendered cards and the database; a second run reuses a "
                           "folder the demo made, and a non-empty folder it did not make is refused")
    return parser


def resolve(name: HandlerName) -> Handler:
    """The function a handler name ("module:function") stands for."""
    module, _, function = name.partition(":")
    return getattr(importlib.import_module(module), function)  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``kocbot`` script."""
    args = _parser().parse_args(argv)
    level = getattr(logging, (args.log_level or "").upper(), None)
    setup_logging(json_lines=args.command == "run", level=level)
    config: Config | None = None
    try:
        config = load_config(args.config)
        redact_secrets(secret_values(config))
        return resolve(args.handler)(args, config)
    except ConfigError as exc:
        print(f"kocbot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - infrastructure failures: one line naming the fix
        from bot.infra_errors import explain

        message = explain(exc)
        if message is None:
            raise
        for secret in _secrets(config):
            message = message.replace(secret, "***")
        print(f"kocbot: {message}", file=sys.stderr)
        return 3


def _secrets(config: Config | None) -> list[str]:
    """Values that must never reach the terminal, even inside a driver's error text."""
    return [] if config is None else secret_values(config)


def run_until_signal(coro_factory) -> None:  # type: ignore[no-untyped-def]
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
