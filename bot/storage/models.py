"""Database tables (SQLAlchemy 2.x). The schema itself is created by Alembic migrations."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, Optional

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from bot.storage.columns import UtcDateTime

MAX_ID = 2**31 - 1  # an INTEGER primary key, on SQLite and PostgreSQL alike


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def parse_id(text: object) -> int | None:
    """A row id as typed or sent back in button data ('12', '#12'), or None: ASCII digits only, 1..MAX_ID."""
    text = str(text).strip().removeprefix("#")
    if not (0 < len(text) <= 10 and text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    """A person on one channel. Roles: citizen (everyone), team, admin."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str] = mapped_column(String(128), default="")
    role: Mapped[str] = mapped_column(String(16), default="citizen")
    area: Mapped[str] = mapped_column(String(128), default="")  # the citizen's own area, if given
    blocked_bot: Mapped[bool] = mapped_column(Boolean, default=False)  # 403 from the platform
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Chat(Base):
    """Where messages go: a private chat or a group on one channel."""

    __tablename__ = "chats"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16), default="private")  # private | group
    state: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON, nullable=True)  # pending numbered choices
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Subscription(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("user_id", "area"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    area: Mapped[str] = mapped_column(String(128))  # 'all', a province, or 'province/commune'
    quiz: Mapped[bool] = mapped_column(Boolean, default=True)  # daily quiz pushes wanted
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Conversation(Base):
    """One question and what the bot did with it."""

    __tablename__ = "conversation_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    question: Mapped[str] = mapped_column(Text)
    chunk_id: Mapped[str] = mapped_column(String(160), default="")
    topic: Mapped[str] = mapped_column(String(32), default="")
    answered: Mapped[bool] = mapped_column(Boolean)
    confidence: Mapped[float] = mapped_column(Float)
    related: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # the other entries offered (clarify) or behind «Không đúng câu tôi hỏi": [{"chunk_id", "question"}]
    candidates: Mapped[Optional[list[Any]]] = mapped_column(JSON, nullable=True, default=list)
    feedback: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)  # +1 / -1
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)


class EscalationStatus(StrEnum):
    """Where a question handed to the team stands: waiting (open), taken by a member (claimed), answered.
    A follow-up after the answer reopens it (open again, `reopened` counted)."""

    OPEN = "open"
    CLAIMED = "claimed"
    ANSWERED = "answered"


class Escalation(Base):
    """A question passed to the community digital technology team."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    conversation_id: Mapped[Optional[int]] = mapped_column(ForeignKey("conversation_log.id"), nullable=True)
    question: Mapped[str] = mapped_column(Text)
    area: Mapped[str] = mapped_column(String(128), default="")
    status: Mapped[str] = mapped_column(String(16), default=EscalationStatus.OPEN)  # EscalationStatus
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    # the relay inbox (migration 0002_relay; the thread itself is in bot.relay.models.RelayMessage)
    claimed_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    claimed_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime(), nullable=True)
    answered_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime(), nullable=True)
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    # the handoff (migration 0007_handoff): a follow-up code, due times, escalation upwards, satisfaction
    code: Mapped[Optional[str]] = mapped_column(String(8), nullable=True, unique=True, index=True)  # 'K7P2QX' (bot.relay.codes)
    origin_area: Mapped[Optional[str]] = mapped_column(String(128), nullable=True)  # the area before moving up
    due_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime(), nullable=True, index=True)
    reminded_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime(), nullable=True)
    overdue_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime(), nullable=True)  # moved up
    first_answered_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime(), nullable=True)
    rating: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)  # +1 / -1 after a team answer
    rated_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime(), nullable=True)
    # phone numbers the citizen wrote (the stored question is masked): shown only to the member who took it
    contact: Mapped[Optional[str]] = mapped_column(String(200), nullable=True)


class QuizPoll(Base):
    """A quiz question sent to a chat; a platform poll id maps answers back to it."""

    __tablename__ = "quiz_polls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    poll_id: Mapped[str] = mapped_column(String(64), index=True, default="")
    quiz_id: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class QuizAnswer(Base):
    __tablename__ = "quiz_answers"
    __table_args__ = (UniqueConstraint("user_id", "poll_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    poll_id: Mapped[int] = mapped_column(ForeignKey("quiz_polls.id", ondelete="CASCADE"))
    quiz_id: Mapped[str] = mapped_column(String(64))
    choice: Mapped[int] = mapped_column(Integer)
    correct: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)


class LabelledChoice(Base):
    """A person picked the entry that answers their question (a clarify candidate, or one offered after
    «Không đúng câu tôi hỏi»): a labelled example for evaluation and tuning."""

    __tablename__ = "labelled_choices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("conversation_log.id", ondelete="SET NULL"), nullable=True, index=True
    )
    question: Mapped[str] = mapped_column(Text)
    chunk_id: Mapped[str] = mapped_column(String(160))  # the entry the person chose
    shown_chunk_id: Mapped[str] = mapped_column(String(160), default="")  # the entry the bot had answered, if any
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)


class ProcessedMessage(Base):
    """Platform message ids already handled, so a redelivered update is not answered twice."""

    __tablename__ = "processed_messages"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)


class ChannelToken(Base):
    """A channel's OAuth pair (an Official Account's access and single-use refresh token), one row per account,
    rewritten in one transaction at each refresh so that a crash or a second worker never loses it.
    `seed`: a hash of the refresh token from the settings this pair descends from (a new pair put in the
    settings replaces the row); `last_error`/`failed_at`: the latest refresh that failed (the pair kept)."""

    __tablename__ = "channel_tokens"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    account: Mapped[str] = mapped_column(String(64), primary_key=True)  # the app id
    access_token: Mapped[str] = mapped_column(Text, default="")
    refresh_token: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    refresh_expires_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime(), nullable=True)
    seed: Mapped[str] = mapped_column(String(64), default="")
    refreshed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    failed_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime(), nullable=True)


def get_or_create(s: Session, model: type, keys: dict[str, Any], **values: Any) -> tuple[Any, bool]:
    """The row of `model` with these unique `keys`, inserted with `values` when missing; (row, created).

    Safe when several transactions create the same row at once: the insert is ON CONFLICT DO NOTHING
    (PostgreSQL waits for the other transaction, then sees its row), so no IntegrityError is raised.
    """
    query = select(model).filter_by(**keys)
    row = s.scalar(query)
    if row is not None:
        return row, False
    dialect = postgresql if s.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(model).values(**keys, **values).on_conflict_do_nothing(index_elements=list(keys))
    created = s.execute(insert.returning(model.id)).first() is not None  # rowcount is -1 on PostgreSQL here
    return s.scalar(query), created


__all__ = [
    "Base", "User", "Chat", "Subscription", "Conversation", "Escalation", "QuizPoll", "QuizAnswer",
    "ProcessedMessage", "LabelledChoice", "ChannelToken", "get_or_create", "parse_id", "MAX_ID",
]


class QuestionVector(Base):
    """A question's embedding, kept so the gaps report never embeds the same text twice (bot/admin/gaps.py)."""

    __tablename__ = "question_vectors"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the text
    embedder: Mapped[str] = mapped_column(String(128), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class RateSlot(Base):
    """A rate shared by every process (bot.storage.shared): the next free instant of `key`."""

    __tablename__ = "rate_slots"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    next_at: Mapped[float] = mapped_column(Float)  # seconds since the epoch
