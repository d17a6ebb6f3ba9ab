"""Who may do what: team members (per area) and admins, one-time invite codes, and the audit log.

The grants in `role_grants` are the truth; `users.role` mirrors the highest one for display and reports.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.areas import ALL
from bot.channels import registry
from bot.relay.models import AuditEntry, RoleGrant, RoleInvite
from bot.storage.models import User, utcnow
from bot.vntime import aware

ROLES = ("team", "admin")
# A channel that answers only the person's own requests (the web chat) cannot deliver a notice or an answer
# to someone else, so nobody there can hold a role.
NO_ROLE_CHANNELS = tuple(n for n in registry.names() if not registry.get(n).team)
INVITE_TTL = dt.timedelta(hours=72)
INVITE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read aloud and retyped
INVITE_LENGTH = 10


def actor_of(user: User) -> str:
    return f"{user.channel}:{user.external_id}"


def role_of(s: Session, user: User) -> str:
    roles = set(s.scalars(select(RoleGrant.role).where(RoleGrant.user_id == user.id)))
    return "admin" if "admin" in roles else "team" if "team" in roles else "citizen"


def areas_of(s: Session, user: User) -> list[str]:
    """The areas whose questions this person handles: ['all'] for an admin, [] for a citizen."""
    grants = s.scalars(select(RoleGrant).where(RoleGrant.user_id == user.id)).all()
    if any(g.role == "admin" or g.area == ALL for g in grants):
        return [ALL]
    return sorted({g.area for g in grants})


def audit(s: Session, actor: str, action: str, **detail) -> None:
    s.add(AuditEntry(actor=actor[:96], action=action, detail=detail))


def grant(s: Session, user: User, role: str, area: str, actor: str) -> bool:
    """Give a role (admins always cover 'all'); False when the person already had it."""
    area = ALL if role == "admin" else area
    if s.scalar(select(RoleGrant).where(RoleGrant.user_id == user.id, RoleGrant.role == role, RoleGrant.area == area)):
        return False
    s.add(RoleGrant(user_id=user.id, role=role, area=area, granted_by=actor[:96]))
    s.flush()
    user.role = role_of(s, user)
    audit(s, actor, "grant", user=actor_of(user), role=role, area=area)
    return True


def revoke(s: Session, user: User, role: str | None, area: str | None, actor: str) -> int:
    """Take away a role (every area when `area` is None, every role when `role` is None); how many went."""
    query = delete(RoleGrant).where(RoleGrant.user_id == user.id)
    if role:
        query = query.where(RoleGrant.role == role)
    if area:
        query = query.where(RoleGrant.area == area)
    removed = s.execute(query).rowcount
    user.role = role_of(s, user)
    if removed:
        audit(s, actor, "revoke", user=actor_of(user), role=role or "*", area=area or "*")
    return removed


def set_duty(s: Session, user: User, on: bool) -> int:
    grants = s.scalars(select(RoleGrant).where(RoleGrant.user_id == user.id)).all()
    for g in grants:
        g.on_duty = on
    return len(grants)


def on_duty(s: Session, user: User) -> bool:
    return s.scalar(select(RoleGrant.id).where(RoleGrant.user_id == user.id, RoleGrant.on_duty.is_(True)).limit(1)) is not None


def grants(s: Session) -> list[tuple[User, RoleGrant]]:
    rows = s.execute(select(User, RoleGrant).join(RoleGrant, RoleGrant.user_id == User.id).order_by(User.channel, User.external_id, RoleGrant.role, RoleGrant.area))
    return [(u, g) for u, g in rows]


def find_user(s: Session, channel: str, external_id: str, create: bool = False) -> User | None:
    user = s.scalar(select(User).where(User.channel == channel, User.external_id == external_id))
    if user is None and create:
        user = User(channel=channel, external_id=external_id)
        s.add(user)
        s.flush()
    return user


def _hash(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


def create_invite(s: Session, role: str, area: str, actor: str) -> str:
    """A new one-time code (shown once; only its hash is kept), valid for INVITE_TTL."""
    code = "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))
    area = ALL if role == "admin" else area
    s.add(RoleInvite(code_hash=_hash(code), role=role, area=area, created_by=actor[:96], expires_at=utcnow() + INVITE_TTL))
    audit(s, actor, "invite", role=role, area=area)
    return code


def redeem(s: Session, code: str, user: User) -> RoleInvite | None:
    """Use a code: the invite it grants, or None when unknown, used or expired."""
    invite = s.scalar(select(RoleInvite).where(RoleInvite.code_hash == _hash(code)))
    if invite is None or invite.used_at is not None or aware(invite.expires_at) < utcnow():
        return None
    invite.used_by, invite.used_at = user.id, utcnow()
    grant(s, user, invite.role, invite.area, f"invite:{invite.created_by}")
    return invite
