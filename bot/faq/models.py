"""FAQ version tables: one row per change set (who, when, why) and one per entry it touched (before/after)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.columns import UtcDateTime
from bot.storage.models import Base, utcnow


class FaqVersion(Base):
    """A change set; its id is the version number, and max(id) is the change counter running bots poll."""

    __tablename__ = "faq_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor: Mapped[str] = mapped_column(String(96))  # 'cli:alice', '<channel>:123'
    summary: Mapped[str] = mapped_column(String(200), default="")  # 'import faq.xlsx', 'rollback to before 3'
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class FaqChange(Base):
    """One entry changed by a version: add (before is None), edit, or retire (after is None)."""

    __tablename__ = "faq_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("faq_versions.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(16))  # add | edit | retire
    before: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON, nullable=True)
    after: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON, nullable=True)
