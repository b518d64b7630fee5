"""Infrastructure failures as one line that names the fix, for the command line.

A database that refuses connections, a missing driver, an unwritable path or an unreachable
Telegram are the operator's to fix, and a traceback hides the one fact they need.
"""

from __future__ import annotations

import errno

from sqlalchemy.engine import make_url


def explain(exc: BaseException) -> str | None:
    """One line for a known infrastructure failure, or None (then the caller re-raises)."""
    for cause in _chain(exc):
        for check in (_schema, _missing_driver, _database, _telegram, _os_error):
            message = check(cause)
            if message:
                return message
    return None


def masked(url: str) -> str:
    """A database URL with its password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL: show nothing of it rather than a secret
        return "(unparsable URL)"


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0].strip() if text.strip() else ""


def _schema(exc: BaseException) -> str | None:
    from bot.storage.db import SchemaNotCurrent

    return str(exc) if isinstance(exc, SchemaNotCurrent) else None


def _missing_driver(exc: BaseException) -> str | None:
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] in {"psycopg", "psycopg2"}:
        return "the PostgreSQL driver is not installed: install kocbot[postgres] " \
               "(pip install \"kocbot[postgres]\")"
    return None


def _database(exc: BaseException) -> str | None:
    from sqlalchemy.exc import DBAPIError

    if not isinstance(exc, DBAPIError) or exc.orig is None:
        return None
    reason = _first_line(str(exc.orig))
    module = type(exc.orig).__module__
    if module.startswith("sqlite3"):
        if "unable to open database file" in reason or "readonly database" in reason:
            return (f"cannot write the SQLite database ({reason}): make sure the folder in "
                    "database.url exists and this user may write to it")
        return None
    if module.startswith("psycopg") and type(exc.orig).__name__ == "OperationalError":
        return f"cannot connect to PostgreSQL ({reason}): start the server or fix database.url"
    return None


def _telegram(exc: BaseException) -> str | None:
    try:
        from telegram.error import InvalidToken, NetworkError
    except ImportError:  # pragma: no cover - telegram is a dependency
        return None
    if isinstance(exc, InvalidToken):
        return "Telegram rejected telegram.token: copy the token again from @BotFather"
    if isinstance(exc, NetworkError):
        return (f"cannot reach the Telegram Bot API ({_first_line(str(exc))}): check the network, "
                "a proxy, or telegram.base_url")
    return None


def _os_error(exc: BaseException) -> str | None:
    if not isinstance(exc, OSError) or isinstance(exc, ConnectionError):
        return None
    if exc.errno == errno.EADDRINUSE:
        return (f"{exc.filename or 'the port'} is already in use: stop the other process, or change "
                "web.port or metrics.port")
    if exc.errno in (errno.EACCES, errno.EROFS, errno.ENOENT, errno.ENOSPC) and exc.filename:
        return f"{exc.filename}: {exc.strerror}"
    return None
