"""The escalation inbox: what a team member may see and do with the questions of their areas.

Everything here takes the member's areas (from bot.relay.roles.areas_of) and never shows who asked:
the inbox carries an id, an area, a waiting time and the question with numbers and e-mails masked.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import false, or_, select, true
from sqlalchemy.orm import Session

from bot.areas import ALL
from bot.conversation import web_messages
from bot.relay.models import FaqDraft, RelayMessage, RoleGrant
from bot.relay.roles import aware
from bot.storage.models import Chat, Escalation, User, parse_id, utcnow

INBOX_LIMIT = 20
SILENT_CHANNELS = ("webadmin",)  # web admin accounts: no chat to notify, they read the web inbox (bot/webadmin)
WAITING = ("open", "claimed")
PREVIEW_CHARS = 300
# A run of digits with separators between them: spaces, dots, dashes, slashes, commas, underscores,
# parentheses ('(091) 234 5678', '+84 912 345 678', '0912/345/678').
_NUMBER = re.compile(r"\+?\(?\d(?:[\s.\-/,_()]{0,3}\d)+")
_PLAIN_SEPARATORS = re.compile(r"[\d\s.\-+]*")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def _personal(run: str) -> bool:
    """Phone, ID-card and bank account numbers: 9+ digits however grouped, or 6+ grouped only by
    spaces, dots or dashes (so dates like 16/6/2025 and document numbers like 1169/QĐ-TTg stay)."""
    digits = sum(ch.isdigit() for ch in run)
    return digits >= 9 or (digits >= 6 and _PLAIN_SEPARATORS.fullmatch(run) is not None)


def mask(text: str) -> str:
    """The one masking of personal numbers and e-mail addresses, applied before a citizen's text is
    stored (questions, escalations, follow-ups, drafts) and again wherever staff read it."""
    text = _EMAIL.sub("[email]", text)
    return _NUMBER.sub(lambda m: "•" * 4 + m.group()[-2:] if _personal(m.group()) else m.group(), text)


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


def visible(s: Session, esc_id: str, areas: list[str]) -> Escalation | None:
    """An escalation by its '#12' or '12', if it is in these areas."""
    esc = by_id(s, esc_id)
    return esc if esc is not None and areas and covers(areas, esc.area) else None


def waited(since: dt.datetime) -> dt.timedelta:
    return utcnow() - aware(since)


@dataclass
class Relayed:
    """Where an answer goes: the citizen's chat; whether this channel can deliver it now; whether it is a
    web chat, where the answer is stored and shown live (bot/conversation/web_messages.py)."""

    chat_external_id: str
    now: bool
    stored: bool = False


def claim(esc: Escalation, member: User) -> None:
    esc.status, esc.claimed_by, esc.claimed_at = "claimed", member.id, utcnow()


def reply(s: Session, esc: Escalation, member: User, text: str, channel: str) -> Relayed:
    """Record the answer and close the question; delivered now only on the member's own channel."""
    chat = s.get(Chat, esc.chat_id)
    stored = chat.channel == web_messages.CHANNEL
    now = chat.channel == channel and not stored
    claim(esc, member)  # whoever answers handles the follow-ups
    esc.status, esc.answered_at = "answered", utcnow()
    s.add(RelayMessage(escalation_id=esc.id, author="team", user_id=member.id, text=text, delivered=now or stored))
    return Relayed(chat.external_id, now, stored)


def reopen(s: Session, esc: Escalation, citizen: User, text: str) -> None:
    """A citizen's follow-up: an answered question opens again; a waiting one just gets the text."""
    if esc.status == "answered":
        esc.status, esc.reopened = "open", esc.reopened + 1
    s.add(RelayMessage(escalation_id=esc.id, author="citizen", user_id=citizen.id, text=mask(text)))


def thread(s: Session, esc: Escalation) -> list[RelayMessage]:
    return list(s.scalars(select(RelayMessage).where(RelayMessage.escalation_id == esc.id).order_by(RelayMessage.id)))


def last_answer(s: Session, esc: Escalation) -> RelayMessage | None:
    return next((m for m in reversed(thread(s, esc)) if m.author == "team"), None)


def undelivered(s: Session, citizen: User) -> list[tuple[int, str]]:
    """Answers given from another channel, handed over (and marked delivered) on the citizen's next message."""
    rows = s.scalars(
        select(RelayMessage).join(Escalation, Escalation.id == RelayMessage.escalation_id)
        .where(Escalation.user_id == citizen.id, RelayMessage.author == "team", RelayMessage.delivered.is_(False))
        .order_by(RelayMessage.id)
    ).all()
    for m in rows:
        m.delivered = True
    return [(m.escalation_id, m.text) for m in rows]


def save_draft(s: Session, esc: Escalation, member: User) -> FaqDraft | None:
    """A draft FAQ entry from an answered question (once per question); None without an answer."""
    answer = last_answer(s, esc)
    if answer is None:
        return None
    draft = s.scalar(select(FaqDraft).where(FaqDraft.escalation_id == esc.id))
    if draft is None:
        draft = FaqDraft(escalation_id=esc.id, question=mask(esc.question), answer=answer.text, area=esc.area, created_by=member.id)
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
