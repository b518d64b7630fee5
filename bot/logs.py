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
            data["exc"] = record.exc_text or self.formatException(record.exc_info)
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


class RedactSecrets(logging.Filter):
    """Replaces known secrets (token, postback secret, database password) in every record."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def _clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            # Format once, then clean: a secret may arrive through msg, args or a traceback.
            record.msg, record.args = self._clean(record.getMessage()), None
            if record.exc_info:
                # Formatters reuse a cached exc_text instead of formatting the traceback again.
                record.exc_text = self._clean(logging.Formatter().formatException(record.exc_info))
            for key in CONTEXT_KEYS:
                value = getattr(record, key, None)
                if isinstance(value, str):
                    setattr(record, key, self._clean(value))
        return True


def redact_secrets(secrets: list[str]) -> None:
    """Mask ``secrets`` in everything the root handlers write."""
    for handler in logging.getLogger().handlers:
        handler.filters = [f for f in handler.filters if not isinstance(f, RedactSecrets)]
        handler.addFilter(RedactSecrets(secrets))
