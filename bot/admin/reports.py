"""Periodic reports (monthly, 6-monthly, yearly) from the conversation log and the other tables.

`python -m bot report --period 2026-10 | 2026-H1 | 2026 --out DIR` writes a workbook (XLSX, or one
CSV per sheet), a Markdown summary and a PNG chart. Periods follow Vietnam time. Questions are
masked (phone, ID-card and account numbers) before they appear in a report. With the engine's
embedder, the sheet «Chủ đề còn thiếu» holds the period's biggest groups of questions the base did
not answer well (bot/admin/gaps.py, vectors cached in `question_vectors`).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bot import messages as m
from bot.campaigns.models import OutboxMessage
from bot.contests.export import report_rows
from bot.spreadsheet import add_sheet, write_csv
from bot.privacy import mask
from bot.storage.db import Database
from bot.storage.models import Conversation, Escalation, QuizAnswer, Subscription
from bot.textnorm import clean, fold

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CONTEST_HEADER = ("contest", "round", "area", "registered", "started", "completed", "completion", "perfect", "average")
TOP = 20
TOP_CLUSTERS = 10  # groups on the sheet «Chủ đề còn thiếu»
CLUSTER_EXAMPLES = 3
MIN_YEAR, MAX_YEAR = 2000, 2999  # reports cover the bot's own lifetime; far years overflow date arithmetic
_PERIOD = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2])|-[hH]([12]))?$")


@dataclass(frozen=True)
class Period:
    label: str  # 2026-10, 2026-H1, 2026
    start: dt.datetime  # aware, Vietnam time; end is exclusive
    end: dt.datetime
    monthly: bool  # bucket by day (a month) or by month (a half-year or a year)

    @property
    def title(self) -> str:
        year = self.label[:4]
        if self.monthly:
            return m.REPORT_PERIOD_MONTH.format(month=int(self.label[5:]), year=year)
        if "-H" in self.label:
            return m.REPORT_PERIOD_HALF.format(half=m.REPORT_HALVES[int(self.label[-1])], year=year)
        return m.REPORT_PERIOD_YEAR.format(year=year)


def parse_period(text: str) -> Period:
    match = _PERIOD.match(text.strip())
    if not match:
        raise ValueError(f"period {text!r}: use YYYY-MM (a month), YYYY-H1 or YYYY-H2 (a half-year) or YYYY (a year)")
    year, month, half = int(match[1]), match[2], match[3]
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"period {text!r}: the year must be between {MIN_YEAR} and {MAX_YEAR}")
    if month:
        first, months, label = int(month), 1, f"{year}-{month}"
    elif half:
        first, months, label = 1 + 6 * (int(half) - 1), 6, f"{year}-H{half}"
    else:
        first, months, label = 1, 12, str(year)
    start = dt.datetime(year, first, 1, tzinfo=TZ)
    end_month = first + months
    end = dt.datetime(year + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1, tzinfo=TZ)
    return Period(label, start, end, months == 1)


@dataclass
class Report:
    period: Period
    summary: dict[str, float | int | None] = field(default_factory=dict)  # None: no data (n/a)
    timeline: list[tuple[str, int, int]] = field(default_factory=list)  # bucket, answered, declined
    topics: list[tuple[str, int]] = field(default_factory=list)
    gaps: list[tuple[str, int]] = field(default_factory=list)  # masked question, times asked
    subscribers: list[tuple[str, int, int]] = field(default_factory=list)  # area, total at end, new
    deliveries: list[tuple[str, int]] | None = None  # status, count; None: no outbox table
    quiz: list[tuple[str, int, float]] = field(default_factory=list)  # quiz id, answers, % correct
    contests: list[list] = field(default_factory=list)  # contest, round, area, registered … average (bot/contests/export.py)
    # per area: questions to the team, median and p90 minutes to a first answer, % answered within the due
    # time, % 👍 of the rated team answers (None: no data)
    handoff: list[tuple[str, int, float | None, float | None, float | None, float | None]] = field(default_factory=list)
    # the biggest groups of questions not answered well (bot/admin/gaps.py); None: no embedder given (n/a)
    clusters: list | None = None


def build_report(db: Database, period: Period, area_names: dict[str, str] | None = None, *, embedder=None,
                 area: str | None = None) -> Report:
    """`area_names`: area code -> name for the contest sheet (default: the configured knowledge/areas.yaml).
    `embedder` (the engine's, or bot.retrieval.embedders.make_embedder's): group the period's unanswered questions
    for the sheet «Chủ đề còn thiếu» (only the questions of `area` and its communes when given); None: that sheet
    reads n/a."""
    start, end = period.start.astimezone(dt.timezone.utc), period.end.astimezone(dt.timezone.utc)
    report = Report(period)
    with db.session() as s:
        rows = s.execute(
            select(Conversation.created_at, Conversation.answered, Conversation.topic, Conversation.question, Conversation.feedback)
            .where(Conversation.created_at >= start, Conversation.created_at < end)
        ).all()
        escalations = s.execute(
            select(Escalation.created_at, Escalation.answered_at)
            .where(Escalation.created_at >= start, Escalation.created_at < end)
        ).all()
        handoff_rows = s.execute(
            select(Escalation.area, Escalation.origin_area, Escalation.created_at, Escalation.first_answered_at,
                   Escalation.due_at, Escalation.rating)
            .where(Escalation.created_at >= start, Escalation.created_at < end)
        ).all()
        subs = s.execute(select(Subscription.area, Subscription.created_at).where(Subscription.created_at < end)).all()
        quiz = s.execute(
            select(QuizAnswer.quiz_id, QuizAnswer.user_id, QuizAnswer.correct)
            .where(QuizAnswer.created_at >= start, QuizAnswer.created_at < end)
        ).all()
        report.deliveries = sorted((status, n) for status, n in s.execute(
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.created_at >= start, OutboxMessage.created_at < end)
            .group_by(OutboxMessage.status)
        ))
        report.contests = report_rows(s, start, end, _area_names() if area_names is None else area_names)

    answered = [r for r in rows if r.answered and r.feedback != -1]  # a 👎 answer is not counted as answered
    disliked = [r for r in rows if r.answered and r.feedback == -1]
    waits = [(_utc(a) - _utc(c)).total_seconds() / 60 for c, a in escalations if a is not None]
    likes, dislikes = sum(r.feedback == 1 for r in rows), sum(r.feedback == -1 for r in rows)
    new_subs = [a for a, c in subs if _utc(c) >= start]
    report.summary = {
        "asked": len(rows),
        "answered": len(answered),
        "answered_disliked": len(disliked),
        "declined": len(rows) - len(answered) - len(disliked),
        "escalated": len(escalations),
        "human_answered": len(waits),
        "median_human_minutes": round(statistics.median(waits), 1) if waits else None,
        "likes": likes,
        "dislikes": dislikes,
        "like_share": round(100 * likes / (likes + dislikes), 1) if likes + dislikes else None,
        "subscribers": len(subs),
        "new_subscribers": len(new_subs),
        "deliveries_sent": dict(report.deliveries).get("sent", 0) if report.deliveries is not None else None,
        "quiz_answers": len(quiz),
        "quiz_participants": len({q.user_id for q in quiz}),
        "quiz_score": round(100 * sum(q.correct for q in quiz) / len(quiz), 1) if quiz else None,
    }
    report.timeline = _timeline(period, rows)
    report.topics = Counter(m.TOPIC_NAMES.get(r.topic, r.topic) for r in rows if r.answered and r.topic).most_common()
    report.gaps = _gaps([r.question for r in rows if not r.answered])
    totals, fresh = Counter(a for a, _ in subs), Counter(new_subs)
    report.subscribers = [(a, n, fresh[a]) for a, n in sorted(totals.items(), key=lambda x: (-x[1], x[0]))]
    per_quiz: dict[str, list[bool]] = {}
    for q in quiz:
        per_quiz.setdefault(q.quiz_id, []).append(bool(q.correct))
    report.handoff = _handoff(handoff_rows)
    if embedder is not None:
        from bot.admin.gaps import gaps

        report.clusters = gaps(db, embedder, embedder.id, start, area, until=end)[:TOP_CLUSTERS]
    report.quiz = sorted(((k, len(v), round(100 * sum(v) / len(v), 1)) for k, v in per_quiz.items()), key=lambda x: (-x[1], x[0]))
    return report


def _area_names() -> dict[str, str]:
    from bot.areas import load_areas
    from bot.config import get_settings

    return {a.code: a.name for a in load_areas(get_settings().knowledge_dir / "areas.yaml")}


def _utc(when: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; every stored one is UTC."""
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def _percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (p90: the value 90 % of the waits are at or under)."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(1, math.ceil(share * len(ordered))) - 1], 1)


def _handoff(rows) -> list[tuple[str, int, float | None, float | None, float | None, float | None]]:
    """Per area the question first belonged to: questions, median and p90 minutes to a first answer, share
    answered within the due time (of those with one), share of 👍 among the ratings."""
    per_area: dict[str, list] = {}
    for r in rows:
        per_area.setdefault(r.origin_area or r.area or "", []).append(r)
    out = []
    for area, items in sorted(per_area.items(), key=lambda x: (-len(x[1]), x[0])):
        waits = [(_utc(r.first_answered_at) - _utc(r.created_at)).total_seconds() / 60 for r in items if r.first_answered_at]
        timed = [r for r in items if r.due_at is not None]
        within = [r for r in timed if r.first_answered_at is not None and _utc(r.first_answered_at) <= _utc(r.due_at)]
        rated = [r.rating for r in items if r.rating in (1, -1)]
        out.append((
            area or m.REPORT_NO_AREA, len(items),
            round(statistics.median(waits), 1) if waits else None, _percentile(waits, 0.9),
            round(100 * len(within) / len(timed), 1) if timed else None,
            round(100 * rated.count(1) / len(rated), 1) if rated else None,
        ))
    return out


def _timeline(period: Period, rows) -> list[tuple[str, int, int]]:
    """Answered and declined per day (a month) or per month (longer periods), empty buckets included."""
    fmt = "%Y-%m-%d" if period.monthly else "%Y-%m"
    buckets: dict[str, list[int]] = {}
    day = period.start
    while day < period.end:
        buckets.setdefault(day.strftime(fmt), [0, 0])
        day = (day + dt.timedelta(days=1)).replace(hour=0)
    for r in rows:
        key = _utc(r.created_at).astimezone(TZ).strftime(fmt)
        if key in buckets:
            buckets[key][0 if r.answered else 1] += 1
    return [(k, a, d) for k, (a, d) in buckets.items()]


def _gaps(questions: list[str]) -> list[tuple[str, int]]:
    """The questions the bot could not answer, grouped by their folded text, most asked first."""
    groups: dict[str, Counter] = {}
    for q in questions:
        text = clean(q)
        if not any(ch.isalpha() for ch in text):
            continue
        key = " ".join(fold(text).lower().split())
        groups.setdefault(key, Counter())[mask(text)[:300]] += 1
    ranked = sorted(groups.values(), key=lambda c: -sum(c.values()))
    return [(forms.most_common(1)[0][0], sum(forms.values())) for forms in ranked[:TOP]]


# -- output ----------------------------------------------------------------------------------


def _value(v) -> float | int | str:
    return m.REPORT_NA if v is None else v


def sheets(report: Report) -> dict[str, list[list]]:
    """Every sheet as rows (header first), keyed like messages.REPORT_SHEETS."""
    c = m.REPORT_COLUMNS
    return {
        "summary": [[c["metric"], c["value"]], *([m.REPORT_METRICS[k], _value(v)] for k, v in report.summary.items())],
        "timeline": [[c["bucket"], m.REPORT_METRICS["answered"], m.REPORT_METRICS["declined"]], *map(list, report.timeline)],
        "topics": [[c["topic"], c["count"]], *map(list, report.topics)],
        "gaps": [[c["question"], c["count"]], *map(list, report.gaps)],
        "subscribers": [[c["area"], c["total"], c["new"]], *map(list, report.subscribers)],
        "deliveries": [[c["status"], c["count"]], *(map(list, report.deliveries) if report.deliveries is not None else [[m.REPORT_NA, ""]])],
        "quiz": [[c["quiz_id"], c["count"], c["correct_pct"]], *map(list, report.quiz)],
        "contests": [[m.CONTEST_COLUMNS[k] for k in CONTEST_HEADER], *report.contests],
        "handoff": [[c["area"], c["escalated"], c["median_minutes"], c["p90_minutes"], c["within_sla"], c["satisfied"]],
                    *([area, n, *map(_value, rest)] for area, n, *rest in report.handoff)],
        "clusters": _cluster_rows(report),
    }


def _cluster_rows(report: Report) -> list[list]:
    """Rank, label (the group's most central real question), times asked, areas, up to 3 other examples."""
    c = m.REPORT_COLUMNS
    header = [c["rank"], c["label"], c["times_asked"], c["areas"],
              *(c["example"].format(n=n) for n in range(1, CLUSTER_EXAMPLES + 1))]
    if report.clusters is None:
        return [header, [m.REPORT_NA] + [""] * (len(header) - 1)]
    rows = []
    for rank, cluster in enumerate(report.clusters, 1):
        examples = [e for e in cluster.examples if e != cluster.label][:CLUSTER_EXAMPLES]
        rows.append([rank, cluster.label, cluster.size, ", ".join(cluster.areas) or m.REPORT_NO_AREA,
                     *examples, *[""] * (CLUSTER_EXAMPLES - len(examples))])
    return [header, *rows]


def write_report(report: Report, out_dir: Path, fmt: str = "xlsx") -> list[Path]:
    """Write the workbook (or CSVs), the Markdown summary and the PNG chart; the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"report-{report.period.label}"
    chart = stem.with_suffix(".png")
    write_chart(report, chart)
    data = sheets(report)
    if fmt == "csv":
        written = []
        for key, rows in data.items():
            path = out_dir / f"{stem.name}-{key}.csv"
            with path.open("w", encoding="utf-8-sig", newline="") as f:  # the BOM makes Excel read UTF-8
                write_csv(f, rows)
            written.append(path)
    else:
        written = [stem.with_suffix(".xlsx")]
        _write_xlsx(report, data, written[0])
    summary = stem.with_suffix(".md")
    summary.write_text(markdown(report, chart.name), encoding="utf-8")
    return [*written, summary, chart]


def _write_xlsx(report: Report, data: dict[str, list[list]], path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference

    book = Workbook()
    book.remove(book.active)
    for key, rows in data.items():
        sheet = add_sheet(book, m.REPORT_SHEETS[key], rows)
        sheet.column_dimensions["A"].width = 60 if key in ("summary", "gaps") else 28
        if key == "clusters":
            for column in "BEFG":
                sheet.column_dimensions[column].width = 50
            sheet.column_dimensions["A"].width = 8
        sheet.freeze_panes = "A2"
    timeline = book[m.REPORT_SHEETS["timeline"]]
    bars = BarChart()
    bars.type, bars.grouping, bars.overlap = "col", "stacked", 100
    bars.title = m.REPORT_CHART_TIMELINE
    bars.add_data(Reference(timeline, min_col=2, max_col=3, min_row=1, max_row=timeline.max_row), titles_from_data=True)
    bars.set_categories(Reference(timeline, min_col=1, min_row=2, max_row=timeline.max_row))
    bars.width, bars.height = 24, 10
    timeline.add_chart(bars, "E2")
    if report.topics:
        topics = book[m.REPORT_SHEETS["topics"]]
        top = BarChart()
        top.type, top.title, top.legend = "bar", m.REPORT_CHART_TOPICS, None
        top.add_data(Reference(topics, min_col=2, min_row=1, max_row=topics.max_row), titles_from_data=True)
        top.set_categories(Reference(topics, min_col=1, min_row=2, max_row=topics.max_row))
        topics.add_chart(top, "D2")
    book.save(path)


def write_chart(report: Report, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 5), gridspec_kw={"width_ratios": [3, 2]})
    labels = [b[0][-2:] if report.period.monthly else b[0] for b in report.timeline]
    answered = [b[1] for b in report.timeline]
    left.bar(labels, answered, label=m.REPORT_METRICS["answered"], color="#2e7d32")
    left.bar(labels, [b[2] for b in report.timeline], bottom=answered, label=m.REPORT_METRICS["declined"], color="#ef6c00")
    left.set_title(m.REPORT_CHART_TIMELINE)
    left.legend()
    left.yaxis.set_major_locator(MaxNLocator(integer=True))
    left.tick_params(axis="x", labelrotation=90 if len(labels) > 12 else 0)
    topics = report.topics[:8][::-1]
    right.barh([t for t, _ in topics], [n for _, n in topics], color="#1565c0")
    right.set_title(m.REPORT_CHART_TOPICS)
    fig.suptitle(m.REPORT_TITLE.format(period=report.period.title))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def markdown(report: Report, chart_name: str) -> str:
    lines = [f"# {m.REPORT_TITLE.format(period=report.period.title)}", ""]
    lines += [f"| {m.REPORT_COLUMNS['metric']} | {m.REPORT_COLUMNS['value']} |", "|---|---:|"]
    lines += [f"| {m.REPORT_METRICS[k]} | {_value(v)} |" for k, v in report.summary.items()]
    for key, rows in (("topics", report.topics[:10]), ("gaps", report.gaps[:10])):
        lines += ["", f"## {m.REPORT_SHEETS[key]}", ""]
        lines += [f"{i}. {_md(text)}: {n}" for i, (text, n) in enumerate(rows, 1)] or [m.REPORT_NA]
    lines += ["", f"## {m.REPORT_SHEETS['subscribers']}", ""]
    lines += [f"- {area}: {total} (+{new})" for area, total, new in report.subscribers[:15]] or [m.REPORT_NA]
    lines += ["", f"## {m.REPORT_SHEETS['handoff']}", ""]
    header = sheets(report)["handoff"][0]
    lines += [f"| {' | '.join(header)} |", "|---|" + "---:|" * (len(header) - 1)] if report.handoff else [m.REPORT_NA]
    lines += [f"| {_md(area)} | {n} | " + " | ".join(str(_value(v)) for v in rest) + " |" for area, n, *rest in report.handoff]
    lines += ["", f"## {m.REPORT_SHEETS['clusters']}", ""]
    if report.clusters:
        lines += [f"{rank}. {_md(label)}: {n} ({_md(areas)})" for rank, label, n, areas, *_ in sheets(report)["clusters"][1:]]
    else:
        lines += [m.REPORT_NA]
    lines += ["", f"## {m.REPORT_SHEETS['deliveries']}", ""]
    lines += [f"- {status}: {n}" for status, n in report.deliveries or []] or [m.REPORT_NA]
    if report.contests:
        lines += ["", f"## {m.REPORT_SHEETS['contests']}", ""]
        lines += [f"- {_md(str(r[0]))}, {m.CONTEST_COLUMNS['round'].lower()} {r[1]}, {_md(str(r[2]))}: "
                  f"{m.CONTEST_COLUMNS['registered'].lower()} {r[3]}, {m.CONTEST_COLUMNS['completed'].lower()} {r[5]}, "
                  f"{m.CONTEST_COLUMNS['average'].lower()} {r[8]}" for r in report.contests[:15]]
    lines += ["", f"![{m.REPORT_CHART_TIMELINE}]({chart_name})", ""]
    return "\n".join(lines)


def _md(text: str) -> str:
    """One line of Markdown that cannot break the list or inject markup."""
    return re.sub(r"([\\`*_\[\]<>|#])", r"\\\1", " ".join(text.split()))
