"""Telegram's outbox transport: campaign messages and quiz polls through the Bot API over httpx (replies go
through python-telegram-bot in bot/channels/telegram.py; both take from the channel's one rate gate)."""

from __future__ import annotations

import httpx

from bot.channels.outbound import BotApi, Outcome, Row


class TelegramOutbox(BotApi):
    def __init__(self, db, settings, http: httpx.Client) -> None:
        super().__init__(settings.telegram_api_base_url, settings.telegram_bot_token, http)

    def gap(self, row: Row) -> float:
        """1 s between messages to a private chat, 3 s in a group (20 a minute)."""
        return 3.0 if row.chat_kind == "group" or row.chat.startswith("-") else 1.0

    def send(self, row: Row) -> Outcome:
        if row.payload:  # a regular, non-anonymous poll: answers are scored, the answer is revealed later
            return self.call("sendPoll", {
                "chat_id": row.chat, "question": row.payload["question"][:300],
                "options": [{"text": o[:100]} for o in row.payload["options"]], "is_anonymous": False, "type": "regular",
            })
        return self.call("sendMessage", {"chat_id": row.chat, "text": row.text})
