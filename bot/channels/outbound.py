"""What every channel's outbox transport shares: the outcome of one send, the Bot-API-shaped HTTP call, and
a quiz as numbered text for channels whose pushed messages carry no buttons.

A transport (`bot/channels/*_outbox.py`, named in bot/channels/registry.py) sends one outbox row — anything
with `chat`, `chat_kind`, `text` and `payload` (a quiz's question and options, or None) — and says how it
went; the campaign sender (bot/campaigns/senders.py) owns leases, pacing, retries and recording, the
transport owns the platform: its requests, its error codes, the gap it wants between two messages to a chat.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import httpx

from bot import messages
from bot.chat.numbering import LETTERS



class Status(StrEnum):
    """An outbox row's state (bot/campaigns/models.py): pending -> sending (claimed, leased) -> sent | pending
    (retry) | failed | blocked (the chat refused the bot: unsubscribed) | skipped (the platform would not take it,
    or the channel's push rule said no) | cancelled. A transport's `Outcome` is one of sent, pending, blocked,
    failed, skipped."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


SENT, PENDING, BLOCKED, FAILED, SKIPPED = Status.SENT, Status.PENDING, Status.BLOCKED, Status.FAILED, Status.SKIPPED


@dataclass(frozen=True)
class Outcome:
    status: str  # sent | pending (retry) | blocked | failed | skipped
    error: str = ""
    retry_after: float | None = None  # the platform asked us to wait (429): the whole channel pauses
    poll_id: str = ""  # a native poll's id, to tie its answers back


class Row(Protocol):
    chat: str
    chat_kind: str
    text: str
    payload: Any


class Transport(Protocol):
    def gap(self, row: Row) -> float: ...  # seconds between two messages to this chat

    def send(self, row: Row) -> Outcome: ...  # blocking: called from worker threads


def classify(response: httpx.Response) -> Outcome:
    """A Bot-API-shaped answer: {"ok", "result", "error_code", "description", "parameters"}."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return Outcome(PENDING, f"HTTP {response.status_code}, not JSON")
    if body.get("ok") is True and response.status_code < 400:
        poll = (body.get("result") or {}).get("poll") if isinstance(body.get("result"), dict) else None
        return Outcome(SENT, poll_id=str(poll["id"]) if poll else "")
    code = body.get("error_code") if isinstance(body.get("error_code"), int) else response.status_code
    error = f"{code} {str(body.get('description') or '')}"[:300]
    if code == 429:
        retry_after = (body.get("parameters") or {}).get("retry_after")
        return Outcome(PENDING, error, retry_after=float(retry_after) if isinstance(retry_after, (int, float)) else 5.0)
    if code == 403:
        return Outcome(BLOCKED, error)
    if code == 400:
        return Outcome(FAILED, error)
    return Outcome(PENDING, error)  # 5xx, 401/404 (a token being fixed), anything unexpected: retry


class BotApi:
    """POST `{base}{token}/{method}` with JSON; the token is never logged. Blocking: senders call it from
    worker threads (httpx's sync client is thread-safe, and cheaper per request than its async one here)."""

    def __init__(self, base_url: str, token: str, http: httpx.Client) -> None:
        self._prefix = f"{base_url}{token}/"
        self._http = http

    def call(self, method: str, params: dict) -> Outcome:
        try:
            return classify(self._http.post(self._prefix + method, json=params))
        except httpx.HTTPError as e:  # timeouts, refused connections: transient
            return Outcome(PENDING, type(e).__name__)


def numbered_quiz(row: Row) -> str:
    """A quiz as text for channels whose pushed messages carry no buttons: options A-D, answered by typing
    the letter (the row's payload keeps the choices, set on the chat when it is sent)."""
    options = [f"{LETTERS[i]}. {o}" for i, o in enumerate(row.payload["options"])]
    return "\n".join([f"❓ {row.payload['question']}", "", *options, "", messages.QUIZ_CHOICE_PROMPT])


@dataclass(frozen=True)
class Direct:
    """A message for one chat, shaped as an outbox row for a transport."""

    chat: str
    text: str
    chat_kind: str = "private"
    payload: Any = None


class TransportPush:
    """`push(chat_id, message)` for a channel configured but not running in this process (a web-only worker
    answering a citizen who asked on another platform): the channel's outbox transport sends the text now, in
    a worker thread, within the process's rate gate for it. Buttons cannot go this way; the relay numbers the
    choices of a citizen's answer for such a channel (registry `buttons` of the push: False)."""

    def __init__(self, transport: Transport, gate) -> None:
        self.transport, self.gate = transport, gate

    async def __call__(self, chat_id: str, message: Any) -> bool:
        await self.gate.take()
        outcome = await asyncio.to_thread(self.transport.send, Direct(chat_id, message.text))
        return outcome.status == SENT
