"""The `products import` progress bar: drawn on a terminal, silent when stdout is a pipe."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

from tests.support.flow import feed_csv


def setup(tmp_path: Path) -> tuple[Path, Path]:
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "k.db"}"\n')
    feed = tmp_path / "feed.csv"
    feed.write_bytes(feed_csv(*(f"acme,P{n},Product {n},https://shop.example/{n},10.00,12.00,10%,home,,,,,,CNY"
                                for n in range(3000))))
    return config, feed


def command(config: Path, feed: Path) -> list[str]:
    return [sys.executable, "-m", "bot", "products", "import", str(feed), "-c", str(config)]


def env() -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path.cwd()), "TERM": "xterm"}


def test_piped_output_is_the_summary_only(tmp_path: Path) -> None:
    config, feed = setup(tmp_path)
    result = subprocess.run(command(config, feed), cwd=tmp_path, capture_output=True, text=True,
                            timeout=120, env=env())
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stdout and "rows]" not in result.stdout and "|" not in result.stdout
    assert result.stdout.splitlines()[-1].startswith("imported 3000 rows")
    assert result.stderr == ""


def test_a_terminal_gets_a_bar_then_the_summary_on_its_own_line(tmp_path: Path) -> None:
    config, feed = setup(tmp_path)
    leader, follower = pty.openpty()
    process = subprocess.Popen(command(config, feed), cwd=tmp_path, stdout=follower,
                               stderr=subprocess.PIPE, env=env())
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the other end closed (EIO on Linux)
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(timeout=120) == 0, process.stderr.read() if process.stderr else ""
    screen = b"".join(chunks).decode()
    lines = screen.replace("\r\n", "\n").split("\n")
    bar = next(line for line in lines if "100%" in line)
    assert "3,000 rows" in bar and "|" in bar
    summary = [line for line in lines if line.startswith("imported")]
    assert summary and summary[0].startswith("imported 3000 rows")
