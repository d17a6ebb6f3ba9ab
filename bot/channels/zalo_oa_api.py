"""A small blocking client for the Zalo Official Account Open API v3: consultation messages ("tin tư vấn").

`POST {ZALO_OA_API_BASE_URL}/v3.0/oa/message/cs` with the header `access_token` (not a Bearer header) and
`{"recipient": {"user_id"[, "message_id"]}, "message": {...}}`. Every answer, errors included, is HTTP 200
with `{"error": code, "message": ...}`: the body says what happened, never the status. An access token
the OA calls invalid or expired (TOKEN_ERRORS) is refreshed once (bot/channels/zalo_oa_tokens.py) and
the message sent again. Blocking (httpx's sync client is thread-safe): the channel calls it from
threads, the campaign senders from their worker threads. Nothing here logs a token, a user id or a text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from bot.channels.zalo_oa_tokens import TokenStore
from bot.chat.types import Button

MAX_TEXT = 2000  # characters of one text message
MAX_BUTTONS = 5  # buttons of one template; more choices go as numbered lines
MAX_TITLE = 100  # characters of a button's title
BUTTON_PREFIX = "#nut:"  # a tapped `oa.query.hide` button comes back as a text with this before its data

OK = 0
RATE_LIMITED = -32  # more than 4,000 requests a minute: back off and retry
NOT_FOLLOWER = -213  # the user does not follow the OA (unfollowed, or never did): do not retry
TOKEN_ERRORS = (-216, -220)  # access token invalid / expired: refresh, then retry once
OUTSIDE_WINDOW = (-230, -232)  # the OA's rules refuse a consultation message to this user now: never retry


@dataclass(frozen=True)
class Result:
    """What the API said: `code` its `error` (0: sent), None when there was no usable answer (network
    error, timeout, a body that is not the API's JSON): a transient failure."""

    code: int | None
    message: str = ""

    @property
    def sent(self) -> bool:
        return self.code == OK

    def describe(self) -> str:
        return f"error {self.code} {self.message}"[:300] if self.code is not None else self.message[:300]


def text_message(text: str) -> dict[str, Any]:
    return {"text": text}


def button_message(text: str, buttons: list[Button]) -> dict[str, Any]:
    """A text with the OA's button template: a choice is an `oa.query.hide` button whose payload comes
    back as a text (BUTTON_PREFIX + its data), a link an `oa.open.url` button."""
    out = []
    for b in buttons[:MAX_BUTTONS]:
        title = b.label if len(b.label) <= MAX_TITLE else b.label[: MAX_TITLE - 1] + "…"
        if b.url:
            out.append({"title": title, "type": "oa.open.url", "payload": {"url": b.url}})
        else:
            out.append({"title": title, "type": "oa.query.hide", "payload": BUTTON_PREFIX + b.data})
    return {"text": text, "attachment": {"type": "template", "payload": {"buttons": out}}}


def fits_buttons(buttons: list[Button]) -> bool:
    return 0 < len(buttons) <= MAX_BUTTONS


class OaApi:
    def __init__(self, base_url: str, tokens: TokenStore, http: httpx.Client) -> None:
        self.url = base_url.rstrip("/") + "/v3.0/oa/message/cs"
        self.tokens = tokens
        self._http = http

    def send(self, user_id: str, message: dict[str, Any], reply_to: str = "") -> Result:
        """Send one consultation message. `reply_to`: the user's msg_id this answers, so that the OA counts
        it as a reply, not as a message of its own accord."""
        recipient = {"user_id": user_id} | ({"message_id": reply_to} if reply_to else {})
        body = {"recipient": recipient, "message": message}
        token = self.tokens.access()
        result = self._post(token, body)
        if result.code in TOKEN_ERRORS:
            fresh = self.tokens.refresh(stale=token)
            if fresh and fresh != token:
                result = self._post(fresh, body)
        return result

    def _post(self, token: str, body: dict[str, Any]) -> Result:
        if not token:
            return Result(None, "no access token (see docs/zalo.md: connecting an OA)")
        try:
            response = self._http.post(self.url, json=body, headers={"access_token": token})
        except httpx.HTTPError as exc:  # timeouts, refused connections: transient
            return Result(None, type(exc).__name__)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or "error" not in answer:
            return Result(None, f"HTTP {response.status_code}, not the API's JSON")
        try:
            code = int(answer["error"])
        except (TypeError, ValueError):
            return Result(None, "an answer without a numeric error code")
        return Result(code, str(answer.get("message") or "")[:200])
