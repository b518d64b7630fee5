"""A one-line terminal progress bar for long imports, drawn with plain carriage returns."""

from __future__ import annotations

import time
from typing import TextIO

WIDTH = 30


class ProgressBar:
    """Redraws ``[#####.....] 42%  12,000 rows`` in place; silent unless ``out`` is a terminal."""

    def __init__(self, out: TextIO, total_bytes: int, *, min_interval: float = 0.1) -> None:
        self.out = out
        self.total = max(total_bytes, 1)
        self.enabled = out.isatty()
        self.min_interval = min_interval
        self._last = 0.0
        self._drawn = False

    def __call__(self, done_bytes: int, rows: int) -> None:
        """Draw the bar for this many bytes read and rows seen (rate-limited)."""
        now = time.monotonic()
        finished = done_bytes >= self.total
        if not self.enabled or (now - self._last < self.min_interval and not finished):
            return
        self._last = now
        share = min(done_bytes / self.total, 1.0)
        filled = int(share * WIDTH)
        self.out.write(f"\r[{'#' * filled}{'.' * (WIDTH - filled)}] {share:4.0%}  {rows:,} rows")
        self.out.flush()
        self._drawn = True

    def close(self) -> None:
        """End the bar's line so the summary starts on a fresh one."""
        if self._drawn:
            self.out.write("\n")
            self.out.flush()
