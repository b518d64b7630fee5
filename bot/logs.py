"""Structured logs: one line per event, with the group, post, order and user it concerns."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

CONTEXT_KEYS = ("group", "old_group", "post", "order", "user", "product", "slot", "status", "count",
                "error", "bot", "mode", "role", "claimed", "recovered", "listen", "public_url", "database")


class JsonLines(logging.Formatter):
    """Formats a record as one JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key in CONTEXT_KEYS:
            if hasattr(record, key):
                data[key] = getattr(record, key)
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def setup_logging(*, json_lines: bool, level: int | None = None) -> None:
    """JSON lines for ``kocbot run`` (INFO by default); terse text, WARNING by default, otherwise."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines() if json_lines else logging.Formatter("%(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    if level is None:
        level = logging.INFO if json_lines else logging.WARNING
    root.setLevel(level)
    # httpx logs every request at INFO; that is noise at our volumes.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # Alembic announces each of its plugins and its DDL mode at INFO on every start; an operator
    # cannot act on any of it (--log-level debug shows it). Migration errors still raise.
    logging.getLogger("alembic").setLevel(level if level <= logging.DEBUG else logging.WARNING)
