"""Web admin tables: accounts (a login with a salted scrypt hash) and server-side sessions.

An account is tied to a `users` row on the pseudo-channel 'webadmin' (external id = the login name),
so its role and areas are ordinary `role_grants` (bot.relay.roles): the same checks as in chat.
"""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.columns import UtcDateTime
from bot.storage.models import Base, utcnow


class WebAccount(Base):
    __tablename__ = "web_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)  # consecutive; reset by a good login
    locked_until: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime(), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_login_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime(), nullable=True)


class WebSession(Base):
    """A logged-in browser; only the SHA-256 of its cookie is stored. Expires when idle and at a fixed limit."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256(cookie value)
    account_id: Mapped[int] = mapped_column(ForeignKey("web_accounts.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))  # checked on every POST of this session
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
