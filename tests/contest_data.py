"""What the contest tests share: a small quiz bank, a clock the test moves, a contest and a person who
goes through registration on one channel (through the real conversation service)."""

from __future__ import annotations

import datetime as dt
import itertools
import threading

from bot.areas import load_areas
from bot.contests import service as cs
from bot.conversation.service import ConversationService
from bot.chat.types import IncomingMessage, OutgoingMessage
from bot.knowledge.models import QuizQuestion
from tests.conftest import KNOWLEDGE

UTC = dt.timezone.utc
START = dt.datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 09:00 in Vietnam
QUIZ = [
    QuizQuestion(f"quiz-k-0{i}", "vneid" if i <= 3 else "luadao", "easy", f"Câu hỏi thử số {i}?",
                 (f"Sai một {i}", f"Đúng {i}", f"Sai hai {i}", f"Sai ba {i}"), 1, "", "NĐ 69/2024", "2026-11-23")
    for i in range(1, 7)
]
RIGHT = {q.question: q.options[q.answer] for q in QUIZ}
_ids = itertools.count(1)


class Clock:
    """Time that moves only when the test says so (thread-safe)."""

    def __init__(self, now: dt.datetime = START) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> dt.datetime:
        with self._lock:
            return self.now

    def tick(self, seconds: float) -> None:
        with self._lock:
            self.now += dt.timedelta(seconds=seconds)


def make_service(engine, db, clock=None, **kw) -> ConversationService:
    return ConversationService(engine, db, QUIZ, load_areas(KNOWLEDGE / "areas.yaml"), clock=clock or Clock(), **kw)


def add_contest(service: ConversationService, questions: int = 3, seconds: int = 60, attempts: int = 1,
                area: str = "all", name: str = "Công dân số thông minh", hours: float = 24, **kw) -> int:
    now = service.contests.clock()
    spec = cs.RoundSpec(opens=now, closes=now + dt.timedelta(hours=hours), questions=questions, seconds=seconds,
                        attempts=attempts, **kw)
    with service.db.session() as s:
        return cs.create(s, service.quiz, name, spec, area=area, now=now).id


def msg(channel: str, user: str, kind: str = "text", **kw) -> IncomingMessage:
    buttons = kw.pop("buttons", channel != "zalo")
    return IncomingMessage(channel=channel, user_id=user, chat_id=user, kind=kind, message_id=str(next(_ids)),
                           buttons=buttons, **kw)


def data_of(out: OutgoingMessage, prefix: str = "ct:") -> list[str]:
    return [b.data for row in out.buttons for b in row if b.data.startswith(prefix)]


def register(service: ConversationService, channel: str, user: str, name: str, area: str = "Điện Biên",
             phone: str = "", prediction: int = 1) -> list[OutgoingMessage]:
    """/thi, «Bắt đầu», name, area (typed), phone (or skip), prediction: the first question's replies."""
    (rules,) = service.handle(msg(channel, user, "command", command="thi"))
    service.handle(msg(channel, user, "button", data=data_of(rules)[0]) if channel != "zalo" else msg(channel, user, text="1"))
    service.handle(msg(channel, user, text=name))
    service.handle(msg(channel, user, text=area))
    if phone:
        service.handle(msg(channel, user, text=phone))
    else:
        service.handle(msg(channel, user, text="bỏ qua"))
    return service.handle(msg(channel, user, text=str(prediction)))


def pick(out: OutgoingMessage, right: bool = True) -> str:
    """The button data of the right (or a wrong) option of a contest question shown with buttons."""
    question = out.text.split(": ", 1)[1].split("\n")[0]
    for row in out.buttons:
        label = row[0].label.split(". ", 1)[-1]
        if (label == RIGHT[question]) == right:
            return row[0].data
    raise AssertionError(f"no such option in {out.buttons}")


def answer_all(service: ConversationService, channel: str, user: str, first: OutgoingMessage, right: int,
               clock: Clock | None = None, seconds_each: float = 0) -> OutgoingMessage:
    """Answer every question (the first `right` of them rightly), `seconds_each` apart; the last reply."""
    out, n = first, 0
    while out.quiz is not None or out.text.startswith("Câu "):
        if clock:
            clock.tick(seconds_each)
        (out,) = service.handle(msg(channel, user, "button", data=pick(out, n < right)))
        n += 1
    return out
