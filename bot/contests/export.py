"""What the organising committee reads: the contest workbook (ranking with masked phone numbers, every
answer, counts per area) and the contest rows of the periodic report.

Cells go through bot.spreadsheet, so a display name such as "=HYPERLINK(…)" stays text.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import messages as m
from bot.spreadsheet import add_sheet
from bot.contests import service as cs
from bot.contests.models import NAME, RULES, Contest, ContestAnswer, ContestEntry, ContestRound
from bot.knowledge.models import QuizQuestion
from bot.privacy import mask


def masked(phone: str | None) -> str:
    return mask(phone) if phone else ""


def _local(when: dt.datetime | None) -> str:
    return cs.utc(when).astimezone(cs.TZ).strftime("%Y-%m-%d %H:%M:%S") if when else ""


def area_rows(s: Session, round_ids: list[int], area_names: dict[str, str], since: dt.datetime | None = None,
              until: dt.datetime | None = None) -> list[list]:
    """Per area: registered (gave a name), started, answered every question, all right, average % right."""
    q = select(ContestEntry.area, ContestEntry.step, ContestEntry.started_at, ContestEntry.position, ContestEntry.plan,
               ContestEntry.correct, ContestEntry.round_id).where(ContestEntry.round_id.in_(round_ids),
                                                                   ContestEntry.step.not_in((RULES, NAME)))
    if since is not None:
        q = q.where(ContestEntry.created_at >= since, ContestEntry.created_at < until)
    counts: dict[str, list] = defaultdict(lambda: [0, 0, 0, 0, []])
    for area, step, started, position, plan, correct, _round in s.execute(q):
        row = counts[area or ""]
        row[0] += 1
        if started is not None:
            total = len(plan or []) or 1
            row[1] += 1
            row[2] += position >= total
            row[3] += correct == total
            row[4].append(100 * correct / total)
    out = []
    for area in sorted(counts, key=lambda a: (-counts[a][0], a)):
        registered, started, completed, perfect, scores = counts[area]
        average = round(sum(scores) / len(scores), 1) if scores else ""
        completion = round(100 * completed / started, 1) if started else ""
        out.append([area_names.get(area, area), registered, started, completed, completion, perfect, average])
    return out


AREA_HEADER = ["area", "registered", "started", "completed", "completion", "perfect", "average"]


def workbook(s: Session, contest: Contest, rnd: ContestRound, quiz: dict[str, QuizQuestion],
             area_names: dict[str, str], now: dt.datetime, path: Path) -> Path:
    from openpyxl import Workbook

    c = m.CONTEST_COLUMNS
    board = cs.standings(s, rnd, now)
    perfect = sum(1 for b in board if b.correct == rnd.questions)
    prizes = {b.entry_id: name for name, b in cs.winners(rnd, board)}
    sheets: dict[str, list[list]] = {}
    sheets["board"] = [[c[k] for k in ("rank", "name", "area", "phone", "correct", "seconds", "prediction", "distance",
                                       "prize", "channel", "attempt", "entry")]]
    for b in board:
        distance = abs(b.prediction - perfect) if b.prediction is not None else ""
        sheets["board"].append([b.rank, b.name, area_names.get(b.area, b.area), masked(b.phone), b.correct, b.seconds,
                                b.prediction if b.prediction is not None else "", distance, prizes.get(b.entry_id, ""),
                                b.channel, b.attempt, b.entry_id])
    sheets["answers"] = [[c[k] for k in ("entry", "name", "area", "phone", "position", "quiz_id", "question", "choice",
                                         "right", "in_time", "at")]]
    answers = s.execute(
        select(ContestEntry.id, ContestEntry.display_name, ContestEntry.area, ContestEntry.phone, ContestAnswer.position,
               ContestAnswer.quiz_id, ContestAnswer.choice, ContestAnswer.correct, ContestAnswer.in_time,
               ContestAnswer.answered_at)
        .join(ContestAnswer, ContestAnswer.entry_id == ContestEntry.id)
        .where(ContestEntry.round_id == rnd.id).order_by(ContestEntry.id, ContestAnswer.position)
    )
    yes_no = {True: m.CONTEST_YES, False: m.CONTEST_NO}
    for entry_id, name, area, phone, position, quiz_id, choice, right, in_time, at in answers:
        q = quiz.get(quiz_id)
        chosen = q.options[choice] if q and 0 <= choice < len(q.options) else str(choice)
        sheets["answers"].append([entry_id, name, area_names.get(area, area), masked(phone), position + 1, quiz_id,
                                  q.question if q else "", chosen, yes_no[bool(right)], yes_no[bool(in_time)], _local(at)])
    sheets["areas"] = [[c[k] for k in AREA_HEADER], *area_rows(s, [rnd.id], area_names)]
    a = m.CONTEST_ABOUT
    sheets["about"] = [[c["field"], c["value"]], [a["contest"], contest.name], [a["round"], rnd.number],
                       [a["opens"], _local(rnd.opens_at)], [a["closes"], _local(rnd.closes_at)],
                       [a["questions"], rnd.questions], [a["seconds"], rnd.seconds], [a["attempts"], rnd.attempts],
                       [a["people"], len(board)], [a["perfect"], perfect], [a["exported"], _local(now)]]
    book = Workbook()
    book.remove(book.active)
    for key, rows in sheets.items():
        sheet = add_sheet(book, m.CONTEST_SHEETS[key], rows)
        sheet.freeze_panes = "A2"
        sheet.column_dimensions["B"].width = 28
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def report_rows(s: Session, start: dt.datetime, end: dt.datetime, area_names: dict[str, str]) -> list[list]:
    """The report's contest sheet: per contest, round and area, the attempts made in the period."""
    rows = []
    for contest, rnd in s.execute(select(Contest, ContestRound).join(ContestRound, ContestRound.contest_id == Contest.id)
                                  .order_by(Contest.id, ContestRound.number)).all():
        for row in area_rows(s, [rnd.id], area_names, start, end):
            rows.append([contest.name, rnd.number, *row])
    return rows

