"""`python -m bot admin-user add|list|disable|enable|password`: logins for the web admin and web inbox."""

from __future__ import annotations

import getpass
import sys
from typing import Optional

import typer

from bot.cli_support import actor, area_code, fail, open_areas, open_database
from bot.relay.cli import check_role

admin_user_app = typer.Typer(help="Web admin and web inbox logins (served under /admin by `run`).", no_args_is_help=True)


def _read_password() -> str:
    """Prompted twice on a terminal; otherwise the first line of stdin (for scripts)."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        fail("the passwords differ")
    return first


def _account(s, name: str):
    from bot.webadmin.auth import find_account

    return find_account(s, name) or fail(f"no account {name!r}", 1)


@admin_user_app.command("add")
def add(
    name: str = typer.Argument(..., help="Login name: letters, digits, '.', '_' or '-'."),
    role: str = typer.Option(..., "--role", help="admin (everything) or team (the inbox of its areas)."),
    area: Optional[list[str]] = typer.Option(None, "--area", help="A team member's area (repeatable; default all)."),
) -> None:
    """Create a login; the password is prompted for (or read from stdin)."""
    from bot.webadmin.auth import AccountError, create_account

    check_role(role)
    areas = open_areas()
    codes = [area_code(areas, a) for a in area or []]
    password = _read_password()
    try:
        with open_database().session() as s:
            create_account(s, name, password, role, codes, actor())
    except AccountError as exc:
        fail(str(exc))
    typer.echo(f"created: {name.strip().lower()} ({role} {', '.join(codes) or 'all'})")


@admin_user_app.command("list")
def list_accounts() -> None:
    """Every login: name, role, areas, disabled or not, last login."""
    from sqlalchemy import select

    from bot.relay import roles
    from bot.storage.models import User
    from bot.webadmin.models import WebAccount

    with open_database().session() as s:
        for account in s.scalars(select(WebAccount).order_by(WebAccount.name)):
            user = s.get(User, account.user_id)
            state = "disabled" if account.disabled else "active"
            last = f"{account.last_login_at:%Y-%m-%d %H:%M}" if account.last_login_at else "never"
            typer.echo(f"{account.name}\t{roles.role_of(s, user)}\t{','.join(roles.areas_of(s, user))}\t{state}\tlast login {last}")


@admin_user_app.command("disable")
def disable(name: str = typer.Argument(...)) -> None:
    """Refuse this login from now on (its open sessions end)."""
    from bot.webadmin.auth import set_disabled

    with open_database().session() as s:
        set_disabled(s, _account(s, name), True, actor())
    typer.echo(f"disabled: {name}")


@admin_user_app.command("enable")
def enable(name: str = typer.Argument(...)) -> None:
    """Allow a disabled login again."""
    from bot.webadmin.auth import set_disabled

    with open_database().session() as s:
        set_disabled(s, _account(s, name), False, actor())
    typer.echo(f"enabled: {name}")


@admin_user_app.command("password")
def password(name: str = typer.Argument(...)) -> None:
    """Set a new password (prompted, or read from stdin); ends the account's sessions and lockout."""
    from bot.webadmin.auth import AccountError, set_password

    new = _read_password()
    try:
        with open_database().session() as s:
            set_password(s, _account(s, name), new, actor())
    except AccountError as exc:
        fail(str(exc))
    typer.echo(f"password changed: {name}")
