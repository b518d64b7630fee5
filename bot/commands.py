"""What each ``kocbot`` subcommand does (parsing lives in bot/cli.py)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import shutil
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO

from bot.config import Config, ConfigError
from bot.services.base import ServiceError
from bot.services.container import Services
from bot.services.reports import parse_since
from bot.storage.db import Database, check_ready, upgrade


def services_for(config: Config) -> Services:
    """The use cases over the configured database (an SQLite file is migrated first)."""
    if config.database.url.startswith("sqlite"):
        upgrade(config.database.url)
    return Services(config=config, db=Database.from_url(config.database.url))

# Exit codes of the import commands, for cron: all rows in, some rows bad, file refused.
IMPORT_OK, IMPORT_SOME_BAD, IMPORT_REFUSED = 0, 1, 2


def run(args: argparse.Namespace, config: Config) -> int:
    """Run the bot, the sender, the scheduler and the web server until SIGTERM."""
    from bot.app import Kocbot, prepare_database
    from bot.config import start_warnings

    if not config.telegram.token:
        raise ConfigError("config key telegram.token: missing (get one from @BotFather)")
    for warning in start_warnings(config):
        logging.getLogger("bot.config").warning(warning)
    prepare_database(config)
    check_ready(config.database.url)
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
    path = Path(args.file)
    if not path.is_file():
        print(f"kocbot: no file {path}", file=sys.stderr)
        return IMPORT_REFUSED
    services = services_for(config)
    bar = ImportProgress(sys.stdout, path.stat().st_size)
    try:
        with path.open("rb") as stream:
            result = services.catalog.import_feed(stream, filename=path.name, strict=args.strict,
                                                  deactivate_missing=args.deactivate_missing,
                                                  progress=bar.advance)
    except ServiceError as exc:
        bar.close()
        print(f"kocbot: {path}: {exc}", file=sys.stderr)
        return IMPORT_REFUSED
    bar.close()
    for error in result.errors:
        # file:line: for CSV, as compilers do; JSON rows are numbered by item, not by line.
        where = f"{error.line}" if error.unit == "line" else f" {error.unit} {error.line}"
        print(f"{path.name}:{where}: {error.reason}", file=sys.stderr)
    read_as = " (read as GB18030/GBK)" if result.encoding == "gb18030" else ""
    if result.rejected:
        print(f"rejected{read_as}: {len(result.errors)} bad rows, nothing imported (--strict)")
        return IMPORT_REFUSED
    summary = (f"{result.total} rows{read_as}: {result.created} new, {result.updated} changed, "
               f"{result.unchanged} unchanged, {len(result.errors)} bad")
    if result.ended:
        summary += f"; {result.ended} deals ended"
    if result.deactivation_skipped:
        summary += "; --deactivate-missing skipped: bad rows cannot be told apart from missing ones"
    elif args.deactivate_missing:
        summary += f"; {result.deactivated} deactivated"
    print(summary)
    return IMPORT_SOME_BAD if result.errors else IMPORT_OK


class ImportProgress:
    """tqdm over the bytes of a feed, with the rows seen so far; silent unless ``out`` is a
    terminal, so a pipe or a cron log gets only the summary."""

    def __init__(self, out: TextIO, total_bytes: int) -> None:
        from tqdm import tqdm

        # A terminal that reports a size of 0x0 (a bare pty, some containers) would get no bar
        # from tqdm's own measuring; shutil falls back to 80x24 there.
        size = shutil.get_terminal_size()
        self.bar = tqdm(total=max(total_bytes, 1), file=out, disable=not out.isatty(), unit="B",
                        unit_scale=True, unit_divisor=1024, mininterval=0.1, ncols=size.columns,
                        nrows=size.lines)

    def advance(self, done_bytes: int, rows: int) -> None:
        """The parser has read ``done_bytes`` and seen ``rows`` rows."""
        self.bar.set_postfix_str(f"{rows:,} rows", refresh=False)
        self.bar.update(done_bytes - self.bar.n)

    def close(self) -> None:
        """Leave the bar's last state on its own line, so the summary starts on a fresh one."""
        self.bar.close()


def orders_import(args: argparse.Namespace, config: Config) -> int:
    """Import an order report CSV."""
    path = Path(args.file)
    if not path.is_file():
        print(f"kocbot: no file {path}", file=sys.stderr)
        return IMPORT_REFUSED
    services = services_for(config)
    try:
        summary = services.order_import.import_csv(path.read_bytes())
    except ServiceError as exc:
        print(f"kocbot: {path}: {exc}", file=sys.stderr)
        return IMPORT_REFUSED
    for line, reason in summary.errors:
        print(f"{path.name}:{line}: {reason}", file=sys.stderr)
    read_as = " (read as GB18030/GBK)" if summary.encoding == "gb18030" else ""
    print(f"orders: {summary.total} rows{read_as}: {summary.created} new, {summary.changed} changed, "
          f"{summary.unchanged} unchanged, {len(summary.errors)} bad; "
          f"{summary.unattributed} of the new unattributed")
    return IMPORT_SOME_BAD if summary.errors else IMPORT_OK


# The output format follows the file's suffix, as an operator expects of ``-o x.webp``.
CARD_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
CARD_SAVE_OPTIONS: dict[str, dict[str, object]] = {"JPEG": {"quality": 90}, "WEBP": {"quality": 90}}


def card_preview(args: argparse.Namespace, config: Config) -> int:
    """Render one product's card to a file."""
    from bot.cards.images import fetch_image
    from bot.cards.render import CardInput, render_card

    out = Path(args.output)
    fmt = CARD_FORMATS.get(out.suffix.lower())
    if fmt is None:
        print(f"kocbot: -o {out}: unknown image type {out.suffix or '(no suffix)'!r}; use "
              f"{', '.join(CARD_FORMATS)}", file=sys.stderr)
        return 2
    services = services_for(config)
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
    from io import BytesIO

    from PIL import Image

    if fmt == "JPEG":
        out.write_bytes(data)  # the renderer's own JPEG: no second lossy pass
    else:
        Image.open(BytesIO(data)).save(out, format=fmt, **CARD_SAVE_OPTIONS.get(fmt, {}))
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
    services = services_for(config)
    return print_report(services, group=args.group, promoter=args.promoter, window=window,
                        fmt=args.format, out=sys.stdout)


def demo(args: argparse.Namespace, config: Config) -> int:
    """Run the offline demo story."""
    from bot.demo import run_demo

    return asyncio.run(run_demo(Path(args.out)))

