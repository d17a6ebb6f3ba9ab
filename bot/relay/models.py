"""Relay tables: role grants, one-time invites, the admin audit log, the escalation thread and FAQ drafts.

All on the shared `Base`; created by migration 0002_relay, which also adds the claim/answer columns of
`escalations` (declared on bot.storage.models.Escalation).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.columns import UtcDateTime
from bot.storage.models import Base, utcnow


class RoleGrant(Base):
    """A role held by a person: 'team' for one area (or 'all'), or 'admin' (area 'all')."""

    __tablename__ = "role_grants"
    __table_args__ = (UniqueConstraint("user_id", "role", "area"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # team | admin
    area: Mapped[str] = mapped_column(String(128), default="all")
    on_duty: Mapped[bool] = mapped_column(Boolean, default=True)  # notified of new questions
    granted_by: Mapped[str] = mapped_column(String(96), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class RoleInvite(Base):
    """A one-time code an admin hands out; only its SHA-256 is stored."""

    __tablename__ = "role_invites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    area: Mapped[str] = mapped_column(String(128), default="all")
    created_by: Mapped[str] = mapped_column(String(96))
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    used_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    used_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime(), nullable=True)


class AuditEntry(Base):
    """Who did what, when: every admin action (chat or CLI)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor: Mapped[str] = mapped_column(String(96))  # '<channel>:123' or 'cli'
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)


class RelayMessage(Base):
    """The thread of one escalation: the team's answers and the citizen's follow-ups."""

    __tablename__ = "relay_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(16))  # team | citizen | notice (the bot telling the citizen, e.g. moved up)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    delivered: Mapped[bool] = mapped_column(Boolean, default=True)  # False: waits for the citizen's next message
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class FaqDraft(Base):
    """A good team answer proposed as a FAQ entry, for an admin to approve."""

    __tablename__ = "faq_drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    escalation_id: Mapped[Optional[int]] = mapped_column(ForeignKey("escalations.id", ondelete="SET NULL"), nullable=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    area: Mapped[str] = mapped_column(String(128), default="")
    answer_message_id: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)  # the team turn it pairs (0007)
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft | approved | rejected
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
