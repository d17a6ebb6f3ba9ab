"""Tables of online contests (migration 0006_contests; same `Base` as bot.storage.models).

A contest has rounds; a person makes attempts (entries) at a round; an entry has one answer per
question position. The unique keys are what keep a person to their attempts and an answer counted once:
(round, user, attempt), (round, phone, attempt) when a phone number is given, and (entry, position).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.columns import UtcDateTime
from bot.storage.models import Base, utcnow

# An entry's steps, in order: the rules shown, then what the person is asked for, then the questions.
RULES, NAME, AREA, PHONE, PREDICTION, QUESTIONS, DONE = "rules", "name", "area", "phone", "prediction", "questions", "done"
STEPS = (RULES, NAME, AREA, PHONE, PREDICTION, QUESTIONS, DONE)
OPEN, CLOSED = "open", "closed"


class Contest(Base):
    __tablename__ = "contests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    rules: Mapped[str] = mapped_column(Text, default="")  # up to three lines; empty: the standard rules
    area: Mapped[str] = mapped_column(String(128), default="all")  # audience: 'all' or an area code
    status: Mapped[str] = mapped_column(String(16), default=OPEN)  # open | closed
    created_by: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    closed_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime(), nullable=True)


class ContestRound(Base):
    __tablename__ = "contest_rounds"
    __table_args__ = (UniqueConstraint("contest_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer, default=1)
    opens_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    closes_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    questions: Mapped[int] = mapped_column(Integer)  # asked per attempt
    seconds: Mapped[int] = mapped_column(Integer)  # time limit of a whole attempt
    attempts: Mapped[int] = mapped_column(Integer, default=1)  # allowed per person
    topics: Mapped[list[Any]] = mapped_column(JSON, default=list)  # quiz-bank topics to draw from; empty: all
    question_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)  # or a fixed list of quiz-bank ids
    prizes: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{"name", "count", "area"}], best first


class ContestEntry(Base):
    """One attempt of one person at one round: registration, then the questions."""

    __tablename__ = "contest_entries"
    __table_args__ = (
        UniqueConstraint("round_id", "user_id", "attempt", name="uq_contest_entries_user_attempt"),
        UniqueConstraint("round_id", "phone", "attempt", name="uq_contest_entries_phone_attempt"),
        Index("ix_contest_entries_user_step", "user_id", "step"),
        Index("ix_contest_entries_round_step", "round_id", "step"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("contest_rounds.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    channel: Mapped[str] = mapped_column(String(16))
    step: Mapped[str] = mapped_column(String(16), default=RULES)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    area: Mapped[str] = mapped_column(String(128), default="")
    phone: Mapped[Optional[str]] = mapped_column(String(16), nullable=True)  # 0xxxxxxxxx; shown masked only
    prediction: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)
    plan: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [[quiz id, [option order]]], drawn per person
    position: Mapped[int] = mapped_column(Integer, default=0)  # the question being asked
    correct: Mapped[int] = mapped_column(Integer, default=0)  # right answers given in time
    seconds: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)  # time taken, once finished
    started_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime(), nullable=True)
    deadline: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime(), nullable=True)
    finished_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime(), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ContestAnswer(Base):
    __tablename__ = "contest_answers"
    __table_args__ = (UniqueConstraint("entry_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("contest_entries.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    quiz_id: Mapped[str] = mapped_column(String(64))
    choice: Mapped[int] = mapped_column(Integer)  # the option in the quiz bank's own order
    correct: Mapped[bool] = mapped_column(Boolean)
    in_time: Mapped[bool] = mapped_column(Boolean)  # False: after the time limit, not counted
    answered_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
