"""Feed import through the import service into a real database: 100,000 rows, first import
(all inserts) and re-import (all updates), on SQLite and, when a URL is given, PostgreSQL.

Baseline in the same run: parsing the same file with iter_feed and writing nothing.
Run: python bench/bench_import.py [rows] [--pg postgresql+psycopg://…/db]. Each measurement
runs in its own child process, so ru_maxrss is its own peak memory. Prints; asserts nothing.
The PostgreSQL database's public schema is dropped and re-created: give it a scratch one.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_feed import generate_feed  # noqa: E402


def _fresh(url: str) -> None:
    from bot.storage.db import upgrade
    from tests.support.databases import fresh_postgres

    if url.startswith("sqlite"):
        upgrade(url)
    else:
        fresh_postgres(url)  # wipes the schema and migrates it


def _child(kind: str, path: Path, url: str) -> dict[str, object]:
    """One measurement in this process."""
    from datetime import UTC, datetime

    from bot.config import parse_config
    from bot.domain.feed import RowError, iter_feed
    from bot.services.container import Services
    from bot.storage.db import Database

    start = time.perf_counter()
    if kind == "parse":
        good = bad = 0
        with path.open("rb") as stream:
            for _, item in iter_feed(stream, filename=path.name, default_currency="CNY"):
                bad += isinstance(item, RowError)
                good += not isinstance(item, RowError)
        summary = f"{good} rows, {bad} errors"
    else:
        services = Services(config=parse_config({"database": {"url": url}}, env={}),
                            db=Database.from_url(url), now=lambda: datetime(2026, 1, 1, tzinfo=UTC))
        with path.open("rb") as stream:
            result = services.catalog.import_feed(stream, filename=path.name)
        summary = f"{result.created} new, {result.updated} updated, {len(result.errors)} errors"
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "maxrss_mib": rss, "summary": summary}


def _run(kind: str, path: Path, url: str) -> dict[str, object]:
    out = subprocess.check_output([sys.executable, __file__, "--one", kind, str(path), url], text=True)
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    """Generate the feed, then measure parse-only and the imports, each in a child process."""
    args = sys.argv[1:]
    pg = None
    if "--pg" in args:
        pg = args[args.index("--pg") + 1]
        del args[args.index("--pg"):args.index("--pg") + 2]
    rows = int(args[0]) if args else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "feed.csv"
        generate_feed(path, rows)
        print(f"feed: {rows:,} rows, {path.stat().st_size / 2**20:.1f} MiB")
        empty = json.loads(subprocess.check_output([sys.executable, __file__, "--empty"], text=True))
        print(f"empty child process (imports loaded): ru_maxrss {empty['maxrss_mib']:.1f} MiB")
        targets = [("sqlite", f"sqlite:///{Path(tmp) / 'bench.db'}")] + ([("postgres", pg)] if pg else [])
        print(f"{'':34} {'seconds':>8} {'rows/s':>9} {'ru_maxrss':>10}")
        base = _run("parse", path, "")
        print(f"{'parse only, iter_feed (baseline)':34} {base['seconds']:8.2f} "
              f"{rows / base['seconds']:9,.0f} {base['maxrss_mib']:6.1f} MiB   {base['summary']}")
        for name, url in targets:
            _fresh(url)
            for label in ("first import", "re-import"):
                r = _run("import", path, url)
                print(f"{f'{name}: {label}':34} {r['seconds']:8.2f} {rows / r['seconds']:9,.0f} "
                      f"{r['maxrss_mib']:6.1f} MiB   {r['summary']}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        print(json.dumps(_child(sys.argv[2], Path(sys.argv[3]), sys.argv[4])))
    elif len(sys.argv) > 1 and sys.argv[1] == "--empty":
        import bot.services.container  # noqa: F401 - the same imports as an import child

        print(json.dumps({"maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
    else:
        main()
