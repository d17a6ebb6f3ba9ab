"""Plain-text rendering of an answer for a terminal or a text-only chat."""

from __future__ import annotations

from bot import messages
from bot.retrieval.engine import Answer


def source_line(answer: Answer) -> str:
    return "; ".join(s["title"] for s in answer.sources)


def render_text(answer: Answer) -> str:
    parts = [answer.answer]
    if answer.answered and answer.sources:
        parts.append(f"{messages.SOURCE_PREFIX}: {source_line(answer)}")
    if answer.related:
        parts.append(messages.RELATED_HEADER + ":\n" + "\n".join(f"- {q}" for q in answer.related))
    if not answer.answered and answer.topics:
        parts.append("Chủ đề gần nhất: " + ", ".join(messages.TOPIC_NAMES.get(t, t) for t in answer.topics))
    return "\n\n".join(parts)
