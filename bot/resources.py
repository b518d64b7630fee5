"""Where the templates and migrations are, in a source checkout and in an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _find(installed: str, source: str) -> Path:
    # A wheel carries the folders inside the package (see pyproject's force-include);
    # a checkout or an editable install has them beside the package.
    inside = _PACKAGE / installed
    return inside if inside.is_dir() else _PACKAGE.parent / source


def templates_dir() -> Path:
    """The folder of Jinja2 templates (one subfolder per locale, plus web/)."""
    return _find("_templates", "templates")


def migrations_dir() -> Path:
    """The Alembic script folder."""
    return _find("_migrations", "migrations")
