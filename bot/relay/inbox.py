"""The escalation inbox: what a team member may see and do with the questions of their areas.

Everything here takes the member's areas (from bot.relay.roles.areas_of) and never shows who asked:
the inbox carries an id, an area, a waiting time and the question with numbers and e-mails masked.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import false, or_, select, true
from sqlalchemy.orm import Session

from bot.areas import ALL
from bot.privacy import mask
from bot.relay.models import FaqDraft, RelayMessage, RoleGrant
from bot.relay.roles import INVITE_ALPHABET
from bot.vntime import aware
from bot.storage.models import EscalationStatus as Status, Chat, Escalation, User, parse_id, utcnow

CODE_LENGTH = 6  # the citizen's follow-up code: 'K7P2QX', no look-alike letters (no 0/O, 1/I)
_CODE = re.compile(rf"[{INVITE_ALPHABET}]{{{CODE_LENGTH}}}")
INBOX_LIMIT = 20
SILENT_CHANNELS = ("webadmin",)  # web admin accounts: no chat to notify, they read the web inbox (bot/webadmin)
WAITING = (Status.OPEN, Status.CLAIMED)
PREVIEW_CHARS = 300



def contact_for(esc: Escalation, member: User | None) -> str:
    """The callback number, for the member who took the question (claimed or answered it); '' for anyone else."""
    return (esc.contact or "") if member is not None and esc.claimed_by == member.id else ""


def preview(text: str) -> str:
    """A question as team members see it in notices and lists (chat and web): masked, cut at PREVIEW_CHARS."""
    text = mask(text.strip())
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS].rstrip() + " …"


def _covers(areas: list[str]):
    """SQL condition: an escalation of one of these areas, or of a commune inside one of them."""
    if ALL in areas:
        return true()
    return or_(false(), *(cond for a in areas for cond in (Escalation.area == a, Escalation.area.like(f"{a}/%"))))


def covers(areas: list[str], area: str) -> bool:
    return ALL in areas or any(area == a or area.startswith(a + "/") for a in areas)


def waiting_questions(s: Session, areas: list[str]) -> list[Escalation]:
    if not areas:
        return []
    query = select(Escalation).where(Escalation.status.in_(WAITING), _covers(areas))
    return list(s.scalars(query.order_by(Escalation.created_at, Escalation.id).limit(INBOX_LIMIT)))


def by_id(s: Session, esc_id: str) -> Escalation | None:
    """An escalation by its '#12' or '12' as typed (ASCII digits only)."""
    row_id = parse_id(esc_id)
    return s.get(Escalation, row_id) if row_id is not None else None


def new_code(s: Session) -> str:
    """A fresh follow-up code, unused so far (a clash is retried; 32**6 codes)."""
    while True:
        code = "".join(secrets.choice(INVITE_ALPHABET) for _ in range(CODE_LENGTH))
        if s.scalar(select(Escalation.id).where(Escalation.code == code)) is None:
            return code


def by_code(s: Session, text: str) -> Escalation | None:
    """An escalation by its follow-up code as typed ('k7p2qx', 'K7P2-QX', 'Mã câu hỏi: K7P2QX')."""
    code = re.sub(r"[\s\-.:]", "", text.upper()).removeprefix("MÃCÂUHỎI")
    if not _CODE.fullmatch(code):
        return None
    return s.scalar(select(Escalation).where(Escalation.code == code))


def visible(s: Session, esc_id: str, areas: list[str]) -> Escalation | None:
    """An escalation by its '#12' or '12', if it is in these areas."""
    esc = by_id(s, esc_id)
    return esc if esc is not None and areas and covers(areas, esc.area) else None


def status_key(esc: Escalation, member_id: int | None) -> str:
    """How the inbox names a question's state for this member (messages.RELAY_STATUS)."""
    if esc.status == Status.CLAIMED:
        return "mine" if esc.claimed_by == member_id else "claimed"
    if esc.status == Status.OPEN and esc.reopened:
        return "reopened"
    if esc.status == Status.OPEN and esc.overdue_at is not None:
        return "overdue"
    return esc.status


def waited(since: dt.datetime) -> dt.timedelta:
    return utcnow() - aware(since)


def claim(esc: Escalation, member: User) -> None:
    esc.status, esc.claimed_by, esc.claimed_at = Status.CLAIMED, member.id, utcnow()


@dataclass
class Relayed:
    """Where an answer goes: the citizen's chat, whether the answering channel delivers it now, and its row."""

    chat_external_id: str
    channel: str
    now: bool
    row_id: int


def reply(s: Session, esc: Escalation, member: User, text: str, channel: str) -> Relayed:
    """Record the answer and close the question; delivered now only on the member's own channel (else kept,
    delivered False, until a push or the citizen's next message takes it: bot.relay.delivery)."""
    chat = s.get(Chat, esc.chat_id)
    now = chat.channel == channel
    claim(esc, member)  # whoever answers handles the follow-ups
    esc.status, esc.answered_at = Status.ANSWERED, utcnow()
    esc.first_answered_at = esc.first_answered_at or esc.answered_at
    row = RelayMessage(escalation_id=esc.id, author="team", user_id=member.id, text=text, delivered=now)
    s.add(row)
    s.flush()
    return Relayed(chat.external_id, chat.channel, now, row.id)


def reopen(s: Session, esc: Escalation, citizen: User, text: str) -> None:
    """A citizen's follow-up: an answered question opens again; a waiting one just gets the text."""
    if esc.status == Status.ANSWERED:
        esc.status, esc.reopened = Status.OPEN, esc.reopened + 1
    s.add(RelayMessage(escalation_id=esc.id, author="citizen", user_id=citizen.id, text=mask(text)))


def thread(s: Session, esc: Escalation) -> list[RelayMessage]:
    return list(s.scalars(select(RelayMessage).where(RelayMessage.escalation_id == esc.id).order_by(RelayMessage.id)))


def undelivered(s: Session, citizen: User) -> list[RelayMessage]:
    """Answers and notices not pushed yet (another channel, a platform refusing), handed over (and marked
    delivered) on the citizen's next message."""
    rows = s.scalars(
        select(RelayMessage).join(Escalation, Escalation.id == RelayMessage.escalation_id)
        .where(Escalation.user_id == citizen.id, RelayMessage.author.in_(("team", "notice")), RelayMessage.delivered.is_(False))
        .order_by(RelayMessage.id)
    ).all()
    for m in rows:
        m.delivered = True
    return list(rows)


@dataclass
class Turn:
    """One question of a thread (the first, or a follow-up) and the team answer that followed it."""

    number: int  # 1, 2, … in the thread
    question: str
    answer: RelayMessage


def turns(s: Session, esc: Escalation) -> list[Turn]:
    """The question-and-answer pairs of a thread: each team answer with the citizen's text just before it."""
    pairs, asked = [], esc.question
    for m in thread(s, esc):
        if m.author == "citizen":
            asked = m.text
        elif m.author == "team" and asked is not None:
            pairs.append(Turn(len(pairs) + 1, asked, m))
            asked = None  # a second answer to the same question belongs to that question: keep the latest
        elif m.author == "team" and pairs:
            pairs[-1] = Turn(pairs[-1].number, pairs[-1].question, m)
    return pairs


def save_draft(s: Session, esc: Escalation, member: User, turn: Turn | None = None) -> FaqDraft | None:
    """A draft FAQ entry from one question-and-answer turn (the latest when not given); once per turn."""
    pairs = turns(s, esc)
    if not pairs:
        return None
    turn = turn or pairs[-1]
    draft = s.scalar(select(FaqDraft).where(FaqDraft.escalation_id == esc.id, FaqDraft.answer_message_id == turn.answer.id))
    if draft is None:
        draft = FaqDraft(escalation_id=esc.id, question=mask(turn.question), answer=turn.answer.text, area=esc.area,
                         created_by=member.id, answer_message_id=turn.answer.id)
        s.add(draft)
        s.flush()
    return draft


def notifiable(member: User) -> bool:
    """Whether a team member has a chat to be told of questions in (not a web admin account)."""
    return member.channel not in SILENT_CHANNELS and not member.blocked_bot


def on_duty_members(s: Session, area: str, channel: str | None, exclude: int) -> list[User]:
    """Team members and admins on duty whose areas cover `area`, reachable on `channel` (None: on any channel
    with a chat to notify)."""
    query = (select(User, RoleGrant.area).join(RoleGrant, RoleGrant.user_id == User.id)
             .where(RoleGrant.on_duty.is_(True), User.id != exclude, User.blocked_bot.is_(False),
                    User.channel == channel if channel else User.channel.not_in(SILENT_CHANNELS)))
    rows = s.execute(query).all()
    members = {u.id: u for u, a in rows if a == ALL or covers([a], area)}
    return sorted(members.values(), key=lambda u: u.id)
