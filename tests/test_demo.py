"""``kocbot demo`` as an operator runs it: a real process, a real folder, twice."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
from pathlib import Path

from bot.demo_folder import MARKER


def demo(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    # No KOCBOT_* variable and another working folder: what the README's command sees.
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path.cwd())}
    return subprocess.run([sys.executable, "-m", "bot", "demo", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=180, env=env)


def test_demo_runs_twice_without_a_warning_and_keeps_a_file_it_did_not_write(tmp_path: Path) -> None:
    # A running bot holds the default /metrics port; the demo needs no such listener.
    with socket.socket() as busy:
        with contextlib.suppress(OSError):  # already held by someone else: the same situation
            busy.bind(("127.0.0.1", 9464))
            busy.listen()
        first = demo(cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stderr == ""  # no warning, no log line: only the story, on stdout
    out = tmp_path / "demo-out"
    assert (out / "demo.db").is_file() and (out / "cards" / "report-chart.png").is_file()
    story = first.stdout
    assert "default 5" in story  # the lowered tier threshold is said, not hidden
    assert "{1001" not in story and "'mentor'}" not in story  # no raw dict
    assert "💸 admin: 💸" not in story and story.count("💸") == 1
    assert "/payout @xiaopan 10.00" in story and "Paid ¥10.00 to @xiaopan (1002)" in story
    assert "宝妈好物群 —— 全部时间" in story and "—— all" not in story

    (out / "notes.txt").write_text("mine")
    (out / "cards" / "my-photo.jpg").write_bytes(b"not the demo's")
    again = demo("--out", "demo-out", cwd=tmp_path)
    # cards/ holds a file of mine, so the demo cannot write its cards there: refused, and kept.
    assert again.returncode == 2
    assert again.stderr.splitlines() == [f"kocbot: {Path('demo-out/cards/my-photo.jpg')} was not written by "
                                         "the demo; move it or choose another --out (nothing was changed)"]
    assert (out / "demo.db").is_file() and (out / "notes.txt").is_file()
    assert (out / "cards" / "my-photo.jpg").read_bytes() == b"not the demo's"
    (out / "cards" / "my-photo.jpg").unlink()

    third = demo("--out", "demo-out", cwd=tmp_path)
    assert third.returncode == 0, third.stderr
    assert third.stderr == ""
    assert (out / "notes.txt").read_text() == "mine"
    listed = json.loads((out / MARKER).read_text())["files"]
    assert "demo.db" in listed and "notes.txt" not in listed


def test_demo_refuses_a_non_empty_folder_it_did_not_make(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "keep.txt").write_text("precious")
    result = demo("--out", str(folder), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [f"kocbot: {folder} is not empty and no earlier demo made it; "
                                          "choose another --out (nothing was changed)"]
    assert [p.name for p in folder.iterdir()] == ["keep.txt"]
    assert (folder / "keep.txt").read_text() == "precious"
