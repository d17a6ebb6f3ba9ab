"""Answer cards: a knowledge-base entry as plain text a team member forwards into the team's chat groups.

Plain text on purpose (no Markdown or HTML): it survives copy, paste and forwarding on every app.
"""

from __future__ import annotations

from bot import messages
from bot.knowledge.models import Chunk

CARD_ANSWER_CHARS = 600


def short(text: str, limit: int = CARD_ANSWER_CHARS) -> str:
    """At most `limit` characters, cut after a whole line or sentence when there is one."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    boundary = max(cut.rfind("\n"), cut.rfind(". ") + 1)
    if boundary < limit // 2:
        boundary = cut.rfind(" ")
    return text[: max(boundary, 1)].rstrip() + " …"


def answer_card(chunk: Chunk, bot_url: str = "") -> str:
    lines = [f"📌 {chunk.title}", "", short(chunk.text), "", f"{messages.SOURCE_PREFIX}: {chunk.source.title}"]
    if bot_url:
        lines.append(messages.CARD_BOT_LINK.format(url=bot_url))
    return "\n".join(lines)
