"""Subscribers for campaign tests and the broadcast benchmark, inserted in bulk (no service involved)."""

from __future__ import annotations

from sqlalchemy import insert, select

from bot.storage.db import Database
from bot.storage.models import Chat, Subscription, User

CHUNK = 5000


def seed(db: Database, n: int, channel: str = "telegram", area: str = "all", first: int = 1_000_000,
         quiz: bool = True) -> list[str]:
    """`n` users each subscribed to `area` in their own private chat; returns their chat ids."""
    ids = [str(first + i) for i in range(n)]
    for start in range(0, n, CHUNK):
        part = ids[start:start + CHUNK]
        with db.session() as s:
            s.execute(insert(User), [{"channel": channel, "external_id": x, "display_name": f"Người {x}", "role": "citizen",
                                      "area": "" if area == "all" else area, "blocked_bot": False} for x in part])
            s.execute(insert(Chat), [{"channel": channel, "external_id": x, "kind": "private"} for x in part])
            users = dict(s.execute(select(User.external_id, User.id).where(User.channel == channel, User.external_id.in_(part))).all())
            chats = dict(s.execute(select(Chat.external_id, Chat.id).where(Chat.channel == channel, Chat.external_id.in_(part))).all())
            s.execute(insert(Subscription), [{"user_id": users[x], "chat_id": chats[x], "area": area, "quiz": quiz} for x in part])
    return ids
