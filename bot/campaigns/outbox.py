"""The delivery outbox: expand a run into one row per recipient, claim rows, record outcomes.

Every statement here is short and streams: the audience is copied with INSERT … SELECT in batches of
user ids, so memory does not grow with the audience. Claiming is one UPDATE … WHERE id IN (SELECT …
FOR UPDATE SKIP LOCKED) … RETURNING, so several sender processes on PostgreSQL never take the same row
(on SQLite the single statement is atomic under the database write lock).

Exactly once per chat: the audience is one row per chat (a group chat where 30 members subscribed
gets one copy), (run_id, chat_id) is unique. A claimed row is leased; the sender renews the lease of
every row it holds (`renew`) while the row waits for its rate slot or its answer, so `recover` only
re-queues rows whose sender is gone. `finish` is fenced by the attempt number: an outcome is recorded
unless another sender has claimed the row since.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Iterable

from sqlalchemy import and_, delete, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.areas import ALL
from bot.vntime import aware
from bot.campaigns.models import (
    BLOCKED, CANCELLED, PENDING, SENDING, SENT, Campaign, CampaignRun, OutboxMessage,
)
from bot.channels import web_messages
from bot.chat.types import Button, OutgoingMessage, Quiz
from bot.storage.db import Database
from bot.storage.models import Chat, ProcessedMessage, QuizPoll, Subscription, User, utcnow


@dataclass(frozen=True)
class Claimed:
    """A row taken for sending, with what the sender needs to send it."""

    id: int
    user_id: int
    chat: str  # the platform's chat id
    chat_kind: str  # private | group
    text: str
    payload: dict[str, Any] | None  # a quiz poll
    attempts: int  # this claim's attempt number: the fence for renew and finish
    quiz: bool
    chat_pk: int  # chats.id


def _insert(db: Database):
    return postgresql.insert if db.engine.dialect.name == "postgresql" else sqlite.insert


def area_filter(area: str):
    """Subscriptions that receive a message addressed to `area` (see bot.areas.Area.covers): everyone for
    'all'; else the area itself, the province above it, and the communes under it."""
    if area == ALL:
        return literal(True)
    parts = area.split("/")
    ancestors = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return or_(Subscription.area.in_(ancestors), Subscription.area.startswith(area + "/"))


def audience(campaign: Campaign, quiz: bool):
    """(user_id, chat_id, channel) of every chat a campaign reaches, one row per chat (the user is one of
    its subscribers): a group where many members subscribed gets one message, not one per member."""
    q = (
        select(func.min(Subscription.user_id).label("user_id"), Subscription.chat_id, User.channel)
        .join(User, User.id == Subscription.user_id)
        .where(User.blocked_bot.is_(False), area_filter(campaign.area))
        .group_by(Subscription.chat_id, User.channel)
    )
    if campaign.channel != "all":
        q = q.where(User.channel == campaign.channel)
    if quiz:
        q = q.where(Subscription.quiz.is_(True))
    return q


def start_run(db: Database, campaign_id: int, kind: str, slot: dt.datetime, text: str, quiz_id: str = "") -> int | None:
    """The run for (campaign, kind, slot), created if new; None when it was already fully queued."""
    with db.session() as s:
        run = s.scalar(select(CampaignRun).where(
            CampaignRun.campaign_id == campaign_id, CampaignRun.kind == kind, CampaignRun.slot == slot))
        if run is None:
            try:
                with s.begin_nested():
                    run = CampaignRun(campaign_id=campaign_id, kind=kind, slot=slot, text=text, quiz_id=quiz_id)
                    s.add(run)
            except IntegrityError:  # another process created it just now
                run = s.scalar(select(CampaignRun).where(
                    CampaignRun.campaign_id == campaign_id, CampaignRun.kind == kind, CampaignRun.slot == slot))
        return None if run.status == "queued" else run.id


def expand(db: Database, run_id: int, batch: int) -> int:
    """Copy the run's audience into the outbox, about `batch` chats per transaction; safe to repeat.
    Each batch is a range of chat ids, so the work per batch stays the same however large the audience."""
    insert = _insert(db)
    last, total = 0, 0
    while True:
        with db.session() as s:
            run = s.get(CampaignRun, run_id)
            campaign = s.get(Campaign, run.campaign_id)
            if run.kind == "reveal":
                key, people, scope = _reveal_audience(run)
            else:
                key, people, scope = Subscription.chat_id, audience(campaign, quiz=False), literal(True)
            ids = select(key).where(scope, key > last).order_by(key).limit(batch).subquery()
            high = s.scalar(select(func.max(ids.c[0])))
            if high is None:
                run.status = "queued"
                return total
            source = people.where(key > last, key <= high).subquery()
            now = utcnow()
            rows = select(
                literal(run.id), literal(campaign.id), source.c.user_id, source.c.chat_id, source.c.channel,
                literal(PENDING), literal(0), literal(now, OutboxMessage.not_before.type),
                literal(""), literal(now, OutboxMessage.created_at.type),
            ).where(literal(True))  # SQLite needs a WHERE before ON CONFLICT in INSERT … SELECT
            stmt = insert(OutboxMessage).from_select(
                ["run_id", "campaign_id", "user_id", "chat_id", "channel", "status", "attempts", "not_before", "last_error",
                 "created_at"], rows).on_conflict_do_nothing()
            total += len(s.execute(stmt.returning(OutboxMessage.id)).all())  # rowcount is -1 here on psycopg
            last = high


def _reveal_audience(run: CampaignRun):
    """For a reveal: everyone the quiz of the same slot went to (or is still going to)."""
    quiz_run = select(CampaignRun.id).where(
        CampaignRun.campaign_id == run.campaign_id, CampaignRun.kind == "quiz", CampaignRun.slot == run.slot)
    scope = OutboxMessage.run_id.in_(quiz_run.scalar_subquery())
    people = select(OutboxMessage.user_id, OutboxMessage.chat_id, OutboxMessage.channel).where(
        scope, OutboxMessage.status.in_((PENDING, SENDING, SENT)))
    return OutboxMessage.chat_id, people, scope


def add_rows(s: Session, run: CampaignRun, rows: list[OutboxMessage]) -> list[OutboxMessage]:
    """Rows built one by one (quiz polls), for chats that have none in this run yet; returns those added."""
    done = set(s.scalars(select(OutboxMessage.chat_id).where(
        OutboxMessage.run_id == run.id, OutboxMessage.chat_id.in_([r.chat_id for r in rows]))))
    fresh = [r for r in rows if r.chat_id not in done]
    s.add_all(fresh)
    return fresh


# -- sending -------------------------------------------------------------------------------------


def recover(db: Database, channel: str, held: Iterable[int] = ()) -> int:
    """Rows whose sender died (lease expired while 'sending') go back to pending; `held`: rows the calling
    sender still holds (its lease lapsed while the database was away), never re-queued by it."""
    held = list(held)
    with db.session() as s:
        return s.execute(update(OutboxMessage).where(
            OutboxMessage.channel == channel, OutboxMessage.status == SENDING, OutboxMessage.lease_until < utcnow(),
            OutboxMessage.id.not_in(held) if held else literal(True),
        ).values(status=PENDING, lease_until=None)).rowcount or 0


def renew(db: Database, rows: Iterable[Claimed], lease_seconds: float) -> set[int]:
    """Extend the lease of rows a sender holds; returns the ids still its own (not re-claimed since)."""
    mine = {r.id: r.attempts for r in rows}
    if not mine:
        return set()
    with db.session() as s:
        found = s.execute(update(OutboxMessage).where(OutboxMessage.id.in_(list(mine)), OutboxMessage.status == SENDING)
                          .values(lease_until=utcnow() + dt.timedelta(seconds=lease_seconds))
                          .returning(OutboxMessage.id, OutboxMessage.attempts)).all()
    return {i for i, attempts in found if mine[i] == attempts}


def claim(db: Database, channel: str, limit: int, lease_seconds: float) -> list[Claimed]:
    """Take up to `limit` due rows of active campaigns: status 'sending' with a lease, attempts + 1."""
    now = utcnow()
    with db.session() as s:
        active = select(Campaign.id).where(Campaign.status == "active")
        due = (
            select(OutboxMessage.id)
            .where(OutboxMessage.channel == channel, OutboxMessage.status == PENDING, OutboxMessage.not_before <= now,
                   OutboxMessage.campaign_id.in_(active))
            .order_by(OutboxMessage.not_before)
            .limit(limit)
            .with_for_update(skip_locked=True, of=OutboxMessage)
        )
        ids = list(s.scalars(
            update(OutboxMessage).where(OutboxMessage.id.in_(due.scalar_subquery()))
            .values(status=SENDING, lease_until=now + dt.timedelta(seconds=lease_seconds), attempts=OutboxMessage.attempts + 1)
            .returning(OutboxMessage.id)
        ))
        if not ids:
            return []
        rows = s.execute(
            select(OutboxMessage.id, OutboxMessage.user_id, Chat.external_id, Chat.kind, CampaignRun.text,
                   OutboxMessage.payload, OutboxMessage.attempts, CampaignRun.kind, Chat.id)
            .join(Chat, Chat.id == OutboxMessage.chat_id).join(CampaignRun, CampaignRun.id == OutboxMessage.run_id)
            .where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)
        ).all()
    return [Claimed(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7] == "quiz", r[8]) for r in rows]


def still_wanted(db: Database, row: Claimed) -> bool:
    """Checked just before sending: a chat where nobody is subscribed any more gets nothing not yet sent."""
    q = select(Subscription.id).where(Subscription.chat_id == row.chat_pk)
    if row.quiz:
        q = q.where(Subscription.quiz.is_(True))
    with db.engine.connect() as c:
        return c.scalar(q.limit(1)) is not None


def last_message_at(db: Database, channel: str, chat: str) -> dt.datetime | None:
    """When the chat last wrote to the bot on `channel` (its newest processed-message key, kept 7 days)."""
    prefix = f"{channel}:{chat}:"
    with db.session() as s:
        last = s.scalar(select(func.max(ProcessedMessage.created_at)).where(
            ProcessedMessage.key >= prefix, ProcessedMessage.key < prefix[:-1] + ";"))
    return aware(last) if last is not None else None


def may_push(db: Database, channel: str, row: Claimed, rule) -> str:
    """A channel's push rule (`bot.channels.registry.PushRule`) on what the database knows: "" when the chat
    wrote at most `rule.window_hours` ago (its newest processed-message key) and fewer than `rule.most` campaign
    messages went to it since; else why not."""
    last = last_message_at(db, channel, row.chat)
    if last is None or utcnow() - last > dt.timedelta(hours=rule.window_hours):
        return f"no message from the user within {rule.window_hours:g} h"
    with db.session() as s:
        sent = s.scalar(select(func.count(OutboxMessage.id)).where(
            OutboxMessage.chat_id == row.chat_pk, OutboxMessage.status == SENT, OutboxMessage.sent_at > last))
    return f"{rule.most} campaign messages since the user's last message" if sent >= rule.most else ""


def finish(db: Database, row: Claimed, status: str, error: str = "", retry_at: dt.datetime | None = None,
           poll_id: str = "") -> None:
    """Record one outcome, unless another sender claimed the row since (its attempt number moved on). The row
    may have gone back to 'pending' meanwhile (the lease lapsed while the database was away): the outcome
    is still recorded, so it is not sent again. 'pending' with `retry_at` retries later; 'blocked'
    unsubscribes the chat (and, for a private chat, marks its user blocked)."""
    values: dict[str, Any] = {"status": status, "lease_until": None}
    if error:  # a row sent after retries keeps the error it got over
        values["last_error"] = error[:300]
    if status == SENT:
        values["sent_at"] = utcnow()
    if status == PENDING:
        values["not_before"] = retry_at or utcnow()
    with db.engine.begin() as s:
        done = s.execute(update(OutboxMessage).where(
            OutboxMessage.id == row.id, OutboxMessage.attempts == row.attempts,
            OutboxMessage.status.in_((SENDING, PENDING))).values(**values)).rowcount
        if not done:
            return  # another sender claimed the row since: leave it to its new owner
        if status == BLOCKED:
            s.execute(delete(Subscription).where(Subscription.chat_id == row.chat_pk))
            if row.chat_kind == "private":
                s.execute(update(User).where(User.id == row.user_id).values(blocked_bot=True))
        if status == SENT and row.payload:
            if poll_id:  # a native poll: its answers come back under the platform's id
                s.execute(update(QuizPoll).where(QuizPoll.id == row.payload["poll"]).values(poll_id=poll_id))
            elif row.payload.get("choices"):  # numbered choices: '2' or 'B' in the chat picks one
                chat_id = select(OutboxMessage.chat_id).where(OutboxMessage.id == row.id).scalar_subquery()
                s.execute(update(Chat).where(Chat.id == chat_id).values(state={"choices": row.payload["choices"]}))


def web_message(row: Claimed) -> OutgoingMessage:
    """A campaign row as the web chat shows it: the text, or the quiz question with its answer buttons."""
    if not row.payload:
        return OutgoingMessage(row.text)
    options = row.payload["options"]
    buttons = [[Button(f"{'ABCD'[i]}. {o}", f"qa:{row.payload['poll']}:{i}")] for i, o in enumerate(options)]
    return OutgoingMessage(f"❓ {row.payload['question']}", buttons,
                           quiz=Quiz(row.payload["poll"], row.payload["question"], tuple(options), -1, ""))


def deliver_web(db: Database, row: Claimed) -> bool:
    """A web row: stored in the visitor's chat (bot/channels/web_messages.py) and marked sent in one
    transaction, so the page shows it exactly once, whenever and however often this runs."""
    with db.session() as s:
        done = s.execute(update(OutboxMessage).where(
            OutboxMessage.id == row.id, OutboxMessage.attempts == row.attempts, OutboxMessage.status == SENDING,
        ).values(status=SENT, sent_at=utcnow(), lease_until=None)).rowcount
        if done:
            web_messages.deliver(s, row.chat_pk, web_message(row), "bot")
        return bool(done)


def release(db: Database, rows: Iterable[Claimed], not_before: dt.datetime | None = None) -> None:
    """Give claimed rows back unsent (shutdown, a long platform pause, quiet hours); the attempt is not counted."""
    rows = list(rows)
    if not rows:
        return
    mine = or_(*(and_(OutboxMessage.id == r.id, OutboxMessage.attempts == r.attempts) for r in rows))
    with db.session() as s:
        s.execute(update(OutboxMessage).where(mine, OutboxMessage.status == SENDING).values(
            status=PENDING, lease_until=None, attempts=OutboxMessage.attempts - 1, not_before=not_before or utcnow()))


def remaining(db: Database, channel: str) -> int:
    """Rows of active campaigns still to send on a channel (pending, retrying or in flight)."""
    with db.session() as s:
        return s.scalar(select(func.count(OutboxMessage.id)).join(Campaign, Campaign.id == OutboxMessage.campaign_id).where(
            OutboxMessage.channel == channel, OutboxMessage.status.in_((PENDING, SENDING)), Campaign.status == "active"))


def oldest_due(db: Database, channels: list[str]) -> dt.datetime | None:
    """When the longest-waiting due row of an active campaign on `channels` became due (None: nothing due)."""
    with db.session() as s:
        return s.scalar(select(func.min(OutboxMessage.not_before)).join(Campaign, Campaign.id == OutboxMessage.campaign_id)
                        .where(OutboxMessage.channel.in_(channels), OutboxMessage.status == PENDING,
                               OutboxMessage.not_before <= utcnow(), Campaign.status == "active"))


def counts(s: Session, campaign_ids: list[int] | None = None) -> dict[int, dict[str, int]]:
    """{campaign id: {status: rows}}."""
    q = select(OutboxMessage.campaign_id, OutboxMessage.status, func.count(OutboxMessage.id)).group_by(
        OutboxMessage.campaign_id, OutboxMessage.status)
    if campaign_ids is not None:
        q = q.where(OutboxMessage.campaign_id.in_(campaign_ids))
    out: dict[int, dict[str, int]] = {}
    for cid, status, n in s.execute(q):
        out.setdefault(cid, {})[status] = n
    return out


def cancel_pending(s: Session, campaign_id: int) -> None:
    s.execute(update(OutboxMessage).where(OutboxMessage.campaign_id == campaign_id, OutboxMessage.status == PENDING)
              .values(status=CANCELLED, last_error="campaign cancelled"))
