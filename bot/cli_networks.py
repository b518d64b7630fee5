"""The command-line additions of the network integrations: ``products import --format google``
and ``networks check NAME``. Registered by bot/cli.py with two calls."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.config import Config


def add_arguments(nested: Callable[..., Any], products_import: argparse.ArgumentParser) -> None:
    """Add ``--format``/``--merchant`` to ``products import`` and the ``networks`` command."""
    products_import.add_argument("--format", choices=["kocbot", "google"], default="kocbot",
                                 help="feed format: kocbot's CSV/JSON (default) or a Google Merchant "
                                      "Center TSV or RSS 2.0 XML feed (docs/NETWORKS.md)")
    products_import.add_argument("--merchant",
                                 help="with --format google: the [merchants.KEY] the items belong to")
    products_import.set_defaults(handler="bot.cli_networks:products_import")
    action = nested("networks", "affiliate network connectors (docs/NETWORKS.md)")
    check = action("check", "bot.cli_networks:networks_check",
                   "check the credentials and the API, one line each")
    check.add_argument("network", choices=["jd"])
    sync = action("sync", "bot.cli_networks:networks_sync",
                  "one round of goods and order rows, as kocbot run does every poll_seconds")
    sync.add_argument("network", choices=["jd"])


def products_import(args: argparse.Namespace, config: Config) -> int:
    """``products import``: a Google feed here, anything else as before."""
    from bot import commands

    if args.format != "google":
        if args.merchant:
            print("kocbot: --merchant is for --format google", file=sys.stderr)
            return 2
        return commands.products_import(args, config)
    if not args.merchant:
        print("kocbot: --format google needs --merchant KEY", file=sys.stderr)
        return 2
    from bot.services.base import ServiceError

    path = Path(args.file)
    if not path.is_file():
        print(f"kocbot: no file {path}", file=sys.stderr)
        return 2
    services = commands.services_for(config)
    try:
        with path.open("rb") as stream:
            result = services.google_feed.run(stream, filename=path.name, merchant=args.merchant,
                                              strict=args.strict)
    except ServiceError as exc:
        print(f"kocbot: {path}: {exc}", file=sys.stderr)
        return 2
    for error in result.errors:
        where = f"{error.line}" if error.unit == "line" else f" {error.unit} {error.line}"
        print(f"{path.name}:{where}: {error.reason}", file=sys.stderr)
    if result.rejected:
        print(f"rejected: {len(result.errors)} bad items, nothing imported (--strict)")
        return 2
    print(f"{result.total} items for {args.merchant}: {result.created} new, {result.updated} changed, "
          f"{result.unchanged} unchanged, {len(result.errors)} bad")
    return 1 if result.errors else 0


def networks_check(args: argparse.Namespace, config: Config) -> int:
    """``networks check jd``: the credentials, then the API, one line each."""
    import asyncio

    from bot.networks import connector_for

    async def check() -> int:
        connector = connector_for(args.network, config)
        try:
            lines = await connector.check()
        finally:
            await connector.aclose()
        for line in lines:
            print(f"{line.what}: {'ok' if line.ok else 'FAILED'}: {line.detail}")
        return 0 if all(line.ok for line in lines) else 1

    return asyncio.run(check())


def networks_sync(args: argparse.Namespace, config: Config) -> int:
    """``networks sync jd``: one round of goods and order rows."""
    import asyncio

    from bot.commands import services_for
    from bot.networks import connector_for
    from bot.networks.sync import NetworkSync

    async def sync() -> int:
        connector = connector_for(args.network, config)
        runner = NetworkSync(connector=connector, services=services_for(config))
        try:
            print(await runner.run_once(keywords=("",)))
        finally:
            await connector.aclose()
        return 0

    return asyncio.run(sync())
