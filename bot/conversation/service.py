"""The conversation service: IncomingMessage -> list[OutgoingMessage], with state in the database.

Channel-agnostic: no platform code here. A channel that cannot show buttons (Zalo) gets the same
choices as numbered lines, and the service remembers them so that '2' or 'B' picks one.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import re
import threading
import time
from collections import OrderedDict, deque
from dataclasses import replace
from pathlib import Path

from sqlalchemy import case, delete, event, func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from bot import messages
from bot.admin.faq_store import FaqStore
from bot.areas import ALL, Area, find_area
from bot.conversation.types import Button, IncomingMessage, OutgoingMessage, Quiz
from bot.knowledge.models import Chunk, QuizQuestion
from bot.relay import commands as relay
from bot.relay.inbox import mask
from bot.retrieval.engine import Answer, Engine
from bot.storage.db import Database
from bot.storage.models import (
    Chat,
    Conversation,
    Escalation,
    ProcessedMessage,
    QuizAnswer,
    QuizPoll,
    Subscription,
    User,
    get_or_create,
    parse_id,
    utcnow,
)
from bot.textnorm import clean, fold

# Command names, with Vietnamese aliases, mapped to handler names.
COMMANDS = {
    "start": "start", "batdau": "start",
    "help": "help", "trogiup": "help", "huongdan": "help",
    "topics": "topics", "chude": "topics",
    "subscribe": "subscribe", "dangky": "subscribe",
    "unsubscribe": "unsubscribe", "huydangky": "unsubscribe", "stop": "unsubscribe",
    "quiz": "quiz", "cauhoi": "quiz", "docauhoi": "quiz",
    "score": "score", "diem": "score",
    "human": "human", "canbo": "human",
    "cancel": "cancel", "huy": "cancel",
    **{name: "relay" for name in relay.COMMANDS},  # team and admin commands: bot/relay/commands.py
}
LETTERS = "ABCD"
MAX_CALLBACK_BYTES = 64  # Telegram's limit for callback_data
TOPIC_QUESTIONS = 6
ESCALATIONS_PER_USER, ESCALATIONS_PER_CLIENT, ESCALATION_WINDOW = 5, 20, 3600.0  # questions to the team per hour
PROCESSED_KEPT = dt.timedelta(days=7)  # platforms redeliver an update for a day at most
PRUNE_EVERY = 3600.0  # seconds between sweeps of old processed-message keys (per process)

log = logging.getLogger(__name__)


class FloodGuard:
    """At most `limit` events per key in `window` seconds (per process). Memory is bounded: keys
    unseen for a window are forgotten, and beyond `max_keys` the least recently seen go first."""

    def __init__(self, limit: int, window: float, max_keys: int = 100_000) -> None:
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()  # least recently seen first
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            q = self._seen.pop(key, None) or deque()
            self._seen[key] = q
            while q and now - q[0] > self.window:
                q.popleft()
            allowed = len(q) < self.limit
            if allowed:
                q.append(now)
            while self._seen:
                oldest = next(iter(self._seen.values()))
                if len(self._seen) > self.max_keys or not oldest or now - oldest[-1] > self.window:
                    self._seen.popitem(last=False)
                else:
                    break
            return allowed

    def __len__(self) -> int:
        return len(self._seen)


class ConversationService:
    def __init__(
        self,
        engine: Engine,
        db: Database,
        quiz: list[QuizQuestion],
        areas: list[Area],
        flood_limit: int = 8,
        flood_window: float = 30.0,
        public_bot_url: str = "",
        knowledge_dir: Path | None = None,  # lets admins add FAQ entries by chat (/themfaq); None: they cannot here
    ) -> None:
        self.engine = engine
        self.db = db
        self.quiz = {q.id: q for q in quiz}
        self.areas = areas
        self.flood = FloodGuard(flood_limit, flood_window)
        self.escalations = FloodGuard(ESCALATIONS_PER_USER, ESCALATION_WINDOW)
        self.client_escalations = FloodGuard(ESCALATIONS_PER_CLIENT, ESCALATION_WINDOW)
        self._next_prune = 0.0
        self._engine_lock = threading.Lock()  # the embedding engine is not shared across threads
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._catalogue: tuple[list[Chunk], dict[str, Chunk], list[str]] = ([], {}, [])
        store = FaqStore(knowledge_dir, db) if knowledge_dir is not None else None
        self.relay = relay.Relay(self.search, self.chunk, areas, public_bot_url, store)

    # -- entry point ---------------------------------------------------------------------------

    def handle(self, msg: IncomingMessage) -> list[OutgoingMessage]:
        """Answer one message. Never raises for bad input; a database outage asks to retry.

        The message's platform id is recorded in the same transaction as its work, so a failure
        never marks it handled; a conflict with a concurrent transaction is retried once afresh."""
        if msg.kind == "unsupported":
            return [OutgoingMessage(messages.UNSUPPORTED_ACCOUNT)]  # protected account: store nothing
        key = f"{msg.channel}:{msg.chat_id}:{msg.message_id}"[:160] if msg.message_id else ""
        if key in self._recent:
            return []
        # Control characters (NUL included, which PostgreSQL refuses) and markup go at the door.
        msg = replace(msg, text=clean(msg.text), display_name=clean(msg.display_name))
        if not self.flood.allow(f"{msg.channel}:{msg.user_id}"):
            return [OutgoingMessage(messages.FLOOD)]
        for attempt in (1, 2):
            try:
                out = self._handle_once(msg, key)
                break
            except IntegrityError as exc:  # e.g. a redelivery handled by another worker meanwhile
                if attempt == 2:
                    log.warning("conversation: %s twice on one message; asked to retry", type(exc.orig).__name__)
                    return [OutgoingMessage(messages.RETRY_LATER)]
            except OperationalError:
                return [OutgoingMessage(messages.RETRY_LATER)]
        if key:
            self._recent[key] = None
            if len(self._recent) > 10_000:
                self._recent.popitem(last=False)
        self._prune_processed()
        return out

    def _handle_once(self, msg: IncomingMessage, key: str) -> list[OutgoingMessage]:
        with self.db.session() as s:
            if key and s.get(ProcessedMessage, key) is not None:
                return []  # a redelivered update, already answered
            user, chat, created = self._identify(s, msg)
            writes = _Writes(s)
            out = self.relay.pending(s, user, msg.buttons) + self._dispatch(s, msg, user, chat)
            if not msg.buttons:
                out = [self._number_choices(chat, m) for m in out]
            if key:
                s.add(ProcessedMessage(key=key))
            elif msg.new_identity and created and not writes.any():
                s.rollback()  # a visitor without a cookie who only looked: keep no rows for them
            return out

    def _prune_processed(self) -> None:
        """Forget processed-message keys older than PROCESSED_KEPT (at most every PRUNE_EVERY seconds)."""
        now = time.monotonic()
        if now < self._next_prune:
            return
        self._next_prune = now + PRUNE_EVERY
        try:
            with self.db.session() as s:
                s.execute(delete(ProcessedMessage).where(ProcessedMessage.created_at < utcnow() - PROCESSED_KEPT))
        except OperationalError:
            self._next_prune = now  # try again on the next message

    # -- dispatch ------------------------------------------------------------------------------

    def _dispatch(self, s: Session, msg: IncomingMessage, user: User, chat: Chat) -> list[OutgoingMessage]:
        if msg.kind == "command":
            handler = COMMANDS.get(msg.command.lower())
            if handler is None:
                return [OutgoingMessage(messages.UNKNOWN_COMMAND.format(command=msg.command[:32]))]
            return getattr(self, f"_cmd_{handler}")(s, msg, user, chat)
        if msg.kind == "button":
            return self._button(s, msg.data, msg, user, chat)
        if msg.kind == "poll_answer":
            poll = s.scalar(select(QuizPoll).where(QuizPoll.channel == msg.channel, QuizPoll.poll_id == msg.poll_id))
            if poll is None or not msg.poll_id:
                return [OutgoingMessage(messages.HELP)]
            return self._poll_answer(s, poll, msg.option, user, native=True)
        if msg.kind != "text":
            return [OutgoingMessage(messages.NOT_TEXT)]
        text = msg.text.strip()
        pending = (chat.state or {}).get("choices")
        if pending and re.fullmatch(r"[0-9]{1,2}|[a-dA-D]", text):
            return self._pick_choice(s, text, pending, msg, user, chat)
        faq = self.relay.faq_text(s, text, user, chat)  # an admin's /themfaq conversation going on
        if faq is not None:
            return faq
        followup = (chat.state or {}).get("followup")
        chat.state = None
        if followup and text:
            return self.relay.followup(s, str(followup), text, user)
        return self._question(s, text, msg, user, chat)

    def _button(self, s: Session, data: str, msg: IncomingMessage, user: User, chat: Chat) -> list[OutgoingMessage]:
        kind, _, arg = data.partition(":")
        if kind == "fb":
            return self._feedback(s, arg, user)
        if kind == "rq":
            log_id, _, n = arg.partition(":")
            log = _row(s, Conversation, log_id)
            if log and log.user_id == user.id and (i := _index(n, len(log.related))) is not None:
                return self._question(s, log.related[i], msg, user, chat)
        elif kind == "esc":
            log = _row(s, Conversation, arg)
            if log and log.user_id == user.id:
                return self._escalate(s, log.question, msg, user, chat, log.id)
            return [OutgoingMessage(messages.ESCALATE_ASK)]
        elif kind == "af":
            return self.relay.faq_button(s, arg, user, chat)
        elif kind in relay.BUTTONS:
            return self.relay.button(s, kind, arg, msg, user, chat)
        elif kind == "tp" and arg in self._topics():
            return [self._topic_questions(arg)]
        elif kind == "fq" and (entry := self._faq_entry(arg)):
            return self._question(s, entry.title, msg, user, chat)
        elif kind == "sub":
            area = None if arg == ALL else find_area(self.areas, arg)
            if arg == ALL or area:
                return [self._subscribe(s, user, chat, area)]
        elif kind == "qa":
            poll_id, _, choice = arg.partition(":")
            poll = _row(s, QuizPoll, poll_id)
            if poll is not None and poll.chat_id == chat.id and (i := _index(choice, len(LETTERS))) is not None:
                return self._poll_answer(s, poll, i, user)  # only a poll sent to this chat
        return [OutgoingMessage(messages.HELP)]

    def _pick_choice(self, s: Session, text: str, pending: list[str], msg, user, chat) -> list[OutgoingMessage]:
        index = int(text) - 1 if text.isdigit() else LETTERS.index(text.upper())
        if not 0 <= index < len(pending):
            return [OutgoingMessage(messages.CHOICE_UNKNOWN)]
        chat.state = _keep_faq(chat.state)
        return self._button(s, pending[index], msg, user, chat)

    # -- questions -----------------------------------------------------------------------------

    def ask(self, question: str) -> Answer:
        """The engine's answer alone, outside any conversation (the web API); safe from any thread."""
        with self._engine_lock:
            return self.engine.ask(question)

    def search(self, query: str, k: int = 5) -> list:
        """The top knowledge-base chunks with their scores (relay tools); safe from any thread."""
        with self._engine_lock:
            return self.engine.search(query, k)

    def _question(self, s: Session, text: str, msg: IncomingMessage, user: User, chat: Chat) -> list[OutgoingMessage]:
        answer = self.ask(text)
        log = Conversation(
            user_id=user.id, chat_id=chat.id, channel=msg.channel, question=mask(text)[:4000], chunk_id=answer.chunk_id,
            topic=answer.topic, answered=answer.answered, confidence=answer.confidence, related=answer.related,
            latency_ms=answer.latency_ms,
        )
        s.add(log)
        s.flush()
        return [self._render_answer(answer, log.id)]

    def _render_answer(self, answer: Answer, log_id: int) -> OutgoingMessage:
        if not answer.answered:
            if answer.answer == messages.DECLINE_EMPTY:
                return OutgoingMessage(answer.answer)
            rows = [[Button(messages.TOPIC_NAMES[t], f"tp:{t}")] for t in answer.topics if t in messages.TOPIC_NAMES]
            rows.append([Button(messages.BUTTON_ESCALATE, f"esc:{log_id}")])
            return OutgoingMessage(answer.answer, rows)
        text = answer.answer
        if answer.sources:
            text += f"\n\n{messages.SOURCE_PREFIX}: " + "; ".join(src["title"] for src in answer.sources)
        rows = [[Button(messages.BUTTON_LIKE, f"fb:{log_id}:1"), Button(messages.BUTTON_DISLIKE, f"fb:{log_id}:-1")]]
        rows += [[Button(q, f"rq:{log_id}:{i}")] for i, q in enumerate(answer.related[:3])]
        rows.append([Button(messages.BUTTON_ESCALATE, f"esc:{log_id}")])
        return OutgoingMessage(text, rows)

    def _feedback(self, s: Session, arg: str, user: User) -> list[OutgoingMessage]:
        log_id, _, value = arg.partition(":")
        log = _row(s, Conversation, log_id)
        if log is None or log.user_id != user.id or value not in ("1", "-1"):
            return [OutgoingMessage(messages.HELP)]
        log.feedback = int(value)
        if value == "1":
            return [OutgoingMessage(messages.FEEDBACK_THANKS)]
        return [OutgoingMessage(messages.FEEDBACK_SORRY, [[Button(messages.BUTTON_ESCALATE, f"esc:{log.id}")]])]

    def _escalate(self, s: Session, question: str, msg: IncomingMessage, user: User, chat: Chat,
                  log_id: int | None) -> list[OutgoingMessage]:
        """The acknowledgement, then notices for the on-duty team members of the citizen's area.
        At most ESCALATIONS_PER_USER per person and ESCALATIONS_PER_CLIENT per client address an hour."""
        if not self.escalations.allow(f"{msg.channel}:{msg.user_id}") or (
            msg.client and not self.client_escalations.allow(f"{msg.channel}:{msg.client}")
        ):
            return [OutgoingMessage(messages.ESCALATE_TOO_MANY)]
        esc = Escalation(user_id=user.id, chat_id=chat.id, conversation_id=log_id, question=mask(question)[:4000], area=user.area)
        s.add(esc)
        s.flush()
        return [OutgoingMessage(messages.ESCALATED.format(id=esc.id))] + self.relay.escalated(s, esc, user.channel)

    def _topic_questions(self, topic: str) -> OutgoingMessage:
        entries = [c for c in self._current()[1].values() if c.kind == "faq" and c.topic == topic][:TOPIC_QUESTIONS]
        rows = [[Button(c.title, f"fq:{c.id.removeprefix('faq:')}")] for c in entries]
        rows = [r for r in rows if len(r[0].data.encode()) <= MAX_CALLBACK_BYTES]
        return OutgoingMessage(messages.TOPIC_QUESTIONS.format(topic=messages.TOPIC_NAMES.get(topic, topic)), rows)

    # -- commands ------------------------------------------------------------------------------

    def _cmd_start(self, s, msg, user, chat) -> list[OutgoingMessage]:
        name = msg.display_name.strip() or "bạn"
        return [OutgoingMessage(messages.WELCOME.format(name=name), self._topic_rows())]

    def _cmd_help(self, s, msg, user, chat) -> list[OutgoingMessage]:
        return [OutgoingMessage(messages.HELP + self.relay.help(s, user))]

    def _cmd_topics(self, s, msg, user, chat) -> list[OutgoingMessage]:
        return [OutgoingMessage(messages.TOPICS_PROMPT, self._topic_rows())]

    def _topic_rows(self) -> list[list[Button]]:
        return [[Button(messages.TOPIC_NAMES[t], f"tp:{t}")] for t in self._topics()]

    # -- what the engine serves now (live FAQ edits swap its chunk list) ------------------------

    def chunk(self, chunk_id: str) -> Chunk | None:
        """A knowledge chunk by id, as the engine serves it now."""
        return self._current()[1].get(chunk_id)

    def _faq_entry(self, entry_id: str) -> Chunk | None:
        return self.chunk(f"faq:{entry_id}")

    def _topics(self) -> list[str]:
        return self._current()[2]

    def _current(self) -> tuple[list[Chunk], dict[str, Chunk], list[str]]:
        """Chunks by id and FAQ topics, recomputed only when the engine has swapped in new chunks."""
        chunks = self.engine.chunks
        if self._catalogue[0] is not chunks:
            topics = {c.topic for c in chunks if c.kind == "faq"} & set(messages.TOPIC_NAMES)
            self._catalogue = (chunks, {c.id: c for c in chunks}, sorted(topics, key=list(messages.TOPIC_NAMES).index))
        return self._catalogue

    def _cmd_human(self, s, msg, user, chat) -> list[OutgoingMessage]:
        question = msg.text.strip()
        if not question:
            return [OutgoingMessage(messages.ESCALATE_ASK)]
        return self.relay.followup_in(s, question, user) or self._escalate(s, question, msg, user, chat, None)

    def _cmd_relay(self, s, msg, user, chat) -> list[OutgoingMessage]:
        return self.relay.command(s, msg, user, chat)

    def _cmd_cancel(self, s, msg, user, chat) -> list[OutgoingMessage]:
        return self.relay.faq.cancel(chat)

    def _cmd_subscribe(self, s, msg, user, chat) -> list[OutgoingMessage]:
        query = msg.text.strip()
        if fold(query) in ("all", "tat ca", "toan quoc"):
            return [self._subscribe(s, user, chat, None)]
        if query:
            area = find_area(self.areas, query)
            if area:
                return [self._subscribe(s, user, chat, area)]
            return [OutgoingMessage(messages.SUBSCRIBE_UNKNOWN.format(query=query[:60]), self._area_rows())]
        return [OutgoingMessage(messages.SUBSCRIBE_PROMPT, self._area_rows())]

    def _area_rows(self) -> list[list[Button]]:
        rows = [[Button(messages.BUTTON_ALL_AREAS, f"sub:{ALL}")]]
        return rows + [[Button(a.name, f"sub:{a.code}")] for a in self.areas]

    def _subscribe(self, s: Session, user: User, chat: Chat, area: Area | None) -> OutgoingMessage:
        code = area.code if area else ALL
        if s.scalar(select(Subscription).where(Subscription.user_id == user.id, Subscription.area == code)) is None:
            s.add(Subscription(user_id=user.id, chat_id=chat.id, area=code))
        if area:
            user.area = area.code
        return OutgoingMessage(messages.SUBSCRIBED.format(area=area.name if area else messages.BUTTON_ALL_AREAS.lower()))

    def _cmd_unsubscribe(self, s, msg, user, chat) -> list[OutgoingMessage]:
        subs = s.scalars(select(Subscription).where(Subscription.user_id == user.id)).all()
        if not subs:
            return [OutgoingMessage(messages.NOT_SUBSCRIBED)]
        for sub in subs:
            s.delete(sub)
        return [OutgoingMessage(messages.UNSUBSCRIBED)]

    def _cmd_quiz(self, s, msg, user, chat) -> list[OutgoingMessage]:
        if not self.quiz:
            return [OutgoingMessage(messages.QUIZ_EMPTY)]
        answered = set(s.scalars(select(QuizAnswer.quiz_id).where(QuizAnswer.user_id == user.id)))
        fresh = [q for q in self.quiz.values() if q.id not in answered] or list(self.quiz.values())
        return [self.quiz_message(s, random.choice(fresh), chat, msg.channel, msg.buttons)]

    def quiz_message(self, s: Session, q: QuizQuestion, chat: Chat, channel: str, buttons: bool) -> OutgoingMessage:
        """A quiz question for a chat; channels with native quizzes use `quiz`, others the buttons."""
        poll = QuizPoll(channel=channel, quiz_id=q.id, chat_id=chat.id)
        s.add(poll)
        s.flush()
        rows = [[Button(f"{LETTERS[i]}. {o}", f"qa:{poll.id}:{i}")] for i, o in enumerate(q.options)]
        quiz = Quiz(poll.id, q.question, q.options, q.answer, q.explanation)
        return OutgoingMessage(f"❓ {q.question}", rows, quiz=quiz)

    def register_poll(self, poll: int, platform_poll_id: str) -> None:
        """Remember the platform's id of a native quiz poll, so its answers can be scored."""
        with self.db.session() as s:
            row = s.get(QuizPoll, poll)
            if row is not None:
                row.poll_id = platform_poll_id

    def mark_blocked(self, channel: str, user_id: str) -> None:
        """Remember that a person blocked the bot (the platform refused to deliver with 403)."""
        with self.db.session() as s:
            user = s.scalar(select(User).where(User.channel == channel, User.external_id == user_id))
            if user is not None:
                user.blocked_bot = True

    def _poll_answer(self, s: Session, poll: QuizPoll, option: int, user: User, native: bool = False) -> list[OutgoingMessage]:
        """Score an answer; `native`: the platform's own quiz poll, which shows the result itself."""
        q = self.quiz.get(poll.quiz_id)
        if q is None or not 0 <= option < len(q.options):
            return [OutgoingMessage(messages.HELP)]
        try:
            with s.begin_nested():
                s.add(QuizAnswer(user_id=user.id, poll_id=poll.id, quiz_id=q.id, choice=option, correct=option == q.answer))
        except IntegrityError:
            return [OutgoingMessage(messages.QUIZ_ALREADY)]
        if native:
            return []
        if option == q.answer:
            return [OutgoingMessage(messages.QUIZ_RIGHT.format(explanation=q.explanation))]
        right = f"{LETTERS[q.answer]}. {q.options[q.answer]}"
        return [OutgoingMessage(messages.QUIZ_WRONG.format(answer=right, explanation=q.explanation))]

    def _cmd_score(self, s, msg, user, chat) -> list[OutgoingMessage]:
        total, right = s.execute(
            select(func.count(QuizAnswer.id), func.coalesce(func.sum(case((QuizAnswer.correct, 1), else_=0)), 0)).where(
                QuizAnswer.user_id == user.id
            )
        ).one()
        if not total:
            return [OutgoingMessage(messages.SCORE_NONE)]
        return [OutgoingMessage(messages.SCORE.format(right=right, total=total))]

    # -- state ---------------------------------------------------------------------------------

    def _identify(self, s: Session, msg: IncomingMessage) -> tuple[User, Chat, bool]:
        """The sender and the chat, created when new (race-safe); True when either was created now."""
        user, new_user = get_or_create(s, User, {"channel": msg.channel, "external_id": msg.user_id},
                                       display_name=msg.display_name[:128])
        if user.blocked_bot:
            user.blocked_bot = False  # writing again means they unblocked the bot
        chat, new_chat = get_or_create(s, Chat, {"channel": msg.channel, "external_id": msg.chat_id}, kind=msg.chat_type)
        return user, chat, new_user or new_chat

    def _number_choices(self, chat: Chat, out: OutgoingMessage) -> OutgoingMessage:
        """For channels without buttons: list the choices as numbers (quiz options as letters)."""
        choices = [b for row in out.buttons for b in row if b.data]
        if not choices:
            return out
        is_quiz = out.quiz is not None
        lines = [out.text, ""]
        for i, b in enumerate(choices):
            label = b.label if is_quiz else f"{i + 1}. {b.label}"
            lines.append(label)
        lines += ["", messages.QUIZ_CHOICE_PROMPT if is_quiz else messages.CHOICE_PROMPT]
        chat.state = {**(_keep_faq(chat.state) or {}), "choices": [b.data for b in choices]}
        return OutgoingMessage("\n".join(lines), chat_id=out.chat_id)


def _row(s: Session, model: type, text: str):
    """The row whose id is `text` as sent back in button data, or None (not an id, or no such row)."""
    row_id = parse_id(text)
    return s.get(model, row_id) if row_id is not None else None


def _index(text: str, size: int) -> int | None:
    """A position 0..size-1 written in ASCII digits, or None."""
    if not (0 < len(text) <= 2 and text.isascii() and text.isdigit()):
        return None
    return int(text) if int(text) < size else None


class _Writes:
    """Whether a session wrote anything after this point (rows added, changed or deleted, ORM or SQL)."""

    def __init__(self, s: Session) -> None:
        self._seen = False
        event.listen(s, "before_flush", self._flush)
        event.listen(s, "do_orm_execute", self._execute)

    def _flush(self, session: Session, _context, _instances) -> None:
        if session.new or session.deleted or any(session.is_modified(o) for o in session.dirty):
            self._seen = True

    def _execute(self, state) -> None:
        if state.is_insert or state.is_update or state.is_delete:
            self._seen = True

    def any(self) -> bool:
        return self._seen


def _keep_faq(state: dict | None) -> dict | None:
    """Only the /themfaq conversation of a chat's state (numbered choices come and go inside it)."""
    return {"addfaq": state["addfaq"]} if state and "addfaq" in state else None
