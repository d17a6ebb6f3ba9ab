"""The web chat's messages: what a visitor wrote, what the bot and the team said, in one table.

The web chat has no platform that keeps a conversation, so every message to or from a web visitor is
a row here, whoever sends it: the chat's own replies (bot/channels/web_api.py), a team member's answer
from any channel (`deliver`, called by bot/relay/commands.py), campaign messages and quiz pushes (the
outbox's web sender, bot/campaigns/senders.py). The page reads the last HISTORY of them on load
(/api/history) and gets new ones as they are committed (/api/events, bot/channels/web_live.py): a
commit in this process wakes the stream at once (`on_commit`), other processes find the row by polling.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any, Callable, Optional

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, delete, event, false, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from bot.chat.types import OutgoingMessage
from bot.storage.columns import UtcDateTime
from bot.storage.models import Base, Chat, utcnow

CHANNEL = "web"
AUTHORS = ("user", "bot", "team")
HISTORY = 50  # messages a page shows on load
KEPT = dt.timedelta(days=90)  # older messages are pruned (bot/channels/web_live.py)
_WROTE = "web_messages_written"


class WebMessage(Base):
    """One message of a web chat; its id is the event id of the live stream (Last-Event-ID)."""

    __tablename__ = "web_messages"
    __table_args__ = (Index("ix_web_messages_chat_id_id", "chat_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id", ondelete="CASCADE"))
    author: Mapped[str] = mapped_column(String(8))  # user | bot | team
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[Optional[list[Any]]] = mapped_column(JSON, nullable=True)
    quiz: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON, nullable=True)  # question and options, never the answer
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    # the chat's own reply to what the visitor just sent (/api/chat), not a team answer or a campaign: never
    # a browser notification (bot/channels/web_push.py; migration 0010_web_push)
    reply: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


def content(out: OutgoingMessage) -> dict[str, Any]:
    """What the page shows of a message: its text, buttons and quiz (without the right answer)."""
    buttons = [[{"label": b.label, "data": b.data, "url": b.url} for b in row] for row in out.buttons]
    quiz = {"question": out.quiz.question, "options": list(out.quiz.options)} if out.quiz else None
    if quiz and getattr(out.quiz, "seconds", 0):  # a timed (contest) question: the seconds left to answer
        quiz["seconds"] = out.quiz.seconds
    return {"text": out.text, "buttons": buttons, "quiz": quiz}


def deliver(s: Session, chat_id: int, out: OutgoingMessage, author: str = "bot", reply: bool = False) -> WebMessage:
    """Store one message of a web chat (`chat_id`: chats.id) in the caller's transaction; once committed it
    is in the visitor's history and on every page they have open. The one way a message reaches a web
    visitor, a team member's answer included. `reply`: the answer to the visitor's own request (/api/chat),
    which they are looking at; the others (team answers, campaigns) may also reach them as a notification."""
    if author not in AUTHORS:
        raise ValueError(f"unknown author {author!r}")
    shown = content(out)
    row = WebMessage(chat_id=chat_id, author=author, text=shown["text"], buttons=shown["buttons"] or None, quiz=shown["quiz"],
                     reply=reply)
    s.add(row)
    s.flush()
    s.info[_WROTE] = True
    return row


def as_json(row: WebMessage) -> dict[str, Any]:
    """The message object of /api/history and /api/events."""
    at = row.created_at  # UTC-aware (bot/storage/columns.py)
    return {"id": row.id, "from": row.author, "text": row.text, "buttons": row.buttons or [], "quiz": row.quiz,
            "at": at.astimezone(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")}


def chat_of(s: Session, visitor: str) -> Chat | None:
    return s.scalar(select(Chat).where(Chat.channel == CHANNEL, Chat.external_id == visitor))


def history(s: Session, visitor: str, limit: int = HISTORY) -> list[dict[str, Any]]:
    """The visitor's last `limit` messages, oldest first."""
    chat = chat_of(s, visitor)
    if chat is None:
        return []
    rows = s.scalars(select(WebMessage).where(WebMessage.chat_id == chat.id).order_by(WebMessage.id.desc()).limit(limit)).all()
    return [as_json(r) for r in reversed(rows)]


def after(s: Session, visitor: str, last_id: int, limit: int = HISTORY) -> list[dict[str, Any]]:
    """The visitor's messages with an id above `last_id` (a reconnecting stream), oldest first, at most `limit`
    (the newest)."""
    chat = chat_of(s, visitor)
    if chat is None:
        return []
    rows = s.scalars(select(WebMessage).where(WebMessage.chat_id == chat.id, WebMessage.id > last_id)
                     .order_by(WebMessage.id.desc()).limit(limit)).all()
    return [as_json(r) for r in reversed(rows)]


def newer(s: Session, above: int, limit: int = 1000) -> list[tuple[str, dict[str, Any]]]:
    """(visitor, message) for every message with an id above `above`, oldest first: the live streams' feed."""
    rows = s.execute(select(WebMessage, Chat.external_id).join(Chat, Chat.id == WebMessage.chat_id)
                     .where(WebMessage.id > above).order_by(WebMessage.id).limit(limit)).all()
    return [(visitor, as_json(row)) for row, visitor in rows]


def last_id(s: Session) -> int:
    return s.scalar(select(WebMessage.id).order_by(WebMessage.id.desc()).limit(1)) or 0


def prune(s: Session, now: dt.datetime | None = None) -> int:
    """Forget messages older than KEPT."""
    return s.execute(delete(WebMessage).where(WebMessage.created_at < (now or utcnow()) - KEPT)).rowcount or 0


# -- telling this process's live streams that messages were committed -------------------------------

_listeners: list[Callable[[], None]] = []
_lock = threading.Lock()


def on_commit(callback: Callable[[], None]) -> Callable[[], None]:
    """Call `callback` (from the committing thread) after every commit in this process that stored a web
    message; returns the function that stops it."""
    with _lock:
        _listeners.append(callback)

    def remove() -> None:
        with _lock:
            if callback in _listeners:
                _listeners.remove(callback)

    return remove


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.info.pop(_WROTE, False):
        with _lock:
            listeners = list(_listeners)
        for callback in listeners:
            callback()


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_WROTE, None)
