"""``kocbot products import`` as a real process: per-line errors, --strict, --deactivate-missing,
and a progress bar only when stdout is a terminal."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from tests.services.test_catalog_import import BAD_ROWS, GOOD
from tests.support.flow import feed_csv


def kocbot(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path.cwd())}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env=env)


def config(tmp_path: Path) -> str:
    path = tmp_path / "config.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "k.db"}"\n')
    return str(path)


def test_every_rule_is_printed_with_file_and_line(tmp_path: Path) -> None:
    feed = tmp_path / "feed.csv"
    feed.write_bytes(feed_csv(GOOD, *(row for row, _ in BAD_ROWS)))
    result = kocbot("products", "import", str(feed), "-c", config(tmp_path), cwd=tmp_path)
    assert result.returncode == 1, result.stderr  # some rows were bad
    lines = result.stderr.splitlines()
    assert len(lines) == len(BAD_ROWS)
    for number, (line, (_, reason)) in enumerate(zip(lines, BAD_ROWS, strict=True), start=3):
        assert line.startswith(f"feed.csv:{number}: {reason}"), line
    assert result.stdout.strip() == f"{len(BAD_ROWS) + 1} rows: 1 new, 0 changed, 0 unchanged, " \
                                    f"{len(BAD_ROWS)} bad"
    assert "\r" not in result.stdout and "|" not in result.stdout  # not a terminal: no progress bar


def test_json_items_strict_and_deactivate_missing(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    feed = tmp_path / "feed.json"
    feed.write_text('[{"merchant":"acme","sku":"J1","title":"T","url":"https://s.example/1",'
                    '"price":"1.00","original_price":"2.00"},'
                    '{"merchant":"acme","sku":"J2","title":"T","url":"https://s.example/2",'
                    '"price":"3.00","original_price":"2.00"}]')
    strict = kocbot("products", "import", str(feed), "--strict", "-c", cfg, cwd=tmp_path)
    assert strict.returncode == 2  # the file was refused
    assert strict.stderr.strip() == "feed.json: item 2: original_price 2.00 is less than price 3.00"
    assert strict.stdout.strip() == "rejected: 1 bad rows, nothing imported (--strict)"
    loose = kocbot("products", "import", str(feed), "-c", cfg, cwd=tmp_path)
    assert "1 new" in loose.stdout
    full = tmp_path / "full.csv"
    full.write_bytes(feed_csv(GOOD))
    kept = kocbot("products", "import", str(full), "-c", cfg, cwd=tmp_path)
    assert kept.stdout.strip() == "1 rows: 1 new, 0 changed, 0 unchanged, 0 bad"
    assert kept.returncode == 0
    gone = kocbot("products", "import", str(full), "--deactivate-missing", "-c", cfg, cwd=tmp_path)
    assert gone.stdout.strip() == "1 rows: 0 new, 0 changed, 1 unchanged, 0 bad; 1 deactivated"


def test_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    feed = tmp_path / "feed.csv"
    feed.write_bytes(feed_csv(*(f"acme,S{i},Row {i},https://s.example/{i},1.00,2.00,1%,home,,,,,,CNY"
                                for i in range(30_000))))
    leader, follower = pty.openpty()
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path.cwd())}
    process = subprocess.Popen([sys.executable, "-m", "bot", "products", "import", str(feed), "-c",
                                config(tmp_path)], cwd=tmp_path, env=env, stdout=follower,
                               stderr=subprocess.PIPE)
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    assert process.wait(timeout=120) == 0
    os.close(leader)
    text = output.decode()
    # tqdm's bar, redrawn in place; a bare pty reports a 0x0 size and still gets one.
    assert "\r100%|" in text and "B/s, 30,000 rows]" in text
    assert text.rstrip().endswith("30000 rows: 30000 new, 0 changed, 0 unchanged, 0 bad")
