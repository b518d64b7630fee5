"""What each ``kocbot`` subcommand does (parsing lives in bot/cli.py)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from bot.config import Config, ConfigError
from bot.services.base import ServiceError
from bot.services.container import Services
from bot.services.reports import parse_since
from bot.storage.db import Database, upgrade


def _services(config: Config) -> Services:
    if config.database.url.startswith("sqlite"):
        upgrade(config.database.url)
    return Services(config=config, db=Database.from_url(config.database.url))


def run(args: argparse.Namespace, config: Config) -> int:
    """Run the bot, the sender, the scheduler and the web server until SIGTERM."""
    from bot.app import Kocbot, prepare_database

    if not config.telegram.token:
        raise ConfigError("config key telegram.token: missing (get one from @BotFather)")
    prepare_database(config)
    kocbot = Kocbot(config, role=args.role)
    tune_gc()
    run_until_signal(kocbot.run_forever)
    return 0


def run_until_signal(coro_factory: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    """Run ``coro_factory(stop_event)`` until SIGTERM or SIGINT."""

    async def main_task() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await coro_factory(stop)

    asyncio.run(main_task())


def tune_gc() -> None:
    """Make Python's cycle collector run rarely in a long-lived bot process.

    Every update or send allocates hundreds of short-lived objects (PTB's Update, SQLAlchemy
    rows), so the default thresholds (700, 10, 10) collect young objects thousands of times
    a second. Larger thresholds cost a few MB of garbage held a little longer; freezing moves
    what startup built (modules, the app, the handlers) out of every later collection. In
    bench/bench_updates.py this took the bot from 1.6-1.8 to 1.1-1.3 ms of CPU per update.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def db_upgrade(args: argparse.Namespace, config: Config) -> int:
    """Apply the database migrations."""
    upgrade(config.database.url)
    print("database is up to date")
    return 0


def products_import(args: argparse.Namespace, config: Config) -> int:
    """Import a product feed file (streamed; a progress bar when stdout is a terminal)."""
    from bot.progress import ProgressBar

    path = Path(args.file)
    if not path.is_file():
        print(f"kocbot: no file {path}", file=sys.stderr)
        return 2
    services = _services(config)
    bar = ProgressBar(sys.stdout, path.stat().st_size)
    try:
        with path.open("rb") as stream:
            result = services.catalog.import_feed(stream, filename=path.name, strict=args.strict,
                                                  deactivate_missing=args.deactivate_missing,
                                                  progress=bar)
    except ServiceError as exc:
        bar.close()
        print(f"kocbot: {path}: {exc}", file=sys.stderr)
        return 1
    bar.close()
    for error in result.errors:
        # file:line: for CSV, as compilers do; JSON rows are numbered by item, not by line.
        where = f"{error.line}" if error.unit == "line" else f" {error.unit} {error.line}"
        print(f"{path.name}:{where}: {error.reason}", file=sys.stderr)
    if result.rejected:
        print(f"rejected: {len(result.errors)} bad rows, nothing imported (--strict)")
        return 1
    summary = (f"imported {result.total} rows: {result.created} new, {result.updated} updated, "
               f"{len(result.errors)} errors")
    if result.deactivation_skipped:
        summary += "; --deactivate-missing skipped: bad rows cannot be told apart from missing ones"
    elif args.deactivate_missing:
        summary += f", {result.deactivated} deactivated"
    print(summary)
    return 0


def orders_import(args: argparse.Namespace, config: Config) -> int:
    """Import an order report CSV."""
    path = Path(args.file)
    if not path.is_file():
        print(f"kocbot: no file {path}", file=sys.stderr)
        return 2
    services = _services(config)
    try:
        summary = services.order_import.import_csv(path.read_bytes())
    except ServiceError as exc:
        print(f"kocbot: {path}: {exc}", file=sys.stderr)
        return 1
    for line, reason in summary.errors:
        print(f"{path.name}:{line}: {reason}", file=sys.stderr)
    print(f"orders: {summary.total} rows, {summary.applied} applied, {summary.repeated} repeated, "
          f"{summary.unattributed} unattributed, {len(summary.errors)} errors")
    return 0


def card_preview(args: argparse.Namespace, config: Config) -> int:
    """Render one product's card to a file."""
    from bot.cards.images import fetch_image
    from bot.cards.render import CardInput, render_card

    services = _services(config)
    found = services.cards.by_sku(args.sku)
    if found is None:
        print(f"kocbot: no product with sku {args.sku!r}", file=sys.stderr)
        return 1
    product, merchant = found
    image = None
    if product.image_url:
        image = asyncio.run(fetch_image(product.image_url, cache_dir=Path(".cache") / "images",
                                        allow_private=config.card.allow_private_image_urls))
    data = render_card(CardInput(title=product.title, merchant=merchant.name, price=product.price,
                                 original_price=product.original_price, currency=product.currency,
                                 image=image, locale=config.card.locale),
                       font_path=config.card.font_path)
    out = Path(args.output)
    if out.suffix.lower() == ".png":
        from io import BytesIO

        from PIL import Image

        Image.open(BytesIO(data)).save(out, format="PNG")
    else:
        out.write_bytes(data)
    print(f"wrote {out}")
    return 0


def report(args: argparse.Namespace, config: Config) -> int:
    """Print a group's, a promoter's or the platform's figures (text or CSV)."""
    from bot.reports_cli import print_report

    try:
        window = parse_since(args.since)
    except ValueError as exc:
        print(f"kocbot: --since: {exc}", file=sys.stderr)
        return 2
    services = _services(config)
    return print_report(services, group=args.group, promoter=args.promoter, window=window,
                        fmt=args.format, out=sys.stdout)


def demo(args: argparse.Namespace, config: Config) -> int:
    """Run the offline demo story."""
    from bot.demo import run_demo

    return asyncio.run(run_demo(Path(args.out)))

