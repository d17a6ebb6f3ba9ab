"""The one renderer of an engine Answer: the text and buttons every chat channel shows (channels
without buttons get the same choices numbered, by the conversation service), and plain text for a
terminal.

Three ways to reply (Answer.mode):
- answer: "Về câu hỏi: «…»", the entry's first phone screen, its source; «Xem tiếp» when there is more,
  «Không đúng câu tôi hỏi» (the runner-up entries and the team), 👍/👎, related questions, «Hỏi cán bộ».
- clarify: "Có phải bác muốn hỏi:" with the candidate entries and «Hỏi cán bộ».
- decline: the polite decline, the closest topics and «Hỏi cán bộ».

Button data (at most 64 bytes): more:<log>:<page>, wr:<log>, cand:<log>:<i>, fb:<log>:±1, rq:<log>:<i>,
esc:<log>, tp:<topic>. <log> is the conversation_log row of the question.
"""

from __future__ import annotations

from bot import messages
from bot.chat.types import Button, OutgoingMessage
from bot.retrieval.engine import Answer, trim_for_phone


def pages(answer: Answer) -> list[str]:
    """The answer as phone screens: the engine's first screen, then the rest of the entry, screen by screen."""
    first = answer.answer.strip()
    full = answer.full_answer.strip()
    if not answer.truncated or not full:
        return [first]
    rest = full[len(first):].strip() if full.startswith(first) else ""
    out = [first]
    while rest:
        page = trim_for_phone(rest)
        if not page or not rest.startswith(page):  # not a prefix: show what is left in one piece
            out.append(rest)
            break
        out.append(page)
        rest = rest[len(page):].strip()
    return out


def source_line(answer: Answer) -> str:
    return "; ".join(s["title"] for s in answer.sources)


def answer_message(answer: Answer, log_id: int, page: int = 0) -> OutgoingMessage:
    """What a chat shows for an Answer (`page` > 0: a later screen of a long answer, after «Xem tiếp»)."""
    if answer.mode == "clarify" and answer.candidates:
        return choices_message(messages.CLARIFY, answer.candidates, log_id)
    if not answer.answered:
        return decline_message(answer, log_id)
    screens = pages(answer)
    page = max(0, min(page, len(screens) - 1))
    head = messages.MATCHED_QUESTION.format(question=answer.matched_question) if answer.matched_question else ""
    if page:
        head = f"{head} {messages.CONTINUED.format(page=page + 1, pages=len(screens))}".strip()
    parts = [head, screens[page]]
    if answer.sources:
        parts.append(f"{messages.SOURCE_PREFIX}: {source_line(answer)}")
    rows: list[list[Button]] = []
    last = page == len(screens) - 1
    if not last:
        rows.append([Button(messages.BUTTON_SEE_MORE, f"more:{log_id}:{page + 1}")])
    if last:
        rows.append([Button(messages.BUTTON_LIKE, f"fb:{log_id}:1"), Button(messages.BUTTON_DISLIKE, f"fb:{log_id}:-1")])
    if page == 0:
        rows += [[Button(q, f"rq:{log_id}:{i}")] for i, q in enumerate(answer.related[:3])]
        rows.append([Button(messages.BUTTON_WRONG_MATCH, f"wr:{log_id}")])
    rows.append([Button(messages.BUTTON_ESCALATE, f"esc:{log_id}")])
    return OutgoingMessage("\n\n".join(p for p in parts if p), rows)


def choices_message(text: str, candidates: list[dict], log_id: int) -> OutgoingMessage:
    """Candidate entries to pick from (clarify, or «Không đúng câu tôi hỏi»), and the team."""
    rows = [[Button(c["question"], f"cand:{log_id}:{i}")] for i, c in enumerate(candidates[:3])]
    return OutgoingMessage(text, rows + [[Button(messages.BUTTON_ESCALATE, f"esc:{log_id}")]])


def decline_message(answer: Answer, log_id: int) -> OutgoingMessage:
    if answer.answer == messages.DECLINE_EMPTY:
        return OutgoingMessage(answer.answer)
    rows = [[Button(messages.TOPIC_NAMES[t], f"tp:{t}")] for t in answer.topics if t in messages.TOPIC_NAMES]
    rows.append([Button(messages.BUTTON_ESCALATE, f"esc:{log_id}")])
    return OutgoingMessage(answer.answer, rows)


def render_text(answer: Answer) -> str:
    """An Answer for a terminal (`python -m bot ask`): the whole entry at once, nothing to tap."""
    if answer.mode == "clarify" and answer.candidates:
        return "\n".join([messages.CLARIFY, *(f"{i}. {c['question']}" for i, c in enumerate(answer.candidates, 1))])
    parts = []
    if answer.answered and answer.matched_question:
        parts.append(messages.MATCHED_QUESTION.format(question=answer.matched_question))
    parts.append(answer.full_answer.strip() if answer.answered and answer.full_answer else answer.answer)
    if answer.answered and answer.sources:
        parts.append(f"{messages.SOURCE_PREFIX}: {source_line(answer)}")
    if answer.related:
        parts.append(messages.RELATED_HEADER + ":\n" + "\n".join(f"- {q}" for q in answer.related))
    if not answer.answered and answer.topics:
        parts.append(f"{messages.CLOSEST_TOPICS}: " + ", ".join(messages.TOPIC_NAMES.get(t, t) for t in answer.topics))
    return "\n\n".join(parts)
