"""The Zalo Bot Platform's outbox transport: text in pieces of at most 2,000 characters, quizzes numbered."""

from __future__ import annotations

import httpx

from bot.channels.outbound import SENT, BotApi, Outcome, Row, numbered_quiz
from bot.channels.zalo import split_text


class ZaloOutbox(BotApi):
    def __init__(self, db, settings, http: httpx.Client) -> None:
        super().__init__(settings.zalo_api_base_url, settings.zalo_bot_token, http)

    def gap(self, row: Row) -> float:
        return 1.0

    def send(self, row: Row) -> Outcome:
        outcome = Outcome(SENT)
        for piece in split_text(numbered_quiz(row) if row.payload else row.text):  # cut at a break
            outcome = self.call("sendMessage", {"chat_id": row.chat, "text": piece})
            if outcome.status != SENT:
                break
        return outcome
