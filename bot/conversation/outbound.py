"""Messages for people on another channel than the one being answered, such as the notice of a web
visitor's question for a team member on Telegram: each running channel registers how it sends one
(bot/runner.py), and the channel that got the message hands such messages here.

Only channels running in this process can be reached; a team member on a channel that is not running
here still finds the question in /hopthu and the web inbox.
"""

from __future__ import annotations

import logging
from typing import Awaitable, Callable

from bot.conversation.types import OutgoingMessage

log = logging.getLogger(__name__)

Send = Callable[[str, OutgoingMessage], Awaitable[bool]]  # (chat id on that channel, message) -> delivered


class Outbound:
    def __init__(self) -> None:
        self._senders: dict[str, Send] = {}

    def add(self, channel: str, send: Send) -> None:
        self._senders[channel] = send

    def reaches(self, channel: str) -> bool:
        return channel in self._senders

    async def send(self, out: OutgoingMessage) -> bool:
        """Deliver `out` to `out.chat_id` on `out.channel`; False when it could not be (not running, refused)."""
        send = self._senders.get(out.channel)
        if send is None:
            log.info("outbound: no %s channel running in this process; a message for chat %s stays in the inbox",
                     out.channel, out.chat_id[:12])
            return False
        try:
            return await send(out.chat_id, out)
        except Exception:  # one platform's outage must not fail the conversation that caused the message
            log.exception("outbound: sending on %s failed", out.channel)
            return False
