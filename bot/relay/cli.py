"""`python -m bot role grant|revoke|list`: manage team members and admins from the server (the first admin too)."""

from __future__ import annotations

import getpass
from typing import Optional

import typer

from bot.config import get_settings

role_app = typer.Typer(help="Grant and revoke team and admin roles.", no_args_is_help=True)

ChannelOption = typer.Option(..., "--channel", help="telegram, zalo or web.")
UserOption = typer.Option(..., "--user-id", help="The person's id on that channel (Telegram: their numeric user id).")


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name in some containers
        return "cli"


def _open():
    from bot.areas import load_areas
    from bot.storage.db import Database

    settings = get_settings()
    return Database(settings.database_url), load_areas(settings.knowledge_dir / "areas.yaml")


def _check_role(role: str) -> str:
    from bot.relay.roles import ROLES

    if role not in ROLES:
        typer.echo(f"error: --role must be one of {', '.join(ROLES)}", err=True)
        raise typer.Exit(2)
    return role


def _area(areas, area: str) -> str:
    from bot.relay.roles import area_code

    code = area_code(areas, area)
    if code is None:
        typer.echo(f"error: unknown area {area!r}; use a code from knowledge/areas.yaml (e.g. dien-bien) or 'all'", err=True)
        raise typer.Exit(2)
    return code


@role_app.command("grant")
def grant(
    channel: str = ChannelOption,
    user_id: str = UserOption,
    role: str = typer.Option(..., "--role", help="team or admin."),
    area: str = typer.Option("all", "--area", help="Area code for a team member (e.g. dien-bien, quang-ngai/dak-bla) or 'all'."),
) -> None:
    """Give a role; the person need not have written to the bot yet."""
    from bot.relay import roles

    db, areas = _open()
    role, code = _check_role(role), _area(areas, area)
    if channel in roles.NO_ROLE_CHANNELS:
        typer.echo(f"error: people on the {channel} channel cannot hold a role (it cannot deliver notices to them)", err=True)
        raise typer.Exit(2)
    with db.session() as s:
        user = roles.find_user(s, channel, user_id, create=True)
        added = roles.grant(s, user, role, code, _actor())
    typer.echo(f"{'granted' if added else 'already had'}: {channel}:{user_id} {role} {'all' if role == 'admin' else code}")


@role_app.command("revoke")
def revoke(
    channel: str = ChannelOption,
    user_id: str = UserOption,
    role: Optional[str] = typer.Option(None, "--role", help="team or admin (default: every role)."),
    area: Optional[str] = typer.Option(None, "--area", help="Only this area (default: every area)."),
) -> None:
    """Take a role away."""
    from bot.relay import roles

    db, areas = _open()
    role = _check_role(role) if role else None
    code = _area(areas, area) if area else None
    with db.session() as s:
        user = roles.find_user(s, channel, user_id)
        removed = roles.revoke(s, user, role, code, _actor()) if user else 0
    if not removed:
        typer.echo(f"error: {channel}:{user_id} has no such role", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {removed} role(s) from {channel}:{user_id}")


@role_app.command("list")
def list_roles() -> None:
    """Everyone with a role: channel:user_id, role, area, on duty or not."""
    from bot.relay import roles

    db, _ = _open()
    with db.session() as s:
        rows = [(roles.actor_of(u), g.role, g.area, g.on_duty) for u, g in roles.grants(s)]
    for who, role, area, on_duty in rows:
        typer.echo(f"{who}\t{role}\t{area}\t{'on duty' if on_duty else 'off duty'}")
