"""Feed import speed and memory: iter_feed over a 100,000-row CSV vs plain csv.DictReader, and
over the same rows as JSON, where the item splitter (jsonstream) is also timed alone, beside
ijson's when ijson is importable (it is not a dependency: this is how the choice was measured).

Run: python bench/bench_feed.py [rows]. Each measurement runs in a fresh child process so
that its ru_maxrss (peak resident memory) is its own. Prints figures; asserts nothing.

Google Merchant Center feeds: python bench/bench_feed.py --google [items] measures
iter_google_feed over a TSV and an RSS 2.0 XML feed of the same items, against plain
csv.reader and the stdlib's (unguarded) ElementTree.iterparse as baselines.
"""

from __future__ import annotations

import csv
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.domain.feed import FIELDS, iter_feed  # noqa: E402
from tests.support.feed import parse_feed  # noqa: E402

CATEGORIES = [f"category-{i}" for i in range(30)]


def generate_feed(path: Path, n: int, *, seed: int = 1) -> None:
    """Write a realistic CSV feed of ``n`` rows (about 2% of them invalid) to ``path``."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(FIELDS)
        for i in range(n):
            original = rng.randint(500, 200_000)
            price = rng.randint(100, original)
            day = rng.randint(1, 28)
            row = [
                f"merchant-{i % 50}", f"SKU-{i:07d}",
                f"商品 {i} — a fairly typical product title, with a comma",
                f"https://shop{i % 50}.example.com/item/{i}?ref=feed",
                f"{price // 100}.{price % 100:02d}", f"{original // 100}.{original % 100:02d}",
                rng.choice(["0.08", "12%", "0.15", "20%", "0.05"]),
                rng.choice(CATEGORIES), f"https://img.example.com/{i}.jpg",
                f"2024-05-{day:02d}T09:00:00+08:00", f"2030-06-{day:02d}",
                rng.choice(["", "0", "10", "250"]), rng.choice(["", "", "", "yes", "no"]), "",
            ]
            if rng.random() < 0.02:  # some bad rows, as real feeds have
                row[4] = rng.choice(["free", "-1", "1.999", ""])
            writer.writerow(row)


def _run_iter_feed(path: Path) -> str:
    good = bad = 0
    with path.open("rb") as stream:
        for _, item in iter_feed(stream, filename=path.name, default_currency="CNY"):
            if hasattr(item, "reason"):
                bad += 1
            else:
                good += 1
    return f"{good} rows, {bad} errors"


def _run_parse_feed(path: Path) -> str:
    result = parse_feed(path.read_bytes(), filename=path.name, default_currency="CNY")
    return f"{len(result.rows)} rows, {len(result.errors)} errors"


def _json_path(path: Path) -> Path:
    """The same feed as a JSON list of objects, written once beside the CSV."""
    json_path = path.with_suffix(".json")
    if not json_path.exists():
        # Row by row: holding the list would raise the ru_maxrss that child processes inherit.
        with path.open(encoding="utf-8", newline="") as text, \
                json_path.open("w", encoding="utf-8") as out:
            out.write("[")
            for number, row in enumerate(csv.DictReader(text)):
                out.write(("," if number else "") + json.dumps(row, ensure_ascii=False))
            out.write("]")
    return json_path


def _run_iter_feed_json(path: Path) -> str:
    return _run_iter_feed(_json_path(path))


def _run_jsonstream(path: Path) -> str:
    import io

    from bot.domain.feed.jsonstream import json_items

    with _json_path(path).open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
        return f"{sum(1 for _ in json_items(text))} items"


def _run_ijson(path: Path) -> str:
    import ijson

    with _json_path(path).open("rb") as raw:
        return f"{sum(1 for _ in ijson.items(raw, 'item', use_float=False))} items"


def _run_dictreader(path: Path) -> str:
    count = 0
    with path.open(encoding="utf-8", newline="") as text:
        for _ in csv.DictReader(text):
            count += 1
    return f"{count} rows"


def _run_google(path: Path) -> str:
    from decimal import Decimal

    from bot.domain.google_feed import iter_google_feed

    good = bad = 0
    with path.open("rb") as stream:
        for _, item in iter_google_feed(stream, filename=path.name, merchant="shop",
                                        commission_rate=Decimal("0.06"), default_currency="CNY"):
            if hasattr(item, "reason"):
                bad += 1
            else:
                good += 1
    return f"{good} items, {bad} errors"


def _run_tsv_reader(path: Path) -> str:
    with path.open(encoding="utf-8", newline="") as text:
        count = sum(1 for _ in csv.reader(text, delimiter="\t")) - 1
    return f"{count} items"


def _run_stdlib_iterparse(path: Path) -> str:
    import xml.etree.ElementTree as ET  # noqa: S405 - the unguarded baseline, on our own file

    count = 0
    for _, elem in ET.iterparse(path, events=("end",)):  # noqa: S314
        if elem.tag == "item":
            count += 1
            elem.clear()
    return f"{count} items"


RUNNERS: dict[str, Callable[[Path], str]] = {
    "csv.DictReader (baseline)": _run_dictreader,
    "iter_feed (streaming)": _run_iter_feed,
    "parse_feed (whole file in memory)": _run_parse_feed,
    "iter_feed JSON (streaming)": _run_iter_feed_json,
    "jsonstream items only": _run_jsonstream,
    "TSV csv.reader (baseline)": _run_tsv_reader,
    "iter_google_feed TSV": _run_google,
    "XML stdlib iterparse (baseline)": _run_stdlib_iterparse,
    "iter_google_feed XML (defusedxml)": _run_google,
}
CSV_RUNNERS = list(RUNNERS)[:5]
try:
    import ijson  # noqa: F401
    RUNNERS["ijson.items only (comparison)"] = _run_ijson
    CSV_RUNNERS.append("ijson.items only (comparison)")
except ImportError:
    pass


def _measure(name: str, path: Path) -> dict[str, object]:
    """One runner in this process: wall time, then tracemalloc peak in a second pass."""
    runner = RUNNERS[name]
    start = time.perf_counter()
    summary = runner(path)
    seconds = time.perf_counter() - start
    maxrss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    tracemalloc.start()
    runner(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"seconds": seconds, "peak_mib": peak / 2**20, "maxrss_mib": maxrss_kib / 1024,
            "summary": summary}


def main() -> None:
    """Generate the feed, then measure every runner in its own child process."""
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "feed.csv"
        start = time.perf_counter()
        generate_feed(path, rows)
        print(f"generated {rows:,} rows, {path.stat().st_size / 2**20:.1f} MiB "
              f"in {time.perf_counter() - start:.2f} s")
        baseline_empty = json.loads(subprocess.check_output(
            [sys.executable, __file__, "--empty"], text=True))
        print(f"empty child process: ru_maxrss {baseline_empty['maxrss_mib']:.1f} MiB")
        _json_path(path)
        results = {}
        for name in CSV_RUNNERS:
            out = subprocess.check_output([sys.executable, __file__, "--one", name, str(path)],
                                          text=True)
            results[name] = json.loads(out)
        base = results["csv.DictReader (baseline)"]["seconds"]
        print(f"{'':36} {'seconds':>8} {'×base':>6} {'rows/s':>9} {'tracemalloc':>12} "
              f"{'ru_maxrss':>10}")
        for name, r in results.items():
            print(f"{name:36} {r['seconds']:8.2f} {r['seconds'] / base:6.1f} "
                  f"{rows / r['seconds']:9,.0f} {r['peak_mib']:9.1f} MiB "
                  f"{r['maxrss_mib']:6.1f} MiB   {r['summary']}")


def google(items: int) -> None:
    """Generate one Google feed as TSV and as XML, then measure each runner in a child."""
    with tempfile.TemporaryDirectory() as tmp:
        tsv, xml = Path(tmp) / "feed.tsv", Path(tmp) / "feed.xml"
        # In a child: the items in memory would otherwise count in every later child's
        # ru_maxrss (Linux carries the parent's peak across fork and exec).
        subprocess.check_call([sys.executable, __file__, "--generate-google", str(items), tmp])
        for label, path, names in (
            ("TSV", tsv, ["TSV csv.reader (baseline)", "iter_google_feed TSV"]),
            ("XML", xml, ["XML stdlib iterparse (baseline)", "iter_google_feed XML (defusedxml)"]),
        ):
            print(f"{label}: {items:,} items, {path.stat().st_size / 2**20:.1f} MiB")
            results = {name: json.loads(subprocess.check_output(
                [sys.executable, __file__, "--one", name, str(path)], text=True)) for name in names}
            base = results[names[0]]["seconds"]
            for name, r in results.items():
                print(f"  {name:36} {r['seconds']:7.2f} s {r['seconds'] / base:5.1f}x "
                      f"{items / r['seconds']:9,.0f} items/s {r['peak_mib']:7.1f} MiB tracemalloc "
                      f"{r['maxrss_mib']:6.1f} MiB ru_maxrss   {r['summary']}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--generate-google":
        from tests.support.google_feeds import items as make_items
        from tests.support.google_feeds import write_tsv, write_xml

        generated = make_items(int(sys.argv[2]), bad_every=50)  # 2% bad items
        write_tsv(Path(sys.argv[3]) / "feed.tsv", generated)
        write_xml(Path(sys.argv[3]) / "feed.xml", generated)
    elif len(sys.argv) > 1 and sys.argv[1] == "--google":
        google(int(sys.argv[2]) if len(sys.argv) > 2 else 100_000)
    elif len(sys.argv) > 1 and sys.argv[1] == "--one":
        print(json.dumps(_measure(sys.argv[2], Path(sys.argv[3]))))
    elif len(sys.argv) > 1 and sys.argv[1] == "--empty":
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(json.dumps({"maxrss_mib": rss / 1024}))
    else:
        main()
