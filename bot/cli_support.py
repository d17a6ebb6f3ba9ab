"""What the admin command lines share: who is acting, and the configured database."""

from __future__ import annotations

import getpass
from typing import NoReturn

import typer


def actor() -> str:
    """`cli:<login>` for the audit log and FAQ versions."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name in some containers
        return "cli"


def open_database():
    """The configured database (migrated to every head)."""
    from bot.config import get_settings
    from bot.storage.db import Database

    return Database.from_settings(get_settings())


def open_areas():
    from bot.areas import load_areas
    from bot.config import get_settings

    return load_areas(get_settings().knowledge_dir / "areas.yaml")


def area_code(areas, area: str) -> str:
    """--area: the code of an area of knowledge/areas.yaml (or 'all'), or fail."""
    from bot.areas import area_code as find

    code = find(areas, area)
    if code is None:
        fail(f"unknown area {area!r}; use a code from knowledge/areas.yaml (e.g. dien-bien) or 'all'")
    return code


def fail(message: str, code: int = 2) -> NoReturn:
    """Print `error: message` on stderr and exit with `code` (2: bad input, 1: nothing to act on)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)
