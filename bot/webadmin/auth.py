"""Web admin accounts, passwords, sessions and CSRF tokens.

Passwords: salted scrypt (stdlib hashlib), stored as `scrypt$n$r$p$salt$hash` (hex), compared in
constant time. Sessions: a random cookie value whose SHA-256 is the row id; each session carries its
own CSRF token; it expires after SESSION_IDLE without use and SESSION_MAX after login, whichever
comes first. Lockout: MAX_FAILURES wrong passwords in a row lock the account for LOCKOUT.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot.relay import roles
from bot.vntime import aware
from bot.storage.models import utcnow
from bot.webadmin.models import WebAccount, WebSession

CHANNEL = "webadmin"  # the users row of a web account: channel 'webadmin', external id = its name
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD = 10
MAX_FAILURES = 5
LOCKOUT = dt.timedelta(minutes=15)
SESSION_IDLE = dt.timedelta(minutes=30)
SESSION_MAX = dt.timedelta(hours=8)
_DUMMY_SALT = bytes(16)


def hash_password(password: str, n: int = SCRYPT_N) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=len(digest) // 2)
    except (ValueError, UnicodeEncodeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AccountError(ValueError):
    pass


def check_name(name: str) -> str:
    name = name.strip().lower()
    if not (2 <= len(name) <= 64) or not all(c.isalnum() and c.isascii() or c in "._-" for c in name):
        raise AccountError("the name must be 2-64 letters, digits, '.', '_' or '-'")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
    return password


def create_account(s: Session, name: str, password: str, role: str, areas: list[str], actor: str) -> WebAccount:
    """A new login with its role grants (team: each area; admin: all), audit-logged."""
    name, password = check_name(name), check_password(password)
    if s.scalar(select(WebAccount).where(WebAccount.name == name)):
        raise AccountError(f"an account {name!r} already exists")
    user = roles.find_user(s, CHANNEL, name, create=True)
    for area in (areas or ["all"]) if role == "team" else ["all"]:
        roles.grant(s, user, role, area, actor)
    account = WebAccount(name=name, password_hash=hash_password(password), user_id=user.id)
    s.add(account)
    s.flush()
    roles.audit(s, actor, "web_account_add", name=name, role=role, areas=areas or ["all"])
    return account


def find_account(s: Session, name: str) -> WebAccount | None:
    return s.scalar(select(WebAccount).where(WebAccount.name == name.strip().lower()))


def set_password(s: Session, account: WebAccount, password: str, actor: str) -> None:
    account.password_hash = hash_password(check_password(password))
    account.failed_logins, account.locked_until = 0, None
    s.execute(delete(WebSession).where(WebSession.account_id == account.id))
    roles.audit(s, actor, "web_account_password", name=account.name)


def set_disabled(s: Session, account: WebAccount, disabled: bool, actor: str) -> None:
    account.disabled = disabled
    if disabled:
        s.execute(delete(WebSession).where(WebSession.account_id == account.id))
    roles.audit(s, actor, "web_account_disable" if disabled else "web_account_enable", name=account.name)


@dataclass
class LoginResult:
    account: WebAccount | None
    locked_minutes: int = 0  # > 0: refused because the account is locked


def authenticate(s: Session, name: str, password: str) -> LoginResult:
    """The account when the password is right and it is neither disabled nor locked; counts failures."""
    account = find_account(s, name) if name.strip() else None
    if account is None:
        verify_password(password, f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_DUMMY_SALT.hex()}${'0' * 64}")  # same time
        return LoginResult(None)
    now = utcnow()
    if account.locked_until is not None and aware(account.locked_until) > now:
        return LoginResult(None, max(1, int((aware(account.locked_until) - now).total_seconds() // 60) + 1))
    if not verify_password(password, account.password_hash) or account.disabled:
        account.failed_logins += 1
        if account.failed_logins >= MAX_FAILURES:
            account.locked_until, account.failed_logins = now + LOCKOUT, 0
            roles.audit(s, f"{CHANNEL}:{account.name}", "web_login_locked")
            return LoginResult(None, int(LOCKOUT.total_seconds() // 60))
        return LoginResult(None)
    account.failed_logins, account.locked_until, account.last_login_at = 0, None, now
    return LoginResult(account)


def start_session(s: Session, account: WebAccount) -> str:
    """A new session (older expired ones are swept); the cookie value, shown once."""
    now = utcnow()
    s.execute(delete(WebSession).where(WebSession.expires_at < now))
    token = secrets.token_urlsafe(32)
    s.add(WebSession(id=token_hash(token), account_id=account.id, csrf=secrets.token_urlsafe(32), created_at=now, expires_at=now + SESSION_IDLE))
    s.flush()
    return token


def load_session(s: Session, token: str) -> tuple[WebSession, WebAccount] | None:
    """The live session of a cookie value (its idle expiry pushed back), or None: unknown, expired, disabled."""
    if not token or len(token) > 128:
        return None
    session = s.get(WebSession, token_hash(token))
    if session is None:
        return None
    now = utcnow()
    account = s.get(WebAccount, session.account_id)
    if aware(session.expires_at) <= now or account is None or account.disabled:
        s.delete(session)
        return None
    session.expires_at = min(now + SESSION_IDLE, aware(session.created_at) + SESSION_MAX)
    return session, account


def end_session(s: Session, token: str) -> None:
    s.execute(delete(WebSession).where(WebSession.id == token_hash(token)))


def csrf_ok(expected: str, given: str | None) -> bool:
    return bool(expected) and isinstance(given, str) and hmac.compare_digest(expected.encode(), given.encode())
