"""A contest by chat, the same on every channel (called by the conversation service, like the relay).

/thi (/cuocthi, /contest) shows the open round's rules in three lines with «Bắt đầu», then asks, in
this order: a display name, the area (buttons, numbers or a typed name), optionally a phone number,
the prediction ("Dự đoán có bao nhiêu người trả lời đúng tất cả?"), then the questions one by one,
drawn and shuffled per person. A question is a `Quiz` with the seconds left (a native-quiz channel sends it as a
native quiz poll whose open period ends with the attempt; the web shows A–D buttons and a countdown);
a channel without buttons gets numbered options. The last answer (or the first message after the time
ran out) brings "Bác trả lời đúng X/N trong T giây" and the current rank.

Where a person is lives in their entry row (`step`), not in the chat state, so it survives restarts
and every worker sees it. Button data: ct:go|nm|sk:<entry>, ct:rd:<round>, ct:ar:<entry>:<i>,
ct:a:<entry>:<position>:<option>.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import threading
import time
from collections import OrderedDict

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import messages as m
from bot.areas import Area, find_area
from bot.contests import service as cs
from bot.contests.models import (
    AREA, DONE, NAME, PHONE, PREDICTION, QUESTIONS, RULES, Contest, ContestEntry, ContestRound,
)
from bot.chat.numbering import LETTERS
from bot.chat.types import Button, IncomingMessage, OutgoingMessage, Quiz
from bot.knowledge.models import QuizQuestion
from bot.storage.models import Chat, QuizPoll, User, parse_id
from bot.textnorm import fold

COMMANDS = ("thi", "cuocthi", "contest")
NAME_CHARS = 40
MAX_AREA_BUTTONS = 20
POLL_PREFIX = "contest:"
_PHONE = re.compile(r"^(?:\+?84|0)(\d{9})$")


def normal_phone(text: str) -> str | None:
    """A Vietnamese phone number as 0xxxxxxxxx (spaces, dots and dashes allowed; +84 or 0), else None."""
    digits = re.sub(r"[\s.\-()]", "", text)
    match = _PHONE.fullmatch(digits)
    return "0" + match[1] if match else None


def duration(seconds: int) -> str:
    minutes, rest = divmod(int(seconds), 60)
    if not minutes:
        return m.CONTEST_SECONDS.format(seconds=rest)
    if not rest:
        return m.CONTEST_MINUTES.format(minutes=minutes)
    return m.CONTEST_MINUTES_SECONDS.format(minutes=minutes, seconds=rest)


def local_time(when: dt.datetime) -> str:
    return cs.utc(when).astimezone(cs.TZ).strftime("%H:%M ngày %d/%m/%Y")


def round_label(s: Session, rnd: ContestRound) -> str:
    several = s.scalar(select(ContestRound.id).where(ContestRound.contest_id == rnd.contest_id, ContestRound.number > 1))
    return m.CONTEST_ROUND.format(number=rnd.number) if several or rnd.number > 1 else ""


class ContestChat:
    def __init__(self, quiz: dict[str, QuizQuestion], areas: list[Area], clock: cs.Clock) -> None:
        self.quiz = quiz  # the conversation service's quiz bank, by id
        self.areas = areas
        self.clock = clock
        self._answering: OrderedDict[str, float] = OrderedDict()  # channel:user -> monotonic deadline
        self._lock = threading.Lock()

    # -- entry points (from ConversationService) -----------------------------------------------------

    def answering(self, channel: str, user_id: str) -> bool:
        """Whether this person is answering contest questions now (their messages skip the flood limit)."""
        with self._lock:
            until = self._answering.get(f"{channel}:{user_id}")
            return until is not None and time.monotonic() < until

    def command(self, s: Session, msg: IncomingMessage, user: User, chat: Chat) -> list[OutgoingMessage]:
        if msg.chat_type != "private":
            return [OutgoingMessage(m.CONTEST_PRIVATE_ONLY)]  # one person's attempt, in their own chat
        now = self.clock()
        entry = self._active(s, user)
        if entry is not None:
            resumed = self._resume(s, entry, msg, chat, now)
            if resumed is not None:
                return resumed
        found = cs.open_rounds(s, now)
        if not found:
            return [OutgoingMessage(m.CONTEST_NONE)]
        if len(found) > 1:
            rows = [[Button(f"{c.name}{round_label(s, r)}", f"ct:rd:{r.id}")] for c, r in found]
            return [OutgoingMessage(m.CONTEST_PICK.format(count=len(found)), rows)]
        contest, rnd = found[0]
        return self._rules(s, contest, rnd, msg, user, now)

    def button(self, s: Session, arg: str, msg: IncomingMessage, user: User, chat: Chat) -> list[OutgoingMessage]:
        now = self.clock()
        kind, _, rest = arg.partition(":")
        if kind == "rd":
            rnd = _row(s, ContestRound, rest)
            contest = s.get(Contest, rnd.contest_id) if rnd else None
            if rnd is None or not cs.is_open(contest, rnd, now):
                return [OutgoingMessage(m.CONTEST_CLOSED)]
            entry = self._active(s, user)
            if entry is not None and (resumed := self._resume(s, entry, msg, chat, now)) is not None:
                return resumed
            return self._rules(s, contest, rnd, msg, user, now)
        entry_id, _, detail = rest.partition(":")
        entry = _row(s, ContestEntry, entry_id)
        if entry is None or entry.user_id != user.id:
            return [OutgoingMessage(m.HELP)]
        rnd = s.get(ContestRound, entry.round_id)
        if kind == "a":
            position, _, option = detail.partition(":")
            if not (position.isdigit() and option.isdigit() and len(position) <= 3 and len(option) <= 1):
                return [OutgoingMessage(m.HELP)]
            return self._answer(s, entry, rnd, int(position), int(option), msg, chat, now)
        closed = self._closed(s, entry, rnd, now)
        if closed is not None:
            return closed
        if kind == "go" and entry.step == RULES:
            entry.step = NAME
        elif kind == "nm" and entry.step == NAME and self._name_ok(msg.display_name):
            entry.display_name, entry.step = self._name_ok(msg.display_name), AREA
        elif kind == "ar" and entry.step == AREA and detail.isdigit():
            offered = self._offered(s, rnd)
            if int(detail) < len(offered):
                entry.area, entry.step = offered[int(detail)].code, PHONE
        elif kind == "sk" and entry.step == PHONE:
            entry.step = PREDICTION
        return self._ask(s, entry, rnd, msg, chat, now)

    def text(self, s: Session, text: str, msg: IncomingMessage, user: User, chat: Chat) -> list[OutgoingMessage] | None:
        """A typed message while a person is registering or answering; None when they are not."""
        entry = self._active(s, user)
        if entry is None:
            return None
        now = self.clock()
        rnd = s.get(ContestRound, entry.round_id)
        if entry.step == QUESTIONS:
            if cs.expire(s, entry, rnd.seconds, now):
                return [self._result(s, entry, rnd, m.CONTEST_LATE)]
            choice = _letter_or_number(text, len(entry.plan[entry.position][1]))
            if choice is not None:  # "B" or "2" typed where the options are shown without buttons
                return self._answer(s, entry, rnd, entry.position, choice, msg, chat, now)
            return [OutgoingMessage(m.CONTEST_ANSWER_HINT), self._question(s, entry, msg, chat, now)]
        closed = self._closed(s, entry, rnd, now)
        if closed is not None:
            return None if entry.step == RULES else closed  # only seen the rules: the message is read as usual
        words = fold(text).strip(" .!").lower()
        if entry.step == RULES:
            if words not in {fold(w) for w in m.CONTEST_START_WORDS}:
                return None  # not taking part after all: the message is read as usual
            entry.step = NAME
        elif entry.step == NAME:
            name = self._name_ok(text)
            if not name:
                return [OutgoingMessage(m.CONTEST_NAME_BAD.format(limit=NAME_CHARS))]
            entry.display_name, entry.step = name, AREA
        elif entry.step == AREA:
            area = find_area(self.areas, text)
            if area is None or area.code not in {a.code for a in self._offered(s, rnd, limit=None)}:
                rows = self._area_rows(s, entry, rnd)
                return [OutgoingMessage(m.CONTEST_AREA_UNKNOWN.format(query=text[:60]), rows)]
            entry.area, entry.step = area.code, PHONE
        elif entry.step == PHONE:
            if words in {fold(w) for w in m.CONTEST_SKIP_WORDS}:
                entry.step = PREDICTION
            else:
                phone = normal_phone(text)
                if phone is None:
                    return [OutgoingMessage(m.CONTEST_PHONE_BAD, [[Button(m.BUTTON_CONTEST_SKIP, f"ct:sk:{entry.id}")]])]
                refused = self._take_phone(s, entry, rnd, phone)
                if refused is not None:
                    return refused
                entry.step = PREDICTION
        elif entry.step == PREDICTION:
            digits = text.strip().replace(".", "").replace(",", "").replace(" ", "")
            if not (digits.isascii() and digits.isdigit() and int(digits) <= cs.MAX_PREDICTION):
                return [OutgoingMessage(m.CONTEST_PREDICTION_BAD)]
            entry.prediction = int(digits)
            return self._begin(s, entry, rnd, msg, chat, now)
        return self._ask(s, entry, rnd, msg, chat, now)

    def poll_answer(self, s: Session, poll: QuizPoll, option: int, msg: IncomingMessage, user: User,
                    chat: Chat) -> list[OutgoingMessage]:
        """A vote in a native quiz poll of a contest question (quiz_id 'contest:<entry>:<position>')."""
        entry_id, _, position = poll.quiz_id.removeprefix(POLL_PREFIX).partition(":")
        entry = _row(s, ContestEntry, entry_id)
        if entry is None or entry.user_id != user.id or not position.isdigit() or entry.step == DONE:
            return []  # the platform showed the vote already; nothing to add for a finished attempt
        rnd = s.get(ContestRound, entry.round_id)
        out = self._answer(s, entry, rnd, int(position), option, msg, chat, self.clock())
        return [o for o in out if o.text != m.CONTEST_STALE]

    def cancel(self, s: Session, user: User) -> list[OutgoingMessage] | None:
        """/huy during registration: the entry is dropped (an attempt whose clock runs cannot be undone)."""
        entry = self._active(s, user)
        if entry is None or entry.step == QUESTIONS:
            return None
        s.delete(entry)
        return [OutgoingMessage(m.CONTEST_CANCELLED)]

    # -- steps ---------------------------------------------------------------------------------------

    def _active(self, s: Session, user: User) -> ContestEntry | None:
        return s.scalar(select(ContestEntry).where(ContestEntry.user_id == user.id, ContestEntry.step != DONE)
                        .order_by(ContestEntry.id.desc()).limit(1))

    def _resume(self, s, entry: ContestEntry, msg, chat, now) -> list[OutgoingMessage] | None:
        """/thi again while registering or answering: where the person was; None if that round is over."""
        rnd = s.get(ContestRound, entry.round_id)
        if entry.step == QUESTIONS:
            if cs.expire(s, entry, rnd.seconds, now):
                return [self._result(s, entry, rnd, m.CONTEST_LATE)]
            return [self._question(s, entry, msg, chat, now)]
        if self._closed(s, entry, rnd, now) is not None:
            return None
        if entry.step == RULES:
            return self._rules(s, s.get(Contest, rnd.contest_id), rnd, msg, s.get(User, entry.user_id), now)
        return self._ask(s, entry, rnd, msg, chat, now)

    def _closed(self, s, entry: ContestEntry, rnd: ContestRound, now) -> list[OutgoingMessage] | None:
        """A registration whose round closed meanwhile is dropped."""
        if cs.is_open(s.get(Contest, rnd.contest_id), rnd, now):
            return None
        s.delete(entry)
        return [OutgoingMessage(m.CONTEST_CLOSED)]

    def _rules(self, s, contest: Contest, rnd: ContestRound, msg, user: User, now) -> list[OutgoingMessage]:
        used = cs.used_attempts(s, rnd.id, user.id)
        if used >= rnd.attempts:
            return [self._already(s, rnd, user)]
        entry = s.scalar(select(ContestEntry).where(ContestEntry.round_id == rnd.id, ContestEntry.user_id == user.id,
                                                    ContestEntry.step != DONE))
        if entry is None:
            entry = ContestEntry(round_id=rnd.id, user_id=user.id, attempt=used + 1, channel=msg.channel, step=RULES,
                                 plan=[], created_at=now)
            s.add(entry)
            s.flush()
        text = contest.rules or m.CONTEST_RULES.format(
            name=contest.name, round=round_label(s, rnd), questions=rnd.questions, limit=duration(rnd.seconds),
            closes=local_time(rnd.closes_at), attempts=rnd.attempts)
        return [OutgoingMessage(text, [[Button(m.BUTTON_CONTEST_START, f"ct:go:{entry.id}")]])]

    def _already(self, s, rnd: ContestRound, user: User) -> OutgoingMessage:
        last = s.scalar(select(ContestEntry).where(ContestEntry.round_id == rnd.id, ContestEntry.user_id == user.id,
                                                   ContestEntry.step == DONE).order_by(ContestEntry.correct.desc()).limit(1))
        text = m.CONTEST_ALREADY.format(attempts=rnd.attempts, correct=last.correct if last else 0, total=rnd.questions,
                                        seconds=last.seconds if last and last.seconds is not None else 0)
        return OutgoingMessage(text)

    def _ask(self, s, entry: ContestEntry, rnd: ContestRound, msg, chat, now) -> list[OutgoingMessage]:
        """The question of the entry's current step."""
        if entry.step == RULES:
            return self._rules(s, s.get(Contest, rnd.contest_id), rnd, msg, s.get(User, entry.user_id), now)
        if entry.step == NAME:
            name = self._name_ok(msg.display_name)
            rows = [[Button(m.BUTTON_CONTEST_NAME.format(name=name), f"ct:nm:{entry.id}")]] if name else []
            return [OutgoingMessage(m.CONTEST_ASK_NAME, rows)]
        if entry.step == AREA:
            return [OutgoingMessage(m.CONTEST_ASK_AREA, self._area_rows(s, entry, rnd))]
        if entry.step == PHONE:
            return [OutgoingMessage(m.CONTEST_ASK_PHONE, [[Button(m.BUTTON_CONTEST_SKIP, f"ct:sk:{entry.id}")]])]
        if entry.step == PREDICTION:
            return [OutgoingMessage(m.CONTEST_ASK_PREDICTION)]
        if entry.step == QUESTIONS:
            return [self._question(s, entry, msg, chat, now)]
        return [self._result(s, entry, rnd)]

    @staticmethod
    def _name_ok(text: str) -> str:
        name = " ".join(text.split())
        return name if 2 <= len(name) <= NAME_CHARS and any(ch.isalpha() for ch in name) else ""

    def _offered(self, s, rnd: ContestRound, limit: int | None = MAX_AREA_BUTTONS) -> list[Area]:
        """The areas of the contest's audience (all of them, or an area and the communes inside it)."""
        audience = s.get(Contest, rnd.contest_id).area
        inside = [a for a in self.areas if cs.covers(audience, a.code)]
        return inside[:limit] if limit else inside

    def _area_rows(self, s, entry: ContestEntry, rnd: ContestRound) -> list[list[Button]]:
        return [[Button(a.name, f"ct:ar:{entry.id}:{i}")] for i, a in enumerate(self._offered(s, rnd))]

    def _take_phone(self, s, entry: ContestEntry, rnd: ContestRound, phone: str) -> list[OutgoingMessage] | None:
        """Record the phone number, unless it has used up the round's attempts on some channel."""
        used = cs.used_attempts(s, rnd.id, entry.user_id, phone)
        refused = [OutgoingMessage(m.CONTEST_PHONE_USED.format(attempts=rnd.attempts))]
        if used >= rnd.attempts:
            s.delete(entry)
            return refused
        try:
            with s.begin_nested():
                entry.phone, entry.attempt = phone, max(entry.attempt, used + 1)
                s.flush()
        except IntegrityError:  # the same number is registering on another channel right now
            s.refresh(entry)
            s.delete(entry)
            return refused
        return None

    def _begin(self, s, entry: ContestEntry, rnd: ContestRound, msg, chat, now) -> list[OutgoingMessage]:
        """The clock starts; the first question."""
        if cs.used_attempts(s, rnd.id, entry.user_id, entry.phone) >= rnd.attempts:
            s.delete(entry)
            return [self._already(s, rnd, s.get(User, entry.user_id))]
        cs.start(s, entry, rnd, self.quiz, now)
        self._note_answering(msg, rnd.seconds)
        go = OutgoingMessage(m.CONTEST_GO.format(questions=rnd.questions, limit=duration(rnd.seconds)))
        return [go, self._question(s, entry, msg, chat, now)]

    def _question(self, s, entry: ContestEntry, msg, chat: Chat, now) -> OutgoingMessage:
        position = entry.position
        quiz_id, order = entry.plan[position]
        q = self.quiz.get(quiz_id)
        options = [q.options[i] for i in order] if q else ["—"] * len(order)
        header = m.CONTEST_QUESTION.format(number=position + 1, total=len(entry.plan), question=q.question if q else "—")
        left = max(1, math.ceil((cs.utc(entry.deadline) - now).total_seconds()))
        data = [f"ct:a:{entry.id}:{position}:{i}" for i in range(len(options))]
        if not msg.buttons:  # numbered by the conversation service; the time left in words
            text = f"{header}\n{m.CONTEST_TIME_LEFT.format(seconds=left)}"
            return OutgoingMessage(text, [[Button(o, d)] for o, d in zip(options, data)])
        text = header  # the poll's own timer (native quizzes) or the page's countdown (web) shows the time left
        poll = QuizPoll(channel=msg.channel, quiz_id=f"{POLL_PREFIX}{entry.id}:{position}", chat_id=chat.id)
        s.add(poll)
        s.flush()
        correct = order.index(q.answer) if q and q.answer in order else 0
        quiz = Quiz(poll.id, header, tuple(options), correct, "", seconds=left)
        return OutgoingMessage(text, [[Button(f"{LETTERS[i]}. {o}", d)] for i, (o, d) in enumerate(zip(options, data))],
                               quiz=quiz)

    def _answer(self, s, entry: ContestEntry, rnd: ContestRound, position: int, option: int, msg, chat,
                now) -> list[OutgoingMessage]:
        outcome = cs.answer(s, entry, position, option, self.quiz, rnd.seconds, now)
        if outcome == cs.STALE:
            return [OutgoingMessage(m.CONTEST_STALE)]
        if outcome == cs.INVALID:
            return [self._question(s, entry, msg, chat, now)]
        if outcome == cs.FINISHED:
            return [self._result(s, entry, rnd)] if entry.step == DONE else [OutgoingMessage(m.CONTEST_STALE)]
        if outcome == cs.LATE:
            self._note_answering(msg, 0)
            return [self._result(s, entry, rnd, m.CONTEST_LATE)]
        if entry.step == DONE:
            self._note_answering(msg, 0)
            return [self._result(s, entry, rnd)]
        return [self._question(s, entry, msg, chat, now)]

    def _result(self, s, entry: ContestEntry, rnd: ContestRound, before: str = "") -> OutgoingMessage:
        rank, people = cs.rank_of(s, rnd, entry)
        lines = [before] if before else []
        lines.append(m.CONTEST_RESULT.format(correct=entry.correct, total=len(entry.plan) or rnd.questions,
                                             seconds=entry.seconds or 0))
        lines.append(m.CONTEST_RANK.format(rank=rank, people=people))
        return OutgoingMessage("\n".join(lines))

    def _note_answering(self, msg: IncomingMessage, seconds: int) -> None:
        key = f"{msg.channel}:{msg.user_id}"
        with self._lock:
            self._answering.pop(key, None)
            if seconds:
                self._answering[key] = time.monotonic() + seconds + 5
            while len(self._answering) > 100_000:
                self._answering.popitem(last=False)


def _row(s: Session, model: type, text: str):
    row_id = parse_id(text)
    return s.get(model, row_id) if row_id is not None else None


def _letter_or_number(text: str, size: int) -> int | None:
    text = text.strip().rstrip(".")
    if len(text) == 1 and text.upper() in LETTERS[:size]:
        return LETTERS.index(text.upper())
    if text.isascii() and text.isdigit() and 1 <= int(text) <= size:
        return int(text) - 1
    return None
