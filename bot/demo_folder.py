"""The folder ``kocbot demo --out DIR`` writes into, and the promise it keeps: the demo never
deletes what it did not write.

A run takes a new folder, an empty one, or one that an earlier run marked as its own. The
marker lists every file (with its size and modification time) and folder that run wrote; the
next run removes exactly those, when they are still as the demo left them, and nothing else:
a file someone put beside them, or changed since, survives. Any other non-empty folder is
refused before anything in it is touched.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

MARKER = ".kocbot-demo"
# What a run writes at the top of the folder: a file of the same name that the demo did not
# write would be overwritten, so its presence is a refusal, not a cleanup.
OWN_NAMES = ("demo.db", "demo.db-journal", "demo.db-wal", "demo.db-shm", "cards", "cache")


class FolderRefused(Exception):
    """The folder cannot be used; the message is one line for the operator."""


@dataclass
class Claim:
    """A folder made ready for one run, with what was there before it (not the demo's)."""

    out: Path
    files_before: set[str] = field(default_factory=set)
    folders_before: set[str] = field(default_factory=set)


def claim(out: Path) -> Claim:
    """Make ``out`` ready for a run: create it, or clear what an earlier run listed."""
    if out.exists() and not out.is_dir():
        raise FolderRefused(f"{out} is a file, not a folder; choose another --out")
    if not out.exists():
        try:
            out.mkdir(parents=True)
        except OSError as exc:
            raise FolderRefused(f"cannot create {out}: {exc.strerror}") from None
        _write_marker(out, files={}, folders=[])
        return Claim(out)
    marker = out / MARKER
    if not marker.is_file():
        if any(out.iterdir()):
            raise FolderRefused(f"{out} is not empty and no earlier demo made it; "
                                "choose another --out (nothing was changed)")
        _write_marker(out, files={}, folders=[])
        return Claim(out)
    files, folders = _read_marker(marker)
    foreign = sorted(rel for rel in _tree(out)[0] - set(files) - {MARKER} if rel.split("/")[0] in OWN_NAMES)
    if foreign:
        raise FolderRefused(f"{out / foreign[0]} was not written by the demo; move it or choose "
                            "another --out (nothing was changed)")
    changed = _remove_listed(out, files, folders)
    if changed:
        raise FolderRefused(f"{out / changed[0]} changed since the demo wrote it; move it or choose "
                            "another --out (nothing was changed)")
    # Left after the cleanup (a link, say): the run would write into or over it.
    clash = [name for name in OWN_NAMES if (out / name).exists() or (out / name).is_symlink()]
    if clash:
        raise FolderRefused(f"{out / clash[0]} holds what the demo did not write; move it or "
                            "choose another --out (nothing of yours was changed)")
    files_before, folders_before = _tree(out)
    return Claim(out, files_before, folders_before)


def record(claim: Claim) -> None:
    """List in the marker what this run wrote: everything that is new since ``claim``."""
    files, folders = _tree(claim.out)
    written = {}
    for rel in sorted(files - claim.files_before - {MARKER}):
        stat = (claim.out / rel).lstat()
        written[rel] = [stat.st_size, stat.st_mtime_ns]
    _write_marker(claim.out, files=written, folders=sorted(folders - claim.folders_before))


def _tree(out: Path) -> tuple[set[str], set[str]]:
    """Relative paths of the files and of the folders under ``out`` (links are not followed)."""
    files: set[str] = set()
    folders: set[str] = set()
    for root, dirs, names in os.walk(out):
        base = Path(root).relative_to(out)
        folders.update((base / d).as_posix() for d in dirs)
        files.update((base / n).as_posix() for n in names)
    return files, folders


def _inside(out: Path, rel: str) -> Path | None:
    """``out / rel`` when ``rel`` is a plain relative path that stays inside ``out``."""
    path = Path(rel)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        return None
    target = out / path
    parent = target.parent.resolve()
    root = out.resolve()
    return target if parent == root or root in parent.parents else None


def _remove_listed(out: Path, files: dict[str, list[int]], folders: list[str]) -> list[str]:
    """Remove the listed files if all are as the demo left them; else remove nothing and
    return the changed ones."""
    present: list[Path] = []
    changed: list[str] = []
    for rel, (size, mtime_ns) in files.items():
        target = _inside(out, rel)
        if target is None or not (target.is_symlink() or target.is_file()):
            continue
        stat = target.lstat()
        if (stat.st_size, stat.st_mtime_ns) != (size, mtime_ns):
            changed.append(rel)
        present.append(target)
    if changed:
        return changed
    for target in present:
        target.unlink()
    # Deepest first; a folder that holds anything else (someone's file) stays.
    for rel in sorted(folders, key=lambda r: r.count("/"), reverse=True):
        target = _inside(out, rel)
        if target is not None and target.is_dir() and not target.is_symlink() and not any(target.iterdir()):
            target.rmdir()
    return []


def _read_marker(marker: Path) -> tuple[dict[str, list[int]], list[str]]:
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
        files, folders = data["files"], data["folders"]
        if not (isinstance(files, dict) and isinstance(folders, list)
                and all(isinstance(x, str) for x in folders)
                and all(isinstance(v, list) and len(v) == 2 and all(isinstance(n, int) for n in v)
                        for v in files.values())):
            raise ValueError("not a list of paths")
    except (OSError, ValueError, KeyError, TypeError):
        raise FolderRefused(f"{marker} is unreadable, so what the last demo wrote is unknown; "
                            "choose another --out") from None
    return files, folders


def _write_marker(out: Path, *, files: dict[str, list[int]], folders: list[str]) -> None:
    body = {"written_by": "kocbot demo", "note": "the next `kocbot demo --out` here removes "
            "only these files and folders", "files": files, "folders": folders}
    (out / MARKER).write_text(json.dumps(body, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
