"""A contest's announcements: opening, reminder and results, as campaigns to its audience.

They are ordinary one-off campaigns (bot.campaigns), keyed 'contest:<round>:<kind>' so that a repeat
adds nothing: the running bot's scheduler fires them and the outbox delivers them, within every
platform's limits and quiet hours, like any other campaign. Winners are named by display name only.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import messages as m
from bot.campaigns.models import Campaign, CampaignRun
from bot.contests import service as cs
from bot.contests.chat import duration, local_time, round_label
from bot.contests.models import Contest, ContestRound

REMINDER_BEFORE = dt.timedelta(hours=24)  # before closing; a shorter round is reminded halfway
RESULTS_LINES = 10


def _campaign(s: Session, key: str, text: str, at: dt.datetime, area: str) -> Campaign:
    row = s.scalar(select(Campaign).where(Campaign.key == key))
    if row is None:
        row = Campaign(key=key, kind="message", text=text[:2000], run_at=at, area=area, channel="all")
        s.add(row)
        s.flush()
    return row


def schedule(s: Session, contest: Contest, rnd: ContestRound, now: dt.datetime) -> list[int]:
    """The opening (at the opening time, or now) and the reminder of a round; their campaign ids."""
    opens, closes = cs.utc(rnd.opens_at), cs.utc(rnd.closes_at)
    fields = dict(name=contest.name, round=round_label(s, rnd), closes=local_time(closes), questions=rnd.questions,
                  limit=duration(rnd.seconds))
    ids = [_campaign(s, f"contest:{rnd.id}:opening", m.CONTEST_OPENING.format(**fields), max(opens, now), contest.area).id]
    remind = closes - min(REMINDER_BEFORE, (closes - opens) / 2)
    if remind > max(opens, now) + dt.timedelta(minutes=30):
        ids.append(_campaign(s, f"contest:{rnd.id}:reminder", m.CONTEST_REMINDER.format(**fields), remind, contest.area).id)
    return ids


def results_text(s: Session, contest: Contest, rnd: ContestRound, board: list[cs.Standing], area_names: dict[str, str]) -> str:
    perfect = sum(1 for b in board if b.correct == rnd.questions)
    lines = [m.CONTEST_RESULTS.format(name=contest.name, round=round_label(s, rnd), people=len(board), perfect=perfect)]
    prizes = cs.winners(rnd, board)
    for prize, b in prizes:
        lines.append(m.CONTEST_RESULTS_PRIZE.format(prize=prize, name=b.name, area=area_names.get(b.area, b.area),
                                                    correct=b.correct, total=rnd.questions, seconds=b.seconds))
    if not prizes:
        lines += [m.CONTEST_RESULTS_LINE.format(rank=b.rank, name=b.name, area=area_names.get(b.area, b.area),
                                                correct=b.correct, total=rnd.questions, seconds=b.seconds)
                  for b in board[:RESULTS_LINES]]
    lines.append(m.CONTEST_RESULTS_THANKS)
    return "\n".join(lines)


def results(s: Session, contest: Contest, rnd: ContestRound, area_names: dict[str, str], now: dt.datetime) -> int:
    """The results of a round, to its audience now; the campaign id (the same one if announced before)."""
    board = cs.standings(s, rnd, now)
    return _campaign(s, f"contest:{rnd.id}:results", results_text(s, contest, rnd, board, area_names), now, contest.area).id


def cancel_unsent(s: Session, rnd: ContestRound) -> None:
    """A round closed early: its opening and reminder are not sent if they have not run yet."""
    for kind in ("opening", "reminder"):
        row = s.scalar(select(Campaign).where(Campaign.key == f"contest:{rnd.id}:{kind}"))
        if row is not None and s.scalar(select(CampaignRun.id).where(CampaignRun.campaign_id == row.id).limit(1)) is None:
            row.status = "cancelled"


def close(s: Session, contest: Contest, area_names: dict[str, str], now: dt.datetime) -> list[int]:
    """Close a contest and announce each round's results (rounds with no attempt announce nothing)."""
    cs.close(s, contest, now)
    ids = []
    for rnd in cs.rounds(s, contest.id):
        cancel_unsent(s, rnd)
        if cs.standings(s, rnd, now):
            ids.append(results(s, contest, rnd, area_names, now))
    return ids
