"""The plain messages that cross between channels and the conversation service."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class IncomingMessage:
    """What a person sent, whatever the platform.

    kind: text | command | button | poll_answer | other (sticker, photo) | unsupported (a protected
    account whose content the platform withholds: nothing about it is stored)
    For a command, `command` is its name without '/' and `text` its arguments.
    For a button, `data` is the button's data. For a poll answer, `poll_id` and `option`.
    """

    channel: str
    user_id: str
    chat_id: str
    kind: str
    text: str = ""
    command: str = ""
    data: str = ""
    poll_id: str = ""
    option: int = -1
    message_id: str = ""  # platform id, to drop a redelivered update
    display_name: str = ""
    chat_type: str = "private"  # private | group
    language: str = "vi"
    buttons: bool = True  # whether the channel can show buttons; if not, choices are numbered
    max_buttons: int = 0  # the most buttons one message can carry (0: no limit); more are numbered
    client: str = ""  # who sent it across identities (the web's client address), for limits; empty: the user
    new_identity: bool = False  # the channel made up this user for this message (a web visitor without a cookie)


@dataclass(frozen=True)
class Button:
    label: str
    data: str = ""  # sent back as a button press
    url: str = ""  # or a link to open


@dataclass(frozen=True)
class Quiz:
    """A multiple-choice question; `poll` is our id for it, to tie answers back. `seconds`: the time left
    to answer (a contest question; a native poll closes then, the web shows a countdown), 0: none."""

    poll: int
    question: str
    options: tuple[str, ...]
    correct: int
    explanation: str
    seconds: int = 0


@dataclass
class OutgoingMessage:
    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    quiz: Quiz | None = None
    chat_id: str = ""  # empty: reply in the chat the message came from


class Conversation(Protocol):
    """What a channel needs of the conversation service (bot/conversation/service.py), which it is handed
    when it is built: channels sit below the service and never import it."""

    db: Any  # bot.storage.db.Database
    engine: Any  # bot.retrieval.engine.Engine

    def handle(self, msg: IncomingMessage) -> list[OutgoingMessage]: ...

    def ask(self, question: str) -> Any: ...

    def register_poll(self, poll: int, platform_poll_id: str) -> None: ...

    def mark_blocked(self, channel: str, user_id: str) -> None: ...
