"""The demo's folder rules on real files: it removes only what it wrote, as it wrote it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.demo_folder import MARKER, FolderRefused, claim, record


def fake_run(out: Path) -> None:
    """What a demo run writes."""
    (out / "cards").mkdir()
    (out / "cards" / "A.jpg").write_bytes(b"card")
    (out / "cache" / "images").mkdir(parents=True)
    (out / "cache" / "images" / "x").write_bytes(b"img")
    (out / "demo.db").write_bytes(b"db")


def test_a_new_folder_is_made_and_marked_and_the_next_run_clears_only_its_files(tmp_path: Path) -> None:
    out = tmp_path / "a" / "demo"
    first = claim(out)
    fake_run(out)
    record(first)
    listed = json.loads((out / MARKER).read_text())
    assert sorted(listed["files"]) == ["cache/images/x", "cards/A.jpg", "demo.db"]
    assert sorted(listed["folders"]) == ["cache", "cache/images", "cards"]
    (out / "mine.txt").write_text("mine")
    (out / "my-empty-folder").mkdir()
    second = claim(out)
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "mine.txt", "my-empty-folder"]
    fake_run(out)
    record(second)
    listed = json.loads((out / MARKER).read_text())
    assert "mine.txt" not in listed["files"] and "my-empty-folder" not in listed["folders"]
    claim(out)  # a third run: the folder of mine, empty as it is, stays
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "mine.txt", "my-empty-folder"]


def test_an_empty_folder_is_taken(tmp_path: Path) -> None:
    claim(tmp_path)
    assert (tmp_path / MARKER).is_file()


@pytest.mark.parametrize("setup, reason", [
    (lambda out: (out / "x.txt").write_text("x"), "not empty and no earlier demo made it"),
    (lambda out: (out / "demo.db").unlink() or (out / "demo.db").write_bytes(b"mine, same size?"),
     "changed since the demo wrote it"),
    (lambda out: (out / "cards" / "mine.jpg").write_bytes(b"mine"), "mine.jpg was not written by the demo"),
    (lambda out: (out / "demo.db-wal").write_bytes(b"?"), "demo.db-wal was not written by the demo"),
    (lambda out: (out / MARKER).write_text("{not json"), "unreadable"),
])
def test_refusals_change_nothing(tmp_path: Path, setup, reason: str) -> None:
    out = tmp_path / "demo"
    if "not empty" in reason:
        out.mkdir()
    else:
        done = claim(out)
        fake_run(out)
        record(done)
    setup(out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(FolderRefused, match=reason) as info:
        claim(out)
    assert "\n" not in str(info.value)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_a_listed_path_outside_the_folder_is_never_removed(tmp_path: Path) -> None:
    out, victim = tmp_path / "demo", tmp_path / "victim.txt"
    victim.write_text("keep")
    claim(out)
    stat = victim.stat()
    entry = [stat.st_size, stat.st_mtime_ns]
    (out / MARKER).write_text(json.dumps({"files": {"../victim.txt": entry, str(victim): entry},
                                          "folders": ["..", str(tmp_path)]}))
    claim(out)
    assert victim.read_text() == "keep" and out.is_dir()


def test_a_file_where_the_folder_should_be_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "demo-out"
    target.write_text("a file")
    with pytest.raises(FolderRefused, match="is a file"):
        claim(target)
    assert target.read_text() == "a file"


def test_a_folder_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(FolderRefused, match="cannot create") as info:
        claim(tmp_path / "a-file" / "demo")
    assert "\n" not in str(info.value)
