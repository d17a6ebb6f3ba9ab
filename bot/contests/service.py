"""What a contest is and how it is scored, with no chat texts: creating contests and rounds, the rounds
open now, drawing each person's questions, recording an answer exactly once, finishing attempts
(also those whose time ran out), the leaderboard and closing.

Time comes from an injectable clock (`now` arguments; the chat flow and the CLI pass their clock).
An answer counts only when it arrives by the attempt's deadline. An answer is one row per (entry,
position), so a double tap, a redelivered update or two workers answering at once count it once;
the entry's counters are updated in SQL (`correct + 1`) in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from dataclasses import dataclass
from typing import Callable, Iterable, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.areas import ALL, Area
from bot.contests.models import (
    CLOSED, DONE, OPEN, QUESTIONS, Contest, ContestAnswer, ContestEntry, ContestRound,
)
from bot.knowledge.models import QuizQuestion
from bot.storage.models import utcnow

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
Clock = Callable[[], dt.datetime]
MAX_QUESTIONS, MAX_SECONDS, MAX_ATTEMPTS = 50, 3 * 3600, 10
MAX_NAME = 200
MAX_PREDICTION = 10_000_000
_PRIZE = re.compile(r"^\s*(?P<name>[^:@]{1,60}?)\s*:\s*(?P<count>\d{1,3})\s*(?:@\s*(?P<area>[\w/-]{1,128}))?\s*$")


class ContestError(ValueError):
    """Bad input from an operator (CLI, web admin), in English."""


def utc(when: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; every stored one is UTC."""
    if when is None:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def parse_time(value: str) -> dt.datetime:
    """ISO 8601, Vietnam time unless an offset is given (or 'now'), as UTC."""
    if value.strip().lower() == "now":
        return utcnow().replace(microsecond=0)
    try:
        at = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise ContestError(f"not an ISO 8601 date-time (2026-12-05T08:00): {value[:40]!r}") from None
    return (at if at.tzinfo else at.replace(tzinfo=TZ)).astimezone(dt.timezone.utc)


def parse_prizes(text: str) -> list[dict]:
    """'Giải Nhất:1,Giải Nhì:2@lai-chau' -> [{"name", "count", "area"}], best first."""
    prizes = []
    for part in filter(str.strip, text.split(",")):
        match = _PRIZE.match(part)
        if not match or int(match["count"]) < 1:
            raise ContestError(f"a prize is NAME:COUNT or NAME:COUNT@AREA, not {part.strip()[:60]!r}")
        prizes.append({"name": match["name"], "count": int(match["count"]), "area": match["area"] or ALL})
    return prizes


@dataclass(frozen=True)
class RoundSpec:
    opens: dt.datetime
    closes: dt.datetime
    questions: int
    seconds: int
    attempts: int = 1
    topics: tuple[str, ...] = ()
    question_ids: tuple[str, ...] = ()
    prizes: tuple[dict, ...] = ()


def pool(quiz: dict[str, QuizQuestion], topics: Iterable[str] = (), question_ids: Iterable[str] = ()) -> list[QuizQuestion]:
    """The quiz-bank questions a round draws from: a fixed list, else the topics, else all."""
    ids = list(question_ids)
    if ids:
        return [quiz[i] for i in ids if i in quiz]
    wanted = set(topics)
    return [q for q in quiz.values() if not wanted or q.topic in wanted]


def check_round(spec: RoundSpec, quiz: dict[str, QuizQuestion], now: dt.datetime) -> None:
    if not 1 <= spec.questions <= MAX_QUESTIONS:
        raise ContestError(f"--questions must be 1..{MAX_QUESTIONS}")
    if not 10 <= spec.seconds <= MAX_SECONDS:
        raise ContestError(f"--seconds must be 10..{MAX_SECONDS} (the time limit of a whole attempt)")
    if not 1 <= spec.attempts <= MAX_ATTEMPTS:
        raise ContestError(f"--attempts must be 1..{MAX_ATTEMPTS}")
    if spec.closes <= spec.opens or spec.closes <= now:
        raise ContestError("the closing time must be after the opening time and in the future")
    unknown = [i for i in spec.question_ids if i not in quiz]
    if unknown:
        raise ContestError(f"not in the quiz bank: {', '.join(unknown[:5])}")
    known_topics = {q.topic for q in quiz.values()}
    if set(spec.topics) - known_topics:
        raise ContestError(f"unknown topics {sorted(set(spec.topics) - known_topics)}; the quiz bank has {sorted(known_topics)}")
    have = len(pool(quiz, spec.topics, spec.question_ids))
    if have < spec.questions:
        raise ContestError(f"--questions {spec.questions} but the quiz bank has only {have} matching questions")


def create(s: Session, quiz: dict[str, QuizQuestion], name: str, spec: RoundSpec, area: str = ALL, rules: str = "",
           created_by: str = "", now: dt.datetime | None = None) -> Contest:
    """A contest with its first round; an opening time in the past opens it at once."""
    now = now or utcnow()
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise ContestError(f"--name must be 1..{MAX_NAME} characters")
    rules = "\n".join(line.strip() for line in rules.strip().splitlines()[:3] if line.strip())
    check_round(spec, quiz, now)
    contest = Contest(name=name, rules=rules, area=area, status=OPEN, created_by=created_by, created_at=now)
    s.add(contest)
    s.flush()
    add_round(s, contest, spec, quiz, now)
    return contest


def add_round(s: Session, contest: Contest, spec: RoundSpec, quiz: dict[str, QuizQuestion],
              now: dt.datetime | None = None) -> ContestRound:
    now = now or utcnow()
    if contest.status != OPEN:
        raise ContestError(f"contest {contest.id} is closed")
    check_round(spec, quiz, now)
    number = (s.scalar(select(func.max(ContestRound.number)).where(ContestRound.contest_id == contest.id)) or 0) + 1
    row = ContestRound(contest_id=contest.id, number=number, opens_at=max(spec.opens, now.replace(microsecond=0)),
                       closes_at=spec.closes, questions=spec.questions, seconds=spec.seconds, attempts=spec.attempts,
                       topics=list(spec.topics), question_ids=list(spec.question_ids), prizes=list(spec.prizes))
    s.add(row)
    s.flush()
    return row


def rounds(s: Session, contest_id: int) -> list[ContestRound]:
    return list(s.scalars(select(ContestRound).where(ContestRound.contest_id == contest_id).order_by(ContestRound.number)))


def open_rounds(s: Session, now: dt.datetime) -> list[tuple[Contest, ContestRound]]:
    """Rounds taking attempts now, the one closing first first."""
    rows = s.execute(
        select(Contest, ContestRound).join(ContestRound, ContestRound.contest_id == Contest.id)
        .where(Contest.status == OPEN, ContestRound.opens_at <= now, ContestRound.closes_at > now)
        .order_by(ContestRound.closes_at, ContestRound.id)
    ).all()
    return [(c, r) for c, r in rows]


def is_open(contest: Contest, rnd: ContestRound, now: dt.datetime) -> bool:
    return contest.status == OPEN and utc(rnd.opens_at) <= now < utc(rnd.closes_at)


def latest_round(s: Session, contest_id: int, now: dt.datetime) -> ContestRound | None:
    """The round a leaderboard shows by default: the last one that has opened (else the first)."""
    all_rounds = rounds(s, contest_id)
    opened = [r for r in all_rounds if utc(r.opens_at) <= now]
    return (opened or all_rounds or [None])[-1]


# -- attempts ------------------------------------------------------------------------------------


def used_attempts(s: Session, round_id: int, user_id: int, phone: str | None = None) -> int:
    """Attempts already started at this round by this person (by user, and by phone number if given)."""
    person = ContestEntry.user_id == user_id
    if phone:
        person = or_(person, ContestEntry.phone == phone)
    return s.scalar(select(func.count()).select_from(ContestEntry).where(
        ContestEntry.round_id == round_id, person, ContestEntry.started_at.is_not(None))) or 0


def draw(rnd: ContestRound, quiz: dict[str, QuizQuestion], rng: random.Random) -> list[list]:
    """This person's questions and option orders: [[quiz id, [bank option index shown first, ...]], ...]."""
    questions = rng.sample(pool(quiz, rnd.topics or (), rnd.question_ids or ()), rnd.questions)
    plan = []
    for q in questions:
        order = list(range(len(q.options)))
        rng.shuffle(order)
        plan.append([q.id, order])
    return plan


def start(s: Session, entry: ContestEntry, rnd: ContestRound, quiz: dict[str, QuizQuestion], now: dt.datetime,
          rng: random.Random | None = None) -> None:
    """The clock starts: questions drawn, deadline set."""
    entry.plan = draw(rnd, quiz, rng or random.SystemRandom())
    entry.position, entry.correct, entry.step = 0, 0, QUESTIONS
    entry.started_at, entry.deadline = now, now + dt.timedelta(seconds=rnd.seconds)


# Outcomes of `answer`
COUNTED, LATE, STALE, FINISHED, INVALID = "counted", "late", "stale", "finished", "invalid"


def answer(s: Session, entry: ContestEntry, position: int, shown: int, quiz: dict[str, QuizQuestion],
           limit: int, now: dt.datetime) -> str:
    """Record the answer `shown` (an index in the person's shuffled options) to question `position`.

    COUNTED: recorded in time; LATE: after the deadline (kept, not counted, the attempt ends);
    STALE: that question was answered already (double tap, redelivery); FINISHED: the attempt is over."""
    if position < entry.position:
        return STALE
    if entry.step != QUESTIONS:
        return FINISHED
    if position != entry.position:
        return STALE
    quiz_id, order = entry.plan[position]
    if not 0 <= shown < len(order):
        return INVALID
    choice = order[shown]
    q = quiz.get(quiz_id)
    in_time = now <= utc(entry.deadline)
    right = q is not None and choice == q.answer
    try:
        with s.begin_nested():
            s.add(ContestAnswer(entry_id=entry.id, position=position, quiz_id=quiz_id, choice=choice,
                                correct=right, in_time=in_time, answered_at=now))
    except IntegrityError:
        return STALE
    values: dict = {"position": ContestEntry.position + 1}
    if in_time and right:
        values["correct"] = ContestEntry.correct + 1
    if not in_time or position + 1 >= len(entry.plan):
        ended = now if in_time else utc(entry.deadline)
        values.update(step=DONE, finished_at=ended, seconds=taken(entry.started_at, ended, limit))
    s.execute(update(ContestEntry).where(ContestEntry.id == entry.id, ContestEntry.position == position)
              .values(**values).execution_options(synchronize_session=False))
    s.refresh(entry)
    return COUNTED if in_time else LATE


def taken(started: dt.datetime, ended: dt.datetime, limit: int) -> int:
    """Whole seconds from the first question to the last answer, at most the limit."""
    return max(0, min(limit, round((utc(ended) - utc(started)).total_seconds())))


def expire(s: Session, entry: ContestEntry, limit: int, now: dt.datetime) -> bool:
    """Finish an attempt whose time ran out with questions unanswered; True if it did now."""
    if entry.step != QUESTIONS or now <= utc(entry.deadline):
        return False
    entry.step, entry.finished_at, entry.seconds = DONE, utc(entry.deadline), limit
    return True


def settle(s: Session, rnd: ContestRound, now: dt.datetime) -> int:
    """Finish every attempt of the round whose time ran out (people who stopped answering)."""
    result = s.execute(
        update(ContestEntry)
        .where(ContestEntry.round_id == rnd.id, ContestEntry.step == QUESTIONS, ContestEntry.deadline < now)
        .values(step=DONE, finished_at=ContestEntry.deadline, seconds=rnd.seconds)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


# -- leaderboard ------------------------------------------------------------------------------------


class Standing(NamedTuple):  # a tuple: a leaderboard builds one per person (10,000 in a few ms)
    rank: int
    name: str
    area: str
    correct: int
    seconds: int
    prediction: int | None
    entry_id: int
    user_id: int
    phone: str | None  # the stored number: mask it before anyone reads it
    channel: str
    attempt: int

    def to_json(self) -> dict:
        return {"rank": self.rank, "name": self.name, "area": self.area, "correct": self.correct,
                "seconds": self.seconds, "prediction": self.prediction}


def covers(area: str, other: str) -> bool:
    return not area or area == ALL or other == area or other.startswith(area + "/")


def standings(s: Session, rnd: ContestRound, now: dt.datetime, area: str = "") -> list[Standing]:
    """Finished attempts, the best one per person (a phone number given joins a person's channels),
    ordered by right answers (more first), seconds (fewer first), then how far the prediction is from
    the number of people who answered every question right (nearer first); then who finished first."""
    settle(s, rnd, now)
    rows = s.execute(
        select(ContestEntry.id, ContestEntry.user_id, ContestEntry.phone, ContestEntry.display_name, ContestEntry.area,
               ContestEntry.correct, ContestEntry.seconds, ContestEntry.prediction, ContestEntry.finished_at,
               ContestEntry.channel, ContestEntry.attempt)
        .where(ContestEntry.round_id == rnd.id, ContestEntry.step == DONE)
    ).all()
    best: dict[str, object] = {}
    for r in sorted(rows, key=lambda r: (-r.correct, r.seconds, r.finished_at, r.id)):  # one database: one tz form
        best.setdefault(r.phone or f"user:{r.user_id}", r)
    people = list(best.values())
    perfect = sum(1 for r in people if r.correct == rnd.questions)
    if area and area != ALL:
        people = [r for r in people if covers(area, r.area)]

    def distance(r) -> int:
        return abs(r.prediction - perfect) if r.prediction is not None else MAX_PREDICTION * 2

    people.sort(key=lambda r: (-r.correct, r.seconds, distance(r), r.finished_at, r.id))
    return [Standing(i, r.display_name, r.area, r.correct, r.seconds, r.prediction, r.id, r.user_id, r.phone,
                     r.channel, r.attempt) for i, r in enumerate(people, 1)]


def rank_of(s: Session, rnd: ContestRound, entry: ContestEntry) -> tuple[int, int]:
    """(rank, finished attempts) of one finished attempt, counted in SQL (cheap on a large round)."""
    done = and_(ContestEntry.round_id == rnd.id, ContestEntry.step == DONE)
    perfect = s.scalar(select(func.count()).where(done, ContestEntry.correct == rnd.questions)) or 0
    total = s.scalar(select(func.count()).where(done)) or 0
    mine = abs((entry.prediction or 0) - perfect)
    nearer = func.abs(func.coalesce(ContestEntry.prediction, 0) - perfect) < mine
    better = or_(
        ContestEntry.correct > entry.correct,
        and_(ContestEntry.correct == entry.correct, ContestEntry.seconds < entry.seconds),
        and_(ContestEntry.correct == entry.correct, ContestEntry.seconds == entry.seconds, nearer),
    )
    ahead = s.scalar(select(func.count()).where(done, better, ContestEntry.id != entry.id)) or 0
    return ahead + 1, total


def winners(rnd: ContestRound, board: list[Standing]) -> list[tuple[str, Standing]]:
    """(prize name, standing) for each prize tier of the round, best first; a person wins once."""
    won: set[int] = set()
    out = []
    for prize in rnd.prizes or []:
        eligible = [b for b in board if b.entry_id not in won and covers(prize.get("area", ALL), b.area)]
        for b in eligible[: int(prize.get("count", 0))]:
            won.add(b.entry_id)
            out.append((str(prize.get("name", "")), b))
    return out


def close(s: Session, contest: Contest, now: dt.datetime) -> bool:
    """Stop taking attempts (rounds still open end now); False if it was closed already."""
    if contest.status == CLOSED:
        return False
    contest.status, contest.closed_at = CLOSED, now
    for rnd in rounds(s, contest.id):
        if utc(rnd.closes_at) > now:
            rnd.closes_at = max(utc(rnd.opens_at), now)
    return True


def area_names(areas: list[Area]) -> dict[str, str]:
    return {a.code: a.name for a in areas}
