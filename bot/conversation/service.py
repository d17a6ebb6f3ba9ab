"""The conversation service: IncomingMessage -> list[OutgoingMessage], with state in the database.

Channel-agnostic: no platform code here. A channel that cannot show buttons gets the same
choices as numbered lines, and the service remembers them so that '2' or 'B' picks one.

A text message is, in this order: an emergency (the emergency numbers at once), small talk or a
plain-word command (bot/intents.py), or a knowledge question, asked with the chat's previous question
and entry as context and rendered by bot/render.py. A chat's state (`chat.state`) holds its pending
numbered choices, the /themfaq or follow-up conversation going on, and `context`: the previous
question, the entry answered, its conversation_log row and the screen of it shown last («Xem tiếp»).
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import re
import threading
import time
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path
from typing import Callable

from sqlalchemy import case, delete, event, func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from bot import intents, messages, render
from bot.faq.store import FaqStore
from bot.areas import ALL, Area, find_area, mentioned_area
from bot.contests.chat import COMMANDS as CONTEST_COMMANDS, POLL_PREFIX as CONTEST_POLL, ContestChat
from bot.channels import registry
from bot.chat.commands import CommandTable, handles
from bot.chat.numbering import LETTERS, numbered, remember
from bot.chat.types import Button, IncomingMessage, OutgoingMessage, Quiz
from bot.knowledge.models import Chunk, QuizQuestion
from bot.relay import commands as relay
from bot.relay.delivery import Delivery
from bot.privacy import mask, phone_numbers
from bot.relay.inbox import new_code
from bot.relay.sla import Schedule
from bot.ratelimit import FloodGuard
from bot.retrieval.engine import Answer, AskContext, Engine
from bot.storage.db import Database
from bot.storage.models import (
    Chat,
    Conversation,
    Escalation,
    LabelledChoice,
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

MAX_CALLBACK_BYTES = registry.button_data_limit()  # the smallest button-data limit of any channel
TOPIC_QUESTIONS = 6  # a topic's questions per screen; «Xem thêm câu hỏi» shows the next ones
AREA_BUTTONS = 12  # more areas than this: only the provinces as buttons, communes typed by name
ESCALATIONS_PER_USER, ESCALATIONS_PER_CLIENT, ESCALATION_WINDOW = 5, 20, 3600.0  # questions to the team per hour
PROCESSED_KEPT = dt.timedelta(days=7)  # platforms redeliver an update for a day at most
PRUNE_EVERY = 3600.0  # seconds between sweeps of old processed-message keys (per process)

log = logging.getLogger(__name__)
CONTEXT_SECONDS = 30 * 60  # a question is read with the previous one only if that was asked this recently


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
        schedule: Schedule | None = None,  # working hours and due times of escalations (bot/relay/sla.py)
        clock: Callable[[], dt.datetime] = utcnow,  # the current instant (aware): contests' time limits, due times; tests pass their own
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
        self.clock = clock
        self.schedule = schedule or Schedule()
        self.delivery = Delivery(db)  # running channels register how they push to a chat (bot/runner.py)
        self.relay = relay.Relay(self.search, self.chunk, areas, public_bot_url, store, self.delivery, self.schedule,
                                 FloodGuard(relay.TRACK_LOOKUPS, relay.TRACK_WINDOW))
        self.contests = ContestChat(self.quiz, areas, clock)

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
        opening = msg.kind == "command" and getattr(COMMANDS.find(msg.command), "name", "") == "start"  # a page load
        if not opening and not self.contests.answering(msg.channel, msg.user_id) and not self.flood.allow(
                f"{msg.channel}:{msg.user_id}"):
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
            out = self.relay.pending(s, user) + self._dispatch(s, msg, user, chat)
            if not msg.buttons or msg.max_buttons:
                out = self._number_choices(s, msg, chat, out)
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
            if (declared := COMMANDS.find(msg.command)) is not None:
                return getattr(self, declared.handler)(s, msg, user, chat)
            if msg.command.lower() in CONTEST_COMMANDS:  # online contests: bot/contests/chat.py
                return self._cmd_contest(s, msg, user, chat)
            if msg.command in relay.COMMANDS:  # team and admin commands: bot/relay/commands.py
                return self._cmd_relay(s, msg, user, chat)
            return [OutgoingMessage(messages.UNKNOWN_COMMAND.format(command=msg.command[:32]))]
        if msg.kind == "button":
            return self._button(s, msg.data, msg, user, chat)
        if msg.kind == "poll_answer":
            poll = s.scalar(select(QuizPoll).where(QuizPoll.channel == msg.channel, QuizPoll.poll_id == msg.poll_id))
            if poll is None or not msg.poll_id:
                return [OutgoingMessage(messages.HELP)]
            if poll.quiz_id.startswith(CONTEST_POLL):
                return self.contests.poll_answer(s, poll, msg.option, msg, user, chat)
            return self._poll_answer(s, poll, msg.option, user, native=True)
        if msg.kind != "text":
            return [OutgoingMessage(messages.NOT_TEXT)]
        text = msg.text.strip()
        state = chat.state or {}
        pending = state.get("choices")
        if pending and re.fullmatch(r"[0-9]{1,2}|[a-dA-D]", text):
            return self._pick_choice(s, text, pending, msg, user, chat)
        faq = self.relay.faq_text(s, text, user, chat)  # an admin's /themfaq conversation going on
        if faq is not None:
            return faq
        if intents.is_emergency(text):
            return [OutgoingMessage(messages.EMERGENCY)]
        if state.get("escalate") and text:  # the area of a question on its way to the team, typed
            area = find_area(self.areas, text) or mentioned_area(self.areas, text)
            if area is None:
                return [OutgoingMessage(messages.ESCALATE_AREA_UNKNOWN.format(query=text[:60]), self._escalation_area_rows())]
            return self._escalation_area(s, area, user, chat)
        chat.state = _keep(state, "context")
        contest = self.contests.text(s, text, msg, user, chat)  # registering for, or answering, a contest
        if contest is not None:
            return contest
        if state.get("followup") and text:
            return self.relay.followup(s, str(state["followup"]), text, user)
        said = intents.intent(text)
        if said is not None:
            out = self._intent(s, said, text, msg, user, chat)
            if out is not None:
                return out
        if state.get("human") and text:
            return self._escalate(s, text, msg, user, chat, None)
        return self._question(s, text, msg, user, chat)

    def _intent(self, s: Session, said: intents.Intent, text: str, msg, user, chat) -> list[OutgoingMessage] | None:
        """Small talk and plain-word commands; None when the words turn out to be a question after all."""
        if said.name == "greeting":
            return [OutgoingMessage(messages.GREETING, self._topic_rows())]
        if said.name == "thanks":
            return [OutgoingMessage(messages.THANKS)]
        if said.name == "restart":
            chat.state = None
            return self._cmd_start(s, msg, user, chat)
        if said.name == "unsubscribe":
            return self._cmd_unsubscribe(s, msg, user, chat)
        if said.name == "subscribe":
            if not said.rest:
                return [OutgoingMessage(messages.SUBSCRIBE_PROMPT, self._area_rows())]
            if said.rest in ("all", "tat ca", "toan quoc", "ca nuoc"):
                return [self._subscribe(s, user, chat, None)]
            area = find_area(self.areas, said.rest)
            return [self._subscribe(s, user, chat, area)] if area else None  # "đăng ký nhận tin nhắn …": a question
        if said.name == "human":
            if said.rest:
                return self._escalate(s, text, msg, user, chat, None)
            return self._ask_for_human(chat)
        if said.name == "see_more":
            return self._see_more(s, user, chat)
        return None

    def _ask_for_human(self, chat: Chat) -> list[OutgoingMessage]:
        """The next text goes to the team; or, with one tap, the question just asked."""
        context = (chat.state or {}).get("context") or {}
        chat.state = {**(_keep(chat.state, "context") or {}), "human": 1}
        rows = [[Button(messages.BUTTON_SEND_LAST, f"esc:{context['log']}")]] if context.get("log") else []
        return [OutgoingMessage(messages.HUMAN_ASK, rows)]

    def _button(self, s: Session, data: str, msg: IncomingMessage, user: User, chat: Chat) -> list[OutgoingMessage]:
        kind, _, arg = data.partition(":")
        if kind == "fb":
            return self._feedback(s, arg, user)
        if kind in ("rq", "cand", "more"):
            log_id, _, n = arg.partition(":")
            log = _row(s, Conversation, log_id)
            position = _index(n, 100)
            if log is None or log.user_id != user.id or position is None:
                return [OutgoingMessage(messages.HELP)]
            if kind == "more":
                return self._page(s, log, position, chat)
            if kind == "cand":
                return self._choose(s, log, position, msg, user, chat)
            if position < len(log.related):
                entry = self._faq_titled(log.related[position])
                if entry is not None:
                    return self._entry(s, entry.id, log.related[position], msg, user, chat)
                return self._question(s, log.related[position], msg, user, chat)
        elif kind == "wr":
            log = _row(s, Conversation, arg)
            if log and log.user_id == user.id:
                others = [c for c in (log.candidates or []) if c.get("chunk_id") != log.chunk_id]
                if not others:  # no runner-up was plausible enough: the related questions, then
                    others = [{"chunk_id": c.id, "question": c.title} for q in log.related if (c := self._faq_titled(q))]
                    log.candidates = others[:3]
                if others:
                    return [render.choices_message(messages.WRONG_MATCH, others, log.id)]
                return [OutgoingMessage(messages.WRONG_MATCH_NONE, [[Button(messages.BUTTON_ESCALATE, f"esc:{log.id}")]])]
        elif kind == "esc":
            log = _row(s, Conversation, arg)
            if log and log.user_id == user.id:
                return self._escalate(s, log.question, msg, user, chat, log.id)
            return [OutgoingMessage(messages.ESCALATE_ASK)]
        elif kind == "af":
            return self.relay.faq_button(s, arg, user, chat)
        elif kind == "ct":
            return self.contests.button(s, arg, msg, user, chat)
        elif kind in relay.BUTTONS:
            return self.relay.button(s, kind, arg, msg, user, chat)
        elif kind == "tp" and (topic := arg.partition(":")[0]) in self._topics():
            return [self._topic_questions(topic, _index(arg.partition(":")[2] or "0", 100) or 0)]
        elif kind == "ea" and (chat.state or {}).get("escalate"):
            return self._escalation_area(s, None if arg == "-" else find_area(self.areas, arg), user, chat)
        elif kind == "fq" and (entry := self._faq_entry(arg)):
            return self._entry(s, entry.id, entry.title, msg, user, chat)
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
        chat.state = _keep(chat.state, "addfaq", "context", "escalate")
        return self._button(s, pending[index], msg, user, chat)

    # -- questions -----------------------------------------------------------------------------

    def ask(self, question: str, context: AskContext | None = None) -> Answer:
        """The engine's answer (alone for the web API, or with a chat's context); safe from any thread."""
        with self._engine_lock:
            return self.engine.ask(question, context)

    def answer_chunk(self, chunk_id: str, question: str = "") -> Answer | None:
        """The answer for one entry a person picked; None when it no longer exists. Safe from any thread."""
        with self._engine_lock:
            return self.engine.answer_chunk(chunk_id, question)

    def search(self, query: str, k: int = 5) -> list:
        """The top knowledge-base chunks with their scores (relay tools); safe from any thread."""
        with self._engine_lock:
            return self.engine.search(query, k)

    def _question(self, s: Session, text: str, msg: IncomingMessage, user: User, chat: Chat) -> list[OutgoingMessage]:
        context = ((chat.state or {}).get("context")) or {}
        recent = time.time() - float(context.get("at", 0)) <= CONTEXT_SECONDS
        asked = AskContext(context["question"], context.get("chunk_id", "")) if context.get("question") and recent else None
        answer = self.ask(text, asked)
        return self._reply(s, text, answer, msg, user, chat)

    def _entry(self, s: Session, chunk_id: str, question: str, msg, user, chat) -> list[OutgoingMessage]:
        """The answer for an entry the person picked (a topic's question, a related question)."""
        answer = self.answer_chunk(chunk_id, question)
        if answer is None:
            return self._question(s, question, msg, user, chat)
        return self._reply(s, question, answer, msg, user, chat)

    def _reply(self, s: Session, question: str, answer: Answer, msg, user, chat) -> list[OutgoingMessage]:
        """Log the question and its answer, remember them as the chat's context, render the first screen."""
        log = Conversation(
            user_id=user.id, chat_id=chat.id, channel=msg.channel, question=mask(question)[:4000], chunk_id=answer.chunk_id,
            topic=answer.topic, answered=answer.answered, confidence=answer.confidence, related=answer.related,
            candidates=answer.candidates, latency_ms=answer.latency_ms,
        )
        s.add(log)
        s.flush()
        self._remember(chat, question, answer.chunk_id if answer.answered else "", log.id, 0)
        return [render.answer_message(answer, log.id)]

    def _remember(self, chat: Chat, question: str, chunk_id: str, log_id: int, page: int) -> None:
        context = {"question": question[:500], "chunk_id": chunk_id, "log": log_id, "page": page, "at": time.time()}
        chat.state = {**(_keep(chat.state, "addfaq") or {}), "context": context}

    def _choose(self, s: Session, log: Conversation, index: int, msg, user, chat) -> list[OutgoingMessage]:
        """A person picked one of the entries offered for their question: answer it, keep the labelled example."""
        offered = log.candidates or []
        if not 0 <= index < len(offered):
            return [OutgoingMessage(messages.HELP)]
        chosen = offered[index]
        answer = self.answer_chunk(str(chosen.get("chunk_id", "")), log.question)
        if answer is None:  # the entry was removed meanwhile
            return self._question(s, log.question, msg, user, chat)
        s.add(LabelledChoice(conversation_id=log.id, question=log.question, chunk_id=answer.chunk_id,
                             shown_chunk_id=log.chunk_id if log.answered else ""))
        log.chunk_id, log.topic, log.answered = answer.chunk_id, answer.topic, True
        self._remember(chat, log.question, answer.chunk_id, log.id, 0)
        return [render.answer_message(answer, log.id)]

    def _page(self, s: Session, log: Conversation, page: int, chat: Chat) -> list[OutgoingMessage]:
        """Screen `page` of the entry a question was answered with («Xem tiếp»)."""
        answer = self.answer_chunk(log.chunk_id, log.question) if log.answered and log.chunk_id else None
        if answer is None or page >= len(render.pages(answer)):
            return [OutgoingMessage(messages.NOTHING_MORE)]
        self._remember(chat, log.question, log.chunk_id, log.id, page)
        return [render.answer_message(answer, log.id, page)]

    def _see_more(self, s: Session, user: User, chat: Chat) -> list[OutgoingMessage]:
        """The words «xem tiếp»: the next screen of the chat's last answer."""
        context = (chat.state or {}).get("context") or {}
        log = s.get(Conversation, context["log"]) if isinstance(context.get("log"), int) else None
        if log is None or log.user_id != user.id:
            return [OutgoingMessage(messages.NOTHING_MORE)]
        return self._page(s, log, int(context.get("page", 0)) + 1, chat)

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
        """The question for the team of the citizen's area: their own area, else the one the question names,
        else asked first (buttons, or a name typed with or without diacritics). At most
        ESCALATIONS_PER_USER per person and ESCALATIONS_PER_CLIENT per client address an hour."""
        if not self.escalations.allow(f"{msg.channel}:{msg.user_id}") or (
            msg.client and not self.client_escalations.allow(f"{msg.channel}:{msg.client}")
        ):
            return [OutgoingMessage(messages.ESCALATE_TOO_MANY)]
        area = user.area or getattr(mentioned_area(self.areas, question), "code", "")
        if not area and self.areas:
            chat.state = {**(_keep(chat.state, "context") or {}), "escalate": {"question": question[:4000], "log": log_id}}
            return [OutgoingMessage(messages.ESCALATE_WHICH_AREA, self._escalation_area_rows())]
        return self._to_team(s, question, user, chat, log_id, area)

    def _escalation_area(self, s: Session, area: Area | None, user: User, chat: Chat) -> list[OutgoingMessage]:
        """The area of the waiting question was given (None: the person does not know): it goes to the team."""
        pending = (chat.state or {}).get("escalate") or {}
        chat.state = _keep(chat.state, "context")
        if not pending.get("question"):
            return [OutgoingMessage(messages.ESCALATE_ASK)]
        if area is not None:
            user.area = area.code  # asked once: the next question goes to the same team
        log_id = pending.get("log") if isinstance(pending.get("log"), int) else None
        return self._to_team(s, pending["question"], user, chat, log_id, area.code if area else "")

    def _to_team(self, s: Session, question: str, user: User, chat: Chat, log_id: int | None,
                 area: str) -> list[OutgoingMessage]:
        """The acknowledgement, then notices for the on-duty team members of the area, on every channel."""
        now = self.clock()
        esc = Escalation(user_id=user.id, chat_id=chat.id, conversation_id=log_id, question=mask(question)[:4000], area=area,
                         code=new_code(s), created_at=now, due_at=self.schedule.due(now, area),
                         contact=phone_numbers(question) or None)
        s.add(esc)
        s.flush()
        ack = messages.ESCALATED.format(id=esc.id, code=esc.code, promise=self.schedule.promise(now, area))
        return [OutgoingMessage(ack)] + self.relay.escalated(s, esc, user.channel)

    def _escalation_area_rows(self) -> list[list[Button]]:
        areas = self.areas if len(self.areas) <= AREA_BUTTONS else [a for a in self.areas if "/" not in a.code]
        rows = [[Button(a.name, f"ea:{a.code}")] for a in areas[:AREA_BUTTONS]]
        return [r for r in rows if len(r[0].data.encode()) <= MAX_CALLBACK_BYTES] + [[Button(messages.BUTTON_AREA_UNKNOWN, "ea:-")]]

    def _topic_questions(self, topic: str, page: int = 0) -> OutgoingMessage:
        """One screen of a topic's questions; «Xem thêm câu hỏi» shows the next screen."""
        entries = [c for c in self._current()[1].values() if c.kind == "faq" and c.topic == topic]
        entries = [c for c in entries if len(f"fq:{c.id.removeprefix('faq:')}".encode()) <= MAX_CALLBACK_BYTES]
        start = page * TOPIC_QUESTIONS if page * TOPIC_QUESTIONS < len(entries) else 0
        shown = entries[start:start + TOPIC_QUESTIONS]
        rows = [[Button(c.title, f"fq:{c.id.removeprefix('faq:')}")] for c in shown]
        if start + TOPIC_QUESTIONS < len(entries):
            rest = len(entries) - start - TOPIC_QUESTIONS
            rows.append([Button(messages.BUTTON_MORE_QUESTIONS.format(count=rest), f"tp:{topic}:{start // TOPIC_QUESTIONS + 1}")])
        name = messages.TOPIC_NAMES.get(topic, topic)
        text = messages.TOPIC_QUESTIONS.format(topic=name)
        if len(entries) > TOPIC_QUESTIONS:
            text = messages.TOPIC_QUESTIONS_PAGE.format(topic=name, first=start + 1, last=start + len(shown), total=len(entries))
        return OutgoingMessage(text, rows)

    # -- commands ------------------------------------------------------------------------------

    @handles("start", "batdau")
    def _cmd_start(self, s, msg, user, chat) -> list[OutgoingMessage]:
        name = msg.display_name.strip() or messages.WELCOME_NAME
        return [OutgoingMessage(messages.WELCOME.format(name=name, count=len(self._topics())), self._topic_rows())]

    @handles("help", "trogiup", "huongdan")
    def _cmd_help(self, s, msg, user, chat) -> list[OutgoingMessage]:
        return [OutgoingMessage(messages.HELP + self.relay.help(s, user))]

    @handles("topics", "chude")
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

    def _faq_titled(self, title: str) -> Chunk | None:
        return next((c for c in self._current()[1].values() if c.kind == "faq" and c.title == title), None)

    def _topics(self) -> list[str]:
        return self._current()[2]

    def _current(self) -> tuple[list[Chunk], dict[str, Chunk], list[str]]:
        """Chunks by id and FAQ topics, recomputed only when the engine has swapped in new chunks."""
        chunks = self.engine.chunks
        if self._catalogue[0] is not chunks:
            topics = {c.topic for c in chunks if c.kind == "faq"} & set(messages.TOPIC_NAMES)
            self._catalogue = (chunks, {c.id: c for c in chunks}, sorted(topics, key=list(messages.TOPIC_NAMES).index))
        return self._catalogue

    @handles("human", "canbo")
    def _cmd_human(self, s, msg, user, chat) -> list[OutgoingMessage]:
        question = msg.text.strip()
        if not question:
            return self._ask_for_human(chat)
        return self.relay.followup_in(s, question, user) or self._escalate(s, question, msg, user, chat, None)

    def _cmd_contest(self, s, msg, user, chat) -> list[OutgoingMessage]:
        return self.contests.command(s, msg, user, chat)

    def _cmd_relay(self, s, msg, user, chat) -> list[OutgoingMessage]:
        return self.relay.command(s, msg, user, chat)

    @handles("cancel", "huy")
    def _cmd_cancel(self, s, msg, user, chat) -> list[OutgoingMessage]:
        if (left := self.contests.cancel(s, user)) is not None:
            return left
        if (chat.state or {}).get("human") or (chat.state or {}).get("escalate"):
            chat.state = _keep(chat.state, "context")
            return [OutgoingMessage(messages.ADDFAQ_CANCELLED)]
        return self.relay.faq.cancel(chat)

    @handles("subscribe", "dangky")
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

    @handles("unsubscribe", "huydangky", "stop")
    def _cmd_unsubscribe(self, s, msg, user, chat) -> list[OutgoingMessage]:
        subs = s.scalars(select(Subscription).where(Subscription.user_id == user.id)).all()
        if not subs:
            return [OutgoingMessage(messages.NOT_SUBSCRIBED)]
        for sub in subs:
            s.delete(sub)
        return [OutgoingMessage(messages.UNSUBSCRIBED)]

    @handles("quiz", "cauhoi", "docauhoi")
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

    @handles("score", "diem")
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

    def _number_choices(self, s: Session, msg: IncomingMessage, chat: Chat, out: list[OutgoingMessage]) -> list[OutgoingMessage]:
        """For channels without buttons: list the choices as numbers (quiz options as letters), remembered by the
        chat each message goes to; several messages to one chat (an answer handed over, then the reply) number on
        from each other, so every number typed back means one choice. A team answer addressed to a citizen's
        chat numbers its choices there."""
        pending: dict[str, list[str]] = {}
        numbered_out = []
        for m in out:
            if msg.buttons and _choices(m) <= msg.max_buttons:  # the channel shows these buttons itself
                numbered_out.append(m)
                continue
            key = m.chat_id if m.chat_id and m.chat_id != msg.chat_id else ""
            taken = pending.setdefault(key, [])
            quiz = m.quiz is not None
            text, choices = numbered(m, 1 if quiz else len(taken) + 1)
            if quiz and choices:
                taken.clear()  # a quiz is answered by its letters alone
            taken += choices
            numbered_out.append(text)
        for key, choices in pending.items():
            if not choices:
                continue
            target = chat if not key else s.scalar(select(Chat).where(Chat.channel == msg.channel, Chat.external_id == key))
            if target is not None:
                target.state = remember(target.state, choices)
        return numbered_out



COMMANDS = CommandTable(ConversationService)  # the citizens' commands (relay and contest commands: their modules)

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
        self._session = s
        event.listen(s, "before_flush", self._flush)
        event.listen(s, "do_orm_execute", self._execute)

    def _flush(self, session: Session, _context, _instances) -> None:
        if session.new or session.deleted or any(session.is_modified(o) for o in session.dirty):
            self._seen = True

    def _execute(self, state) -> None:
        if state.is_insert or state.is_update or state.is_delete:
            self._seen = True

    def any(self) -> bool:
        """Also changes not flushed yet (a subscription added after the last query, a chat's new state)."""
        s = self._session
        return self._seen or bool(s.new) or bool(s.deleted) or any(s.is_modified(o) for o in s.dirty)


def _choices(out: OutgoingMessage) -> int:
    return sum(1 for row in out.buttons for b in row if b.data or b.url)


def _keep(state: dict | None, *keys: str) -> dict | None:
    """Only these parts of a chat's state (numbered choices, for one, come and go)."""
    kept = {k: state[k] for k in keys if state and k in state}
    return kept or None
