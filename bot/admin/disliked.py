"""The 👎 queue: every answer a citizen marked «Chưa hài lòng», newest first, for the admins to act on.

Two kinds: the bot's answers (`conversation_log.feedback = -1`: the question, the entry it was answered with) and
the team's answers (`escalations.rating = -1`: the question, the answer the citizen rated, the escalation to open
in the web inbox). The web admin's «Câu trả lời bị 👎» page (`/admin/disliked`) lists these rows. Questions are
masked again here, as everywhere staff read them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.privacy import mask
from bot.relay import inbox
from bot.relay.models import RelayMessage
from bot.vntime import aware
from bot.storage.models import Conversation, Escalation

LIMIT = 50
BOT, TEAM = "bot", "team"


@dataclass(frozen=True)
class Disliked:
    kind: str  # BOT: the bot's answer; TEAM: a team member's answer
    at: dt.datetime  # when it was asked (bot) or rated (team), UTC
    question: str  # masked
    chunk_id: str = ""  # BOT: the entry it was answered with ('faq:…'), '' when none
    log_id: int | None = None  # BOT: the conversation_log row (the «Thêm làm cách hỏi khác» action takes it)
    escalation_id: int | None = None  # TEAM: the question in the inbox (/admin/inbox/<id>)
    answer: str = ""  # TEAM: the answer the citizen rated
    area: str = ""  # TEAM: the question's area now

    @property
    def team(self) -> bool:
        return self.kind == TEAM


def queue(s: Session, limit: int = LIMIT) -> list[Disliked]:
    """The newest `limit` 👎 of both kinds, newest first."""
    logs = s.scalars(select(Conversation).where(Conversation.feedback == -1, Conversation.answered.is_(True))
                     .order_by(Conversation.id.desc()).limit(limit)).all()
    rows = [Disliked(BOT, aware(log.created_at), mask(log.question), chunk_id=log.chunk_id or "", log_id=log.id)
            for log in logs]
    rated = s.scalars(select(Escalation).where(Escalation.rating == -1)
                      .order_by(Escalation.rated_at.desc(), Escalation.id.desc()).limit(limit)).all()
    for esc in rated:
        when = aware(esc.rated_at or esc.first_answered_at or esc.created_at)
        rows.append(Disliked(TEAM, when, mask(esc.question), escalation_id=esc.id, answer=_rated_answer(s, esc, when),
                             area=esc.area or ""))
    return sorted(rows, key=lambda r: r.at, reverse=True)[:limit]


def _rated_answer(s: Session, esc: Escalation, rated_at: dt.datetime) -> str:
    """The team answer the rating was given to: the latest one sent before it (the latest of all when none is)."""
    answers = [m for m in inbox.thread(s, esc) if m.author == "team"]
    before = [m for m in answers if aware(m.created_at) <= rated_at]
    chosen: RelayMessage | None = (before or answers or [None])[-1]
    return chosen.text if chosen is not None else ""
