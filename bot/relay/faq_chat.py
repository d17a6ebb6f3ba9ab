"""`/themfaq` (/addfaq): an admin adds an FAQ entry by a guided chat conversation; `/banthao`, `/duyetfaq`,
`/tuchoifaq`: the team's draft entries (from /luufaq) listed, approved (the same conversation, prefilled)
or rejected.

The conversation lives in the chat's state (`chat.state["addfaq"]`): topic (buttons), question, two or more
other phrasings, answer, source, then a preview to confirm. It is validated by the import rules
(faq_store.parse_row) and saved through FaqStore.apply, so it is versioned and answered live. `/huy` cancels.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy.orm import Session

from bot import messages
from bot.relay import drafts
from bot.faq.store import FaqStore, ImportRejected, parse_row
from bot.vntime import TZ
from bot.chat.types import Button, OutgoingMessage
from bot.relay import roles
from bot.retrieval.engine import ANSWER_CHARS
from bot.storage.models import Chat, User
from bot.textnorm import fold

STATE = "addfaq"
STEPS = ("topic", "question", "alternatives", "answer", "source", "confirm")
_URL = re.compile(r"https?://\S+")
PREVIEW = 200


def entry_id_for(topic: str, question: str, taken: set[str]) -> str:
    """A readable, unused id: '<topic>-<first words of the question, unaccented>'."""
    words = re.sub(r"[^a-z0-9]+", " ", fold(question).lower()).split()
    base = f"{topic}-" + "-".join(words)[:48].strip("-")
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


class FaqChat:
    def __init__(self, store: FaqStore | None, area_name) -> None:
        self.store = store  # None: this process has no knowledge directory to write (commands say so)
        self.area_name = area_name

    # -- commands (admins only: checked by bot.relay.commands.Relay.command) -------------------------

    def start(self, s: Session, user: User, chat: Chat, draft_id: str = "") -> list[OutgoingMessage]:
        if self.store is None:
            return [OutgoingMessage(messages.ADDFAQ_UNAVAILABLE)]
        state = {"step": "topic", "entry": {}, "alternatives": []}
        intro = messages.ADDFAQ_START
        if draft_id:
            draft = drafts.get_waiting(s, draft_id)
            if draft is None:
                return [OutgoingMessage(messages.DRAFT_NOT_FOUND.format(id=draft_id.lstrip("#")[:12]))]
            state["draft"] = draft.id
            state["entry"] = {"question": draft.question, "answer": draft.answer}
            intro = messages.DRAFT_APPROVE_START.format(id=draft.id, question=draft.question)
        chat.state = {STATE: state}
        return [OutgoingMessage(intro), self._ask_topic()]

    def list_drafts(self, s: Session) -> list[OutgoingMessage]:
        waiting = drafts.waiting(s, 20)
        if not waiting:
            return [OutgoingMessage(messages.DRAFTS_EMPTY)]
        lines = [messages.DRAFTS_HEADER.format(count=len(waiting))]
        lines += [messages.DRAFTS_ITEM.format(id=d.id, area=self.area_name(d.area), question=_short(d.question), answer=_short(d.answer))
                  for d in waiting]
        lines.append(messages.DRAFTS_FOOTER)
        return [OutgoingMessage("\n\n".join(lines))]

    def reject(self, s: Session, user: User, draft_id: str) -> list[OutgoingMessage]:
        if not draft_id:
            return [OutgoingMessage(messages.DRAFT_USAGE)]
        draft = drafts.decide(s, draft_id, False, roles.actor_of(user))
        if draft is None:
            return [OutgoingMessage(messages.DRAFT_NOT_FOUND.format(id=draft_id.lstrip("#")[:12]))]
        return [OutgoingMessage(messages.DRAFT_REJECTED.format(id=draft.id))]

    # -- the conversation ---------------------------------------------------------------------------

    def active(self, chat: Chat) -> bool:
        return bool((chat.state or {}).get(STATE))

    def text(self, s: Session, text: str, user: User, chat: Chat) -> list[OutgoingMessage]:
        state = dict(chat.state[STATE])
        entry, step = dict(state["entry"]), state["step"]
        text = text.strip()
        if step == "topic":
            topic = _topic(text)
            if topic is None:
                return [self._ask_topic()]
            entry["topic"] = topic
        elif step == "question":
            if not text:
                return [OutgoingMessage(messages.ADDFAQ_ASK["question"])]
            entry["question"] = text[:300]
        elif step == "alternatives":
            lines = [line.strip(" •-\t") for line in text.splitlines()]
            state["alternatives"] = list(dict.fromkeys([*state["alternatives"], *(x[:300] for x in lines if x)]))
            chat.state = {STATE: state | {"entry": entry}}
            return [self._alternatives_so_far(state["alternatives"])]
        elif step == "answer":
            if not text or len(text) > ANSWER_CHARS:
                return [OutgoingMessage(messages.ADDFAQ_ANSWER_LENGTH.format(count=len(text), limit=ANSWER_CHARS))]
            entry["answer"] = text
        elif step == "source":
            url = _URL.search(text)
            title = _URL.sub("", text).strip(" |,;-")
            if not title:
                return [OutgoingMessage(messages.ADDFAQ_ASK["source"])]
            entry["source"] = {"title": title[:300], **({"url": url.group().rstrip(".,;)")} if url else {})}
        else:  # confirm: a typed answer instead of a button
            word = fold(text)
            if word in ("co", "luu", "ok", "dong y", "yes"):
                return self._save(s, user, chat, state)
            return [self._preview(state)]
        return self._advance(chat, state | {"entry": entry})

    def button(self, s: Session, arg: str, user: User, chat: Chat) -> list[OutgoingMessage]:
        if not self.active(chat):
            return [OutgoingMessage(messages.ADDFAQ_EXPIRED)]
        state = dict(chat.state[STATE])
        kind, _, value = arg.partition(":")
        if kind == "t" and state["step"] == "topic" and value in messages.TOPIC_NAMES:
            return self._advance(chat, state | {"entry": {**state["entry"], "topic": value}})
        if kind == "next" and state["step"] == "alternatives" and len(state["alternatives"]) >= 2:
            return self._advance(chat, state)
        if kind == "ok" and state["step"] == "confirm":
            return self._save(s, user, chat, state)
        if kind == "no":
            return self.cancel(chat)
        return [self._prompt(state)]

    def cancel(self, chat: Chat) -> list[OutgoingMessage]:
        was = self.active(chat)
        chat.state = None
        return [OutgoingMessage(messages.ADDFAQ_CANCELLED if was else messages.CANCEL_NOTHING)]

    def _advance(self, chat: Chat, state: dict) -> list[OutgoingMessage]:
        """The next step whose answer is still missing (a draft already has its question and answer)."""
        entry = state["entry"]
        done = {"topic": "topic" in entry, "question": "question" in entry, "alternatives": len(state["alternatives"]) >= 2,
                "answer": "answer" in entry, "source": "source" in entry}
        state = state | {"step": next((step for step in STEPS[:-1] if not done[step]), "confirm")}
        chat.state = {STATE: state}
        return [self._prompt(state)]

    def _prompt(self, state: dict) -> OutgoingMessage:
        step = state["step"]
        if step == "topic":
            return self._ask_topic()
        if step == "alternatives":
            return self._alternatives_so_far(state["alternatives"]) if state["alternatives"] else OutgoingMessage(messages.ADDFAQ_ASK[step])
        if step == "confirm":
            return self._preview(state)
        return OutgoingMessage(messages.ADDFAQ_ASK[step])

    @staticmethod
    def _ask_topic() -> OutgoingMessage:
        rows = [[Button(name, f"af:t:{code}")] for code, name in messages.TOPIC_NAMES.items()]
        return OutgoingMessage(messages.ADDFAQ_ASK["topic"], rows + [[Button(messages.ADDFAQ_BUTTON_CANCEL, "af:no")]])

    @staticmethod
    def _alternatives_so_far(alternatives: list[str]) -> OutgoingMessage:
        listed = "\n".join(f"• {a}" for a in alternatives)
        if len(alternatives) < 2:
            return OutgoingMessage(messages.ADDFAQ_MORE_ALTERNATIVES.format(count=len(alternatives), listed=listed))
        return OutgoingMessage(messages.ADDFAQ_ENOUGH_ALTERNATIVES.format(count=len(alternatives), listed=listed),
                               [[Button(messages.ADDFAQ_BUTTON_NEXT, "af:next")]])

    def _raw(self, state: dict) -> dict:
        entry = state["entry"]
        taken = {e["id"] for e in self.store.entries()}
        return {
            "id": state.get("id") or entry_id_for(entry["topic"], entry["question"], taken), "topic": entry["topic"],
            "question": entry["question"], "alternatives": state["alternatives"], "answer": entry["answer"],
            "source": entry["source"], "updated": dt.datetime.now(TZ).date().isoformat(),
        }

    def _preview(self, state: dict) -> OutgoingMessage:
        raw = self._raw(state)
        text = messages.ADDFAQ_PREVIEW.format(
            id=raw["id"], topic=messages.TOPIC_NAMES[raw["topic"]], question=raw["question"],
            alternatives="\n".join(f"• {a}" for a in raw["alternatives"]), answer=raw["answer"],
            source=" ".join(filter(None, (raw["source"]["title"], raw["source"].get("url", "")))),
        )
        rows = [[Button(messages.ADDFAQ_BUTTON_SAVE, "af:ok"), Button(messages.ADDFAQ_BUTTON_CANCEL, "af:no")]]
        return OutgoingMessage(text, rows)

    def _save(self, s: Session, user: User, chat: Chat, state: dict) -> list[OutgoingMessage]:
        entry, problems = parse_row(self._raw(state), 0)
        if entry is None:
            chat.state = None
            return [OutgoingMessage(messages.ADDFAQ_INVALID.format(problems="; ".join(f"{p.field}: {p.message}" for p in problems)))]
        actor = roles.actor_of(user)
        try:  # in this message's transaction: the entry, its version and the approved draft commit together
            applied = self.store.apply({entry["id"]: entry}, actor, f"chat add {entry['id']}", session=s)
        except ImportRejected as exc:
            chat.state = None
            return [OutgoingMessage(messages.ADDFAQ_INVALID.format(problems="; ".join(x.message for x in exc.errors)))]
        chat.state = None
        if state.get("draft"):
            drafts.decide(s, state["draft"], True, actor, entry["id"])
        return [OutgoingMessage(messages.ADDFAQ_SAVED.format(id=entry["id"], version=applied.version))]


def _topic(text: str) -> str | None:
    """A topic typed by its code, its name or the start of its name."""
    word = fold(text).strip()
    if not word:
        return None
    for code, name in messages.TOPIC_NAMES.items():
        if word == code or fold(name) == word or (len(word) >= 4 and fold(name).startswith(word)):
            return code
    return None


def _short(text: str) -> str:
    """One line, cut; a draft's question was masked when it was saved (bot.relay.inbox.save_draft)."""
    text = " ".join(text.split())
    return text if len(text) <= PREVIEW else text[:PREVIEW].rstrip() + " …"

