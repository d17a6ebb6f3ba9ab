"""How a message reaches someone who is not in the conversation at hand: a team answer, a notice that a
question moved up, a reminder for a team member.

One call site for every such message: `Delivery.push` (async) or `Delivery.push_after_commit` (from the
database threads, once the transaction holding the message has committed). A channel running in this process
registers its `push` (bot.runner.connect: the message with its buttons, or its text with numbered choices where
the channel shows none); a channel without one (the web chat: bot.channels.web_messages stores the message) is
skipped here, and a message that was kept as a relay row (`Notice.relay_id`, delivered False)
reaches the citizen with the reply to their next message instead (bot.relay.inbox.undelivered). So nothing is
dropped: a row is marked delivered only after the platform took it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Awaitable, Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

from bot.chat.types import OutgoingMessage

log = logging.getLogger(__name__)
Pusher = Callable[[str, OutgoingMessage], Awaitable[bool]]  # (chat id on its channel, message) -> delivered


@dataclass
class Notice:
    channel: str
    chat_id: str
    message: OutgoingMessage
    relay_id: int | None = None  # a relay_messages row kept undelivered until this push succeeds


class Delivery:
    def __init__(self, db) -> None:
        self.db = db
        self.pushers: dict[str, Pusher] = {}
        self.buttonless: set[str] = set()
        self.loop: asyncio.AbstractEventLoop | None = None

    def add(self, channel: str, pusher: Pusher, buttons: bool = True) -> None:
        """A running channel that can deliver to any chat of its own now; `buttons`: whether it shows them."""
        self.pushers[channel] = pusher
        if not buttons:
            self.buttonless.add(channel)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """The event loop the pushers run on (pushes scheduled from database threads go there)."""
        self.loop = loop

    def can_push(self, channel: str) -> bool:
        return channel in self.pushers

    def buttons(self, channel: str) -> bool:
        return channel not in self.buttonless

    async def push(self, notice: Notice) -> bool:
        pusher = self.pushers.get(notice.channel)
        if pusher is None:
            return False
        try:
            delivered = bool(await pusher(notice.chat_id, notice.message))
        except Exception:  # a platform outage must not lose the message: it stays kept for later
            log.exception("delivery: pushing a message on %s failed", notice.channel)
            delivered = False
        if delivered and notice.relay_id is not None:
            await self.db.run(self._delivered, notice.relay_id)
        return delivered

    async def push_all(self, notices: list[Notice]) -> int:
        return sum([await self.push(n) for n in notices])

    def push_after_commit(self, s: Session, notices: list[Notice]) -> None:
        """Push these once `s` commits (never before: a rolled-back answer must not reach anyone)."""
        notices = [n for n in notices if self.can_push(n.channel)]
        if not notices or self.loop is None:
            return
        loop = self.loop
        event.listen(s, "after_commit", lambda _s: asyncio.run_coroutine_threadsafe(self.push_all(notices), loop), once=True)

    def _delivered(self, relay_id: int) -> None:
        from bot.relay.models import RelayMessage

        with self.db.session() as s:
            row = s.get(RelayMessage, relay_id)
            if row is not None:
                row.delivered = True
