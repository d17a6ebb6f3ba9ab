"""The web chat's push subscriptions (bot/channels/web_push.py; migration 0010_web_push).

One row per browser push endpoint, for the visitor (the chat cookie's id, `chats.external_id` of the web
chat, as bot/channels/web_messages.py finds a visitor's chat) that subscribed it. `last_message_id` is
the cursor over `web_messages`: every message of the visitor up to it has been pushed or passed over.
A send holds the row (`lease_until`) while it waits for the push service, so two workers never push the
same message; a crashed sender's lease runs out and the message is sent again (the one in flight only).
"""

from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.columns import UtcDateTime
from bot.storage.models import Base, utcnow

ENDPOINT_CHARS = 1024


class WebPushSubscription(Base):
    __tablename__ = "web_push_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visitor: Mapped[str] = mapped_column(String(64), index=True)  # the visitor cookie's id (chats.external_id)
    endpoint: Mapped[str] = mapped_column(String(ENDPOINT_CHARS), unique=True)
    p256dh: Mapped[str] = mapped_column(String(100))  # base64url, as the browser gave it (65 bytes)
    auth: Mapped[str] = mapped_column(String(32))  # base64url (16 bytes)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_message_id: Mapped[int] = mapped_column(Integer, default=0)  # web_messages.id: pushed or passed over up to here
    failures: Mapped[int] = mapped_column(Integer, default=0)  # in a row, for the message at the cursor
    retry_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime(), nullable=True)  # 429/5xx: not before
    lease_until: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime(), nullable=True)  # a send in flight
    sent: Mapped[int] = mapped_column(Integer, default=0)  # notifications the push service took
    last_sent_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime(), nullable=True)
    last_status: Mapped[Optional[int]] = mapped_column(Integer, nullable=True)  # the push service's last answer (0: no answer)
    last_error: Mapped[str] = mapped_column(Text, default="")
    disabled_at: Mapped[Optional[dt.datetime]] = mapped_column(UtcDateTime(), nullable=True)  # 404/410, unsubscribed
