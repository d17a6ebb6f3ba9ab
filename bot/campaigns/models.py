"""Tables for campaigns, their runs and the delivery outbox (same `Base` as bot.storage.models)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.channels.outbound import Status
from bot.storage.columns import UtcDateTime
from bot.storage.models import Base, utcnow

# Outbox row states: bot.channels.outbound.Status (its transports answer in them).
PENDING, SENDING, SENT, FAILED, BLOCKED, SKIPPED, CANCELLED = Status


class Campaign(Base):
    """What to send, to whom and when: once (`run_at`) or on a cron schedule (`cron`)."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[Optional[str]] = mapped_column(String(160), unique=True, nullable=True)  # 'kb:<id>' from the calendar
    kind: Mapped[str] = mapped_column(String(16), default="message")  # message | quiz
    text: Mapped[str] = mapped_column(Text, default="")
    run_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime(), nullable=True)
    cron: Mapped[str] = mapped_column(String(64), default="")
    area: Mapped[str] = mapped_column(String(128), default="all")
    channel: Mapped[str] = mapped_column(String(16), default="all")  # a channel name (bot/channels/registry.py) | all
    reveal_minutes: Mapped[int] = mapped_column(Integer, default=0)  # quiz: answer shown this long after
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | paused | cancelled
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class CampaignRun(Base):
    """One firing of a campaign (or a quiz reveal): unique per slot, so a re-run cannot enqueue twice."""

    __tablename__ = "campaign_runs"
    __table_args__ = (UniqueConstraint("campaign_id", "kind", "slot"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # message | quiz | reveal
    slot: Mapped[dt.datetime] = mapped_column(UtcDateTime())  # the scheduled time it stands for
    text: Mapped[str] = mapped_column(Text, default="")
    quiz_id: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default="expanding")  # expanding | queued
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class OutboxMessage(Base):
    """One message to one chat (a group gets one copy, however many members subscribed there);
    (run_id, chat_id) is the idempotency key. `user_id` is one subscriber of that chat."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("run_id", "chat_id", name="uq_outbox_run_id_chat_id"),
        Index("ix_outbox_claim", "channel", "status", "not_before"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("campaign_runs.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    payload: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON, nullable=True)  # quiz poll; else the run's text
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    lease_until: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime(), nullable=True)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    sent_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime(), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
