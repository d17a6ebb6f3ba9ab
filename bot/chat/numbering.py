"""Choices as numbered lines, for channels that cannot show buttons: '2' or 'B' typed back picks one."""

from __future__ import annotations

from bot import messages
from bot.chat.types import OutgoingMessage

LETTERS = "ABCD"  # a quiz's options, however a channel shows them


def numbered(out: OutgoingMessage, first: int = 1) -> tuple[OutgoingMessage, list[str]]:
    """The message with its choices listed as numbers from `first` (quiz options as their letters), and the
    choices' data to remember in the receiving chat's state; unchanged (and no choices) without buttons."""
    choices = [b for row in out.buttons for b in row if b.data]
    if not choices:
        return out, []
    is_quiz = out.quiz is not None
    lines = [out.text, ""]
    lines += [b.label if is_quiz else f"{i}. {b.label}" for i, b in enumerate(choices, first)]
    lines += ["", messages.QUIZ_CHOICE_PROMPT if is_quiz else messages.CHOICE_PROMPT]
    return OutgoingMessage("\n".join(lines), chat_id=out.chat_id), [b.data for b in choices]


def remember(state: dict | None, choices: list[str]) -> dict:
    """A chat's state with these pending choices (its /themfaq conversation, context, «gặp cán bộ» and a question
    waiting for its area kept)."""
    kept = {k: state[k] for k in ("addfaq", "context", "human", "escalate") if state and k in state}
    return {**kept, "choices": choices}
