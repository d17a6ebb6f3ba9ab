"""The Zalo OA's outbox transport: consultation messages (bot/channels/zalo_oa_api.py) with the OA's pair of
tokens from the database. -213 (not a follower) unsubscribes, -230/-232 (the OA's time rules) are skipped
and never retried, -32 (rate limit) pauses the channel and retries."""

from __future__ import annotations

import httpx

from bot.channels.outbound import BLOCKED, FAILED, PENDING, SENT, SKIPPED, Outcome, Row, numbered_quiz
from bot.channels.zalo import split_text
from bot.channels.zalo_oa_api import NOT_FOLLOWER, OUTSIDE_WINDOW, RATE_LIMITED, TOKEN_ERRORS, OaApi, text_message
from bot.channels.zalo_oa_tokens import TokenStore


class ZaloOaOutbox:
    def __init__(self, db, settings, http: httpx.Client) -> None:
        self.api = OaApi(settings.zalo_oa_api_base_url, TokenStore.from_settings(db, settings, http), http)
        self.rate_limit_pause = 3 * settings.outbox_retry_seconds

    def gap(self, row: Row) -> float:
        return 1.0

    def send(self, row: Row) -> Outcome:
        for piece in split_text(numbered_quiz(row) if row.payload else row.text):
            result = self.api.send(row.chat, text_message(piece))
            if result.sent:
                continue
            error = f"zalo_oa: {result.describe()}"
            if result.code is None or result.code in TOKEN_ERRORS:
                return Outcome(PENDING, error)  # the platform, or its tokens, being fixed: retried
            if result.code == RATE_LIMITED:
                return Outcome(PENDING, error, retry_after=self.rate_limit_pause)
            if result.code == NOT_FOLLOWER:
                return Outcome(BLOCKED, error)
            if result.code in OUTSIDE_WINDOW:
                return Outcome(SKIPPED, error)
            return Outcome(FAILED, error)
        return Outcome(SENT)
