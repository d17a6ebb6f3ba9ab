"""Quiz pushes: the daily question to subscribers who opted in, and weekly leaderboards by area.

The question goes out as the conversation service's own quiz message (`quiz_message`), so answers,
whether a native poll's vote or a letter typed back on a channel without buttons, are scored by the existing code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from bot.campaigns import outbox
from bot.channels import registry
from bot.campaigns.models import PENDING, Campaign, CampaignRun, OutboxMessage
from bot.knowledge.models import QuizQuestion
from bot.storage.models import Chat, QuizAnswer, Subscription, User, utcnow



class QuizHost(Protocol):
    """What quiz pushes need of the conversation service (above this package: handed in, never imported)."""

    db: Any  # bot.storage.db.Database
    quiz: dict[str, QuizQuestion]

    def quiz_message(self, s: Session, q: QuizQuestion, chat: Chat, channel: str, buttons: bool) -> Any: ...


def pick(service: QuizHost, previous_runs: int) -> QuizQuestion | None:
    """Questions in turn, by id: the n-th run of a quiz campaign sends the n-th question."""
    questions = sorted(service.quiz.values(), key=lambda q: q.id)
    return questions[previous_runs % len(questions)] if questions else None


def expand(service: QuizHost, run_id: int, batch: int) -> int:
    """One poll per recipient chat (a QuizPoll row each), `batch` chats per transaction; safe to repeat."""
    last, total = 0, 0
    while True:
        with service.db.session() as s:
            run = s.get(CampaignRun, run_id)
            q = service.quiz[run.quiz_id]
            people = s.execute(outbox.audience(s.get(Campaign, run.campaign_id), quiz=True)
                               .where(Subscription.chat_id > last).order_by(Subscription.chat_id).limit(batch)).all()
            if not people:
                run.status = "queued"
                return total
            rows = []
            for user_id, chat_id, channel in people:
                rows.append(OutboxMessage(run_id=run.id, campaign_id=run.campaign_id, user_id=user_id, chat_id=chat_id,
                                          channel=channel, status=PENDING, attempts=0, not_before=utcnow(), last_error=""))
            fresh = outbox.add_rows(s, run, rows)
            for row in fresh:
                if row.status == PENDING:
                    numbered = not registry.get(row.channel).pushed_choices
                    out = service.quiz_message(s, q, s.get(Chat, row.chat_id), row.channel, not numbered)
                    choices = [b.data for r in out.buttons for b in r] if numbered else []
                    row.payload = {"poll": out.quiz.poll, "question": q.question, "options": list(q.options),
                                   "choices": choices}
            total += len(fresh)
            last = people[-1][1]


@dataclass(frozen=True)
class Standing:
    name: str
    area: str
    right: int
    answered: int


def leaderboard(service_db, area: str = "", days: int = 7, limit: int = 10, now: dt.datetime | None = None) -> list[Standing]:
    """Most right answers in the last `days` days, among people of `area` (and its communes), or everyone."""
    since = (now or utcnow()) - dt.timedelta(days=days)
    right = func.sum(case((QuizAnswer.correct, 1), else_=0))
    q = (
        select(User.id, User.display_name, User.area, right, func.count(QuizAnswer.id))
        .join(QuizAnswer, QuizAnswer.user_id == User.id)
        .where(QuizAnswer.created_at >= since)
        .group_by(User.id, User.display_name, User.area)
        .order_by(right.desc(), func.count(QuizAnswer.id), User.id)
        .limit(limit)
    )
    if area:
        q = q.where(or_(User.area == area, User.area.startswith(area + "/")))
    with service_db.session() as s:
        return [Standing(name or f"#{uid}", a, int(r), int(n)) for uid, name, a, r, n in s.execute(q)]
