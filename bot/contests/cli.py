"""`python -m bot contest …`: add contests and rounds, list, show, close (results announced), the
leaderboard (text or JSON) and the committee's workbook. Times are ISO 8601, Vietnam time unless an
offset is given. Bad input exits 2 with `error: …` on stderr; an unknown contest exits 1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from bot.areas import ALL
from bot.cli_support import actor, fail, open_areas, open_database
from bot.config import get_settings
from bot.textnorm import clean

contest_app = typer.Typer(help="Online contests: rounds, leaderboards, exports.", no_args_is_help=True)


def _quiz() -> dict:
    from bot.knowledge.loaders import load_quiz_bank
    from bot.knowledge.models import KnowledgeError

    try:
        return {q.id: q for q in load_quiz_bank(get_settings().knowledge_dir)}
    except KnowledgeError as exc:
        fail(f"quiz bank: {exc}")


def _area(value: str) -> str:
    from bot.areas import find_area

    if value.strip().lower() == ALL:
        return ALL
    found = find_area(open_areas(), value)
    if found is None:
        fail(f"unknown area {value[:60]!r}; use 'all' or a code from knowledge/areas.yaml (e.g. lai-chau)")
    return found.code


def _list(value: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in value.split(",") if x.strip())


def _spec(opens: str, closes: str, questions: int, seconds: int, attempts: int, topics: str, question_ids: str,
          prizes: str):
    from bot.contests import service as cs

    try:
        return cs.RoundSpec(opens=cs.parse_time(opens), closes=cs.parse_time(closes), questions=questions,
                            seconds=seconds, attempts=attempts, topics=_list(topics), question_ids=_list(question_ids),
                            prizes=tuple(cs.parse_prizes(prizes)))
    except cs.ContestError as exc:
        fail(str(exc))


def _contest(s, contest_id: int):
    from bot.contests.models import Contest

    contest = s.get(Contest, contest_id)
    if contest is None:
        fail(f"no contest {contest_id}", 1)
    return contest


def _round(s, contest, number: Optional[int], now):
    from bot.contests import service as cs

    if number is None:
        rnd = cs.latest_round(s, contest.id, now)
    else:
        rnd = next((r for r in cs.rounds(s, contest.id) if r.number == number), None)
    if rnd is None:
        fail(f"contest {contest.id} has no round {number}", 1)
    return rnd


@contest_app.command("add")
def add(
    name: str = typer.Option(..., "--name", help="The contest's name, e.g. 'Công dân số thông minh'."),
    opens: str = typer.Option(..., "--opens", help="Opening time, ISO 8601 (a time in the past opens it at once)."),
    closes: str = typer.Option(..., "--closes", help="Closing time, ISO 8601."),
    questions: int = typer.Option(..., "--questions", help="Questions per attempt."),
    seconds: int = typer.Option(..., "--seconds", help="Time limit of a whole attempt, in seconds."),
    topics: str = typer.Option("", "--topics", help="Quiz-bank topics to draw from, comma-separated (default: all)."),
    question_ids: str = typer.Option("", "--question-ids", help="Or a fixed list of quiz-bank question ids."),
    attempts: int = typer.Option(1, "--attempts", help="Attempts allowed per person in a round."),
    area: str = typer.Option(ALL, "--area", help="Audience: 'all' or an area code or name."),
    rules: str = typer.Option("", "--rules", help="Rules in up to three lines (default: the standard rules)."),
    prizes: str = typer.Option("", "--prizes", help="Prize tiers, best first: 'Giải Nhất:1,Giải Nhì:2,Giải khu vực:1@lai-chau'."),
) -> None:
    """Add a contest with its first round; schedules the opening and reminder announcements; prints its id last."""
    from bot.contests import announce, service as cs
    from bot.storage.models import utcnow

    spec = _spec(opens, closes, questions, seconds, attempts, topics, question_ids, prizes)
    code, quiz = _area(area), _quiz()
    if spec.prizes and any(p["area"] != ALL for p in spec.prizes):
        spec = cs.RoundSpec(**{**spec.__dict__, "prizes": tuple({**p, "area": _area(p["area"]) if p["area"] != ALL else ALL}
                                                                 for p in spec.prizes)})
    now = utcnow()
    with open_database().session() as s:
        try:
            contest = cs.create(s, quiz, clean(name), spec, area=code, rules=clean(rules.replace("\\n", "\n")),
                                created_by=actor(), now=now)
        except cs.ContestError as exc:
            fail(str(exc))
        rnd = cs.rounds(s, contest.id)[0]
        announce.schedule(s, contest, rnd, now)
        typer.echo(f"contest {contest.id} «{contest.name}», round 1: {rnd.questions} questions, {rnd.seconds} s, "
                   f"opens {cs.utc(rnd.opens_at).astimezone(cs.TZ):%Y-%m-%d %H:%M}, closes "
                   f"{cs.utc(rnd.closes_at).astimezone(cs.TZ):%Y-%m-%d %H:%M} (Vietnam time)", err=True)
        print(contest.id)


@contest_app.command("add-round")
def add_round(
    contest_id: int = typer.Argument(...),
    opens: str = typer.Option(..., "--opens"),
    closes: str = typer.Option(..., "--closes"),
    questions: Optional[int] = typer.Option(None, "--questions", help="Default: as the previous round."),
    seconds: Optional[int] = typer.Option(None, "--seconds", help="Default: as the previous round."),
    attempts: Optional[int] = typer.Option(None, "--attempts", help="Default: as the previous round."),
    topics: Optional[str] = typer.Option(None, "--topics"),
    prizes: str = typer.Option("", "--prizes"),
) -> None:
    """Add a round (e.g. one a week) to a contest; prints the round number last."""
    from bot.contests import announce, service as cs
    from bot.storage.models import utcnow

    now, quiz = utcnow(), _quiz()
    with open_database().session() as s:
        contest = _contest(s, contest_id)
        last = cs.rounds(s, contest.id)[-1]
        spec = _spec(opens, closes, questions or last.questions, seconds or last.seconds, attempts or last.attempts,
                     topics if topics is not None else ",".join(last.topics or []), ",".join(last.question_ids or []), prizes)
        try:
            rnd = cs.add_round(s, contest, spec, quiz, now)
        except cs.ContestError as exc:
            fail(str(exc))
        announce.schedule(s, contest, rnd, now)
        print(rnd.number)


@contest_app.command("list")
def list_contests() -> None:
    """Every contest: id, status, rounds, people with a result, name."""
    from sqlalchemy import func, select

    from bot.contests.models import DONE, Contest, ContestEntry, ContestRound

    with open_database().session() as s:
        for c in s.scalars(select(Contest).order_by(Contest.id)):
            rounds = s.scalar(select(func.count()).where(ContestRound.contest_id == c.id))
            done = s.scalar(select(func.count()).select_from(ContestEntry).join(ContestRound, ContestRound.id == ContestEntry.round_id)
                            .where(ContestRound.contest_id == c.id, ContestEntry.step == DONE))
            print(f"{c.id:>4}  {c.status:<6}  rounds {rounds:<3} results {done:<6} area {c.area:<20} {c.name}")


@contest_app.command("show")
def show(contest_id: int = typer.Argument(...)) -> None:
    """A contest's rounds, counts and top 10."""
    from bot.contests import service as cs
    from bot.contests.export import area_rows
    from bot.storage.models import utcnow

    now = utcnow()
    names = cs.area_names(open_areas())
    with open_database().session() as s:
        c = _contest(s, contest_id)
        print(f"contest {c.id}: {c.name}\nstatus {c.status}, audience {c.area}")
        for rnd in cs.rounds(s, c.id):
            state = "open" if cs.is_open(c, rnd, now) else ("not yet open" if cs.utc(rnd.opens_at) > now else "closed")
            print(f"round {rnd.number} ({state}): {cs.utc(rnd.opens_at).astimezone(cs.TZ):%Y-%m-%d %H:%M} to "
                  f"{cs.utc(rnd.closes_at).astimezone(cs.TZ):%Y-%m-%d %H:%M}, {rnd.questions} questions in {rnd.seconds} s, "
                  f"{rnd.attempts} attempt(s), topics {','.join(rnd.topics or []) or 'all'}"
                  + (f", prizes {', '.join(p['name'] + ':' + str(p['count']) for p in rnd.prizes)}" if rnd.prizes else ""))
            for area, registered, started, completed, _pct, perfect, average in area_rows(s, [rnd.id], names):
                print(f"  {area}: registered {registered}, started {started}, completed {completed}, "
                      f"all right {perfect}, average {average}%")
            for b in cs.standings(s, rnd, now)[:10]:
                print(f"  {b.rank:>3}. {b.name} ({names.get(b.area, b.area)}) {b.correct}/{rnd.questions} "
                      f"{b.seconds} s, prediction {b.prediction}")


@contest_app.command("close")
def close(contest_id: int = typer.Argument(...)) -> None:
    """Close a contest now and announce each round's results to its audience (through the outbox)."""
    from bot.contests import announce, service as cs
    from bot.storage.models import utcnow

    with open_database().session() as s:
        c = _contest(s, contest_id)
        if c.status == "closed":
            fail(f"contest {c.id} is closed already", 1)
        ids = announce.close(s, c, cs.area_names(open_areas()), utcnow())
        print(f"contest {c.id} closed; results campaign(s): {', '.join(map(str, ids)) or 'none (no results)'}")


@contest_app.command("leaderboard")
def leaderboard(
    contest_id: int = typer.Argument(...),
    area: str = typer.Option("", "--area", help="Only people of this area (and its communes)."),
    round_number: Optional[int] = typer.Option(None, "--round", help="Round number (default: the latest that opened)."),
    as_json: bool = typer.Option(False, "--json", help='A JSON list of {"rank", "name", "area", "correct", "seconds", "prediction"}.'),
    limit: int = typer.Option(0, "--limit", help="At most this many rows (0: all)."),
) -> None:
    """The ranking: right answers (more first), seconds (fewer first), prediction (nearer first)."""
    from bot.contests import service as cs
    from bot.storage.models import utcnow

    now = utcnow()
    code = _area(area) if area else ""
    with open_database().session() as s:
        c = _contest(s, contest_id)
        rnd = _round(s, c, round_number, now)
        board = cs.standings(s, rnd, now, code)
    board = board[:limit] if limit > 0 else board
    if as_json:
        print(json.dumps([b.to_json() for b in board], ensure_ascii=False))
        return
    for b in board:
        print(f"{b.rank:>4}. {b.name:<40} {b.area:<28} {b.correct:>3}/{rnd.questions} {b.seconds:>5} s  prediction {b.prediction}")


@contest_app.command("export")
def export(
    contest_id: int = typer.Argument(...),
    out: Path = typer.Option(..., "--out", help="The workbook to write (.xlsx)."),
    round_number: Optional[int] = typer.Option(None, "--round", help="Round number (default: the latest that opened)."),
) -> None:
    """The committee's workbook: ranking (phone numbers masked), every answer, counts per area."""
    from bot.contests import service as cs
    from bot.contests.export import workbook
    from bot.storage.models import utcnow

    if out.suffix.lower() != ".xlsx":
        fail("--out must name an .xlsx file")
    now, quiz = utcnow(), _quiz()
    with open_database().session() as s:
        c = _contest(s, contest_id)
        rnd = _round(s, c, round_number, now)
        try:
            path = workbook(s, c, rnd, quiz, cs.area_names(open_areas()), now, out)
        except OSError as exc:
            fail(f"cannot write {out}: {exc.strerror or exc}")
    print(path)
