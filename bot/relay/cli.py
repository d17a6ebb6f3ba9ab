"""`python -m bot role grant|revoke|list`: manage team members and admins from the server (the first admin too)."""

from __future__ import annotations

from typing import Optional

import typer

from bot.channels import registry
from bot.cli_support import actor as _actor, area_code, fail, open_areas, open_database


def check_role(role: str) -> str:
    """--role: one of the roles (bot.relay.roles.ROLES), or fail."""
    from bot.relay.roles import ROLES

    if role not in ROLES:
        fail(f"--role must be one of {', '.join(ROLES)}")
    return role


role_app = typer.Typer(help="Grant and revoke team and admin roles.", no_args_is_help=True)

ChannelOption = typer.Option(..., "--channel", help=f"{', '.join(registry.names())}.")
UserOption = typer.Option(..., "--user-id", help="The person's id on that channel (as stored: a numeric id on most platforms).")


def _open():
    return open_database(), open_areas()


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
    role, code = check_role(role), area_code(areas, area)
    if channel in roles.NO_ROLE_CHANNELS:
        fail(f"people on the {channel} channel cannot hold a role (it cannot deliver notices to them)")
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
    role = check_role(role) if role else None
    code = area_code(areas, area) if area else None
    with db.session() as s:
        user = roles.find_user(s, channel, user_id)
        removed = roles.revoke(s, user, role, code, _actor()) if user else 0
    if not removed:
        fail(f"{channel}:{user_id} has no such role", 1)
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
