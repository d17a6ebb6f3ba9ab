"""Periodic reports over a real SQLite database filled with a synthetic month of conversations."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
from openpyxl import load_workbook
from PIL import Image

from bot import messages as m
from bot.admin.reports import build_report, parse_period, write_report
from bot.campaigns.models import Campaign, CampaignRun, OutboxMessage
from bot.storage.db import Database
from bot.storage.models import Chat, Conversation, Escalation, QuizAnswer, QuizPoll, Subscription, User
from tests.test_run import bot_env

UTC = dt.timezone.utc
PHONE = "0912345678"


def at(day: int, hour: int = 3, month: int = 10) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=UTC)  # 03:00 UTC = 10:00 in Vietnam


def fill(db: Database, relay_and_outbox: bool = True) -> None:
    with db.session() as s:
        users = [User(channel="telegram", external_id=str(i), area="dien-bien") for i in range(8)]
        s.add_all(users)
        s.flush()
        chats = [Chat(channel="telegram", external_id=str(u.external_id)) for u in users]
        s.add_all(chats)
        s.flush()

        def log(when, answered, topic="", question="câu hỏi", feedback=None, user=0):
            row = Conversation(user_id=users[user].id, chat_id=chats[user].id, channel="telegram", question=question,
                               chunk_id=f"faq:{topic}" if answered else "", topic=topic, answered=answered,
                               confidence=0.9 if answered else 0.1, related=[], feedback=feedback, created_at=when)
            s.add(row)
            return row

        # 30 answered in October (Vietnam time): the first at 00:30 on 1 October, i.e. 30 September in UTC
        log(dt.datetime(2026, 9, 30, 17, 30, tzinfo=UTC), True, "vneid")
        for i in range(29):
            topic = "vneid" if i < 14 else "luadao" if i < 24 else "thanhtoan"
            feedback = 1 if i < 6 else -1 if i < 8 else None
            log(at(1 + i), True, topic, feedback=feedback, user=i % 8)
        declined = ["bảo hiểm xe máy mua online ở đâu"] * 2 + ["bao hiem xe may mua online o dau"] * 2 + \
                   ["thời tiết hôm nay"] * 3 + [f"số điện thoại của tôi là {PHONE} cần giúp"] + ["🙂🙂"] * 2
        for i, q in enumerate(declined):
            log(at(2 + i), False, question=q, user=i % 8)
        log(dt.datetime(2026, 10, 31, 17, 30, tzinfo=UTC), True, "vneid")  # 1 November in Vietnam: next month
        log(at(15, month=9), False, question="tháng trước")

        for minutes, rating in ((30, 1), (60, 1), (120, -1), (None, None)):
            esc = Escalation(user_id=users[0].id, chat_id=chats[0].id, question="cần cán bộ", area="dien-bien",
                             created_at=at(10))
            if relay_and_outbox:
                esc.due_at = at(10) + dt.timedelta(minutes=90)
            if relay_and_outbox and minutes:
                esc.answered_at, esc.status = at(10) + dt.timedelta(minutes=minutes), "answered"
                esc.first_answered_at, esc.rating = esc.answered_at, rating
            s.add(esc)

        for i, (area, when) in enumerate([("dien-bien", at(5, month=9))] * 3 + [("lai-chau", at(20))] * 2 + [("lai-chau", at(3, month=11))]):
            s.add(Subscription(user_id=users[i].id, chat_id=chats[i].id, area=area, created_at=when))

        polls = [QuizPoll(channel="telegram", quiz_id=q, chat_id=chats[0].id) for q in ("q1", "q2")]
        s.add_all(polls)
        s.flush()
        for user, poll, correct in [(0, 0, True), (1, 0, True), (2, 0, True), (3, 0, False), (0, 1, True), (1, 1, False)]:
            s.add(QuizAnswer(user_id=users[user].id, poll_id=polls[poll].id, quiz_id=polls[poll].quiz_id, choice=0,
                             correct=correct, created_at=at(12)))

        if relay_and_outbox:
            campaign = Campaign(kind="message", text="Tin chiến dịch")
            s.add(campaign)
            s.flush()
            run = CampaignRun(campaign_id=campaign.id, kind="message", slot=at(8))
            s.add(run)
            s.flush()
            for i, status in enumerate(["sent"] * 4 + ["failed"]):
                s.add(OutboxMessage(run_id=run.id, campaign_id=campaign.id, user_id=users[i].id, chat_id=chats[i].id,
                                    channel="telegram", status=status, created_at=at(8)))


@pytest.fixture
def db(tmp_path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'bot.db'}")
    fill(database)
    return database


@pytest.mark.parametrize("text,label,start,end,monthly", [
    ("2026-10", "2026-10", (2026, 10, 1), (2026, 11, 1), True),
    ("2026-12", "2026-12", (2026, 12, 1), (2027, 1, 1), True),
    ("2026-H1", "2026-H1", (2026, 1, 1), (2026, 7, 1), False),
    ("2026-h2", "2026-H2", (2026, 7, 1), (2027, 1, 1), False),
    ("2026", "2026", (2026, 1, 1), (2027, 1, 1), False),
])
def test_periods_are_parsed_in_vietnam_time(text, label, start, end, monthly):
    period = parse_period(text)
    assert (period.label, period.monthly) == (label, monthly)
    assert period.start.astimezone(UTC) == dt.datetime(*start, tzinfo=UTC) - dt.timedelta(hours=7)
    assert period.end.astimezone(UTC) == dt.datetime(*end, tzinfo=UTC) - dt.timedelta(hours=7)


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-H3", "26-10", "", "tháng 10", "2026-10-01", "🙂"])
def test_bad_periods_are_refused(text):
    with pytest.raises(ValueError):
        parse_period(text)


def test_a_month_report_has_the_numbers(db):
    report = build_report(db, parse_period("2026-10"))
    # per area: questions, median and p90 minutes to a first answer, % within the due time (90 min), % 👍
    assert report.handoff == [("dien-bien", 4, 60.0, 120.0, 50.0, 66.7)]
    assert report.summary == {
        "asked": 40, "answered": 28, "answered_disliked": 2, "declined": 10, "escalated": 4, "human_answered": 3, "median_human_minutes": 60.0,
        "likes": 6, "dislikes": 2, "like_share": 75.0, "subscribers": 5, "new_subscribers": 2, "deliveries_sent": 4,
        "quiz_answers": 6, "quiz_participants": 4, "quiz_score": 66.7,
    }
    assert report.topics == [(m.TOPIC_NAMES["vneid"], 15), (m.TOPIC_NAMES["luadao"], 10), (m.TOPIC_NAMES["thanhtoan"], 5)]
    assert report.gaps[:2] == [("bảo hiểm xe máy mua online ở đâu", 4), ("thời tiết hôm nay", 3)]
    assert len(report.gaps) == 3 and PHONE not in str(report.gaps)  # emoji-only is no gap; the phone is masked
    assert report.subscribers == [("dien-bien", 3, 0), ("lai-chau", 2, 2)]
    assert report.deliveries == [("failed", 1), ("sent", 4)]
    assert report.quiz == [("q1", 4, 75.0), ("q2", 2, 50.0)]
    assert len(report.timeline) == 31 and report.timeline[0] == ("2026-10-01", 2, 0)
    assert sum(a for _, a, _ in report.timeline) == 30 and sum(d for _, _, d in report.timeline) == 10


def test_the_workbook_summary_and_chart_are_written(db, tmp_path):
    paths = write_report(build_report(db, parse_period("2026-10")), tmp_path / "out")
    assert [p.name for p in paths] == ["report-2026-10.xlsx", "report-2026-10.md", "report-2026-10.png"]
    book = load_workbook(paths[0])
    assert book.sheetnames == list(m.REPORT_SHEETS.values())
    summary = {row[0]: row[1] for row in book[m.REPORT_SHEETS["summary"]].iter_rows(min_row=2, values_only=True)}
    assert summary[m.REPORT_METRICS["asked"]] == 40 and summary[m.REPORT_METRICS["median_human_minutes"]] == 60
    assert len(book[m.REPORT_SHEETS["timeline"]]._charts) == 1 and len(book[m.REPORT_SHEETS["topics"]]._charts) == 1
    gaps = [r[0] for r in book[m.REPORT_SHEETS["gaps"]].iter_rows(min_row=2, values_only=True)]
    assert "bảo hiểm xe máy mua online ở đâu" in gaps and not any(PHONE in g for g in gaps)
    text = paths[1].read_text(encoding="utf-8")
    for metric, value in (("asked", 40), ("answered", 28), ("answered_disliked", 2), ("declined", 10), ("escalated", 4), ("like_share", 75.0),
                          ("median_human_minutes", 60.0), ("deliveries_sent", 4), ("quiz_score", 66.7)):
        assert f"| {m.REPORT_METRICS[metric]} | {value} |" in text
    assert "1. bảo hiểm xe máy mua online ở đâu: 4" in text and PHONE not in text
    assert "| dien-bien | 4 | 60.0 | 120.0 | 50.0 | 66.7 |" in text
    assert "![" in text and "report-2026-10.png" in text
    with Image.open(paths[2]) as image:
        assert image.format == "PNG" and image.size == (1400, 500)


def test_half_year_buckets_by_month_and_csv_output(db, tmp_path):
    report = build_report(db, parse_period("2026-H2"))
    assert [b[0] for b in report.timeline] == [f"2026-{mm:02d}" for mm in range(7, 13)]
    assert report.timeline[2:5] == [("2026-09", 0, 1), ("2026-10", 30, 10), ("2026-11", 1, 0)]
    assert report.summary["subscribers"] == 6 and report.summary["new_subscribers"] == 6
    paths = write_report(report, tmp_path, fmt="csv")
    assert {p.name for p in paths} >= {"report-2026-H2-summary.csv", "report-2026-H2-gaps.csv", "report-2026-H2.md", "report-2026-H2.png"}
    assert (tmp_path / "report-2026-H2-summary.csv").read_text(encoding="utf-8-sig").splitlines()[1] == f"{m.REPORT_METRICS['asked']},42"
    assert build_report(db, parse_period("2027")).summary["asked"] == 0  # an empty year still reports
    write_report(build_report(db, parse_period("2027")), tmp_path / "empty")
    assert (tmp_path / "empty" / "report-2027.png").stat().st_size > 0


def test_the_report_command(db, tmp_path):
    env = bot_env(tmp_path)
    ok = subprocess.run([sys.executable, "-m", "bot", "report", "--period", "2026-10", "--out", str(tmp_path / "r")],
                        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.split() == [str(tmp_path / "r" / f"report-2026-10.{ext}") for ext in ("xlsx", "md", "png")]
    bad = subprocess.run([sys.executable, "-m", "bot", "report", "--period", "2026-13", "--out", str(tmp_path / "r")],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "YYYY-MM" in bad.stderr


# -- the sheet «Chủ đề còn thiếu»: the period's groups of unanswered questions (bot/admin/gaps.py) ------------

WEATHER = ["=Thời tiết hôm nay thế nào?"] * 2 + ["Thời tiết ngày mai ở Hà Nội thế nào", "Dự báo thời tiết nói gì",
                                                  "Trời mưa bao lâu nữa?"]
ATM = ["Bị nuốt thẻ ATM phải làm sao?", "Vậy đâu là cách lấy lại thẻ ATM bị nuốt?", "Tại sao thẻ ATM bị nuốt?"]


def test_the_report_lists_the_periods_top_gap_groups_by_size_as_text(tmp_path, embedder):
    from bot.storage.models import QuestionVector

    db = Database(f"sqlite:///{tmp_path / 'gaps.db'}")
    with db.session() as s:
        users = [User(channel="telegram", external_id=str(i), area=a) for i, a in enumerate(["dien-bien", "lai-chau"])]
        s.add_all(users)
        s.flush()
        chats = [Chat(channel="telegram", external_id=u.external_id) for u in users]
        s.add_all(chats)
        s.flush()

        def log(question, who, when, **kw):
            s.add(Conversation(user_id=users[who].id, chat_id=chats[who].id, channel="telegram", question=question,
                               answered=kw.get("answered", False), confidence=0.1, related=[], feedback=kw.get("feedback"),
                               created_at=when))

        for i, q in enumerate(WEATHER):
            log(q, i % 2, at(2 + i))
        for i, q in enumerate(ATM):
            log(q, 0, at(10 + i))
        log("Bị nuốt thẻ ATM phải làm sao?", 0, at(15, month=11))  # the next month: not in October's groups
        log("Thanh toán bằng mã QR như thế nào?", 1, at(20), answered=True, feedback=1)  # answered well: no gap

    report = build_report(db, parse_period("2026-10"), embedder=embedder)
    assert [c.size for c in report.clusters] == [5, 3]
    rows = write_and_read_clusters(report, tmp_path)
    assert rows[0] == [m.REPORT_COLUMNS[k] for k in ("rank", "label", "times_asked", "areas")] + \
        [m.REPORT_COLUMNS["example"].format(n=n) for n in (1, 2, 3)]
    (rank1, label1, size1, areas1, *examples1), (rank2, label2, size2, areas2, *examples2) = rows[1:]
    assert (rank1, size1, areas1) == (1, 5, "dien-bien, lai-chau") and (rank2, size2, areas2) == (2, 3, "dien-bien")
    assert label1 in WEATHER and set(examples1) <= set(WEATHER) - {label1} and len(examples1) == 3
    assert label2 in ATM and examples2[2] is None and {label2, *examples2[:2]} == set(ATM)  # two other ATM questions
    assert "=Thời tiết hôm nay thế nào?" in [label1, *examples1]  # asked twice: kept, as text (below)
    markdown = (tmp_path / "out" / "report-2026-10.md").read_text(encoding="utf-8")
    assert f"## {m.REPORT_SHEETS['clusters']}" in markdown and f"2. {label2}: 3 (dien-bien)" in markdown

    with db.session() as s:
        cached = s.query(QuestionVector).count()
    assert cached == len(set(WEATHER)) + len(ATM)  # the period's texts, embedded once (the November one not at all)
    assert [c.size for c in build_report(db, parse_period("2026-10"), embedder=embedder, area="lai-chau").clusters] == [2]
    assert build_report(db, parse_period("2026-10")).clusters is None  # no embedder: the sheet reads n/a
    assert write_and_read_clusters(build_report(db, parse_period("2026-10")), tmp_path / "na")[1][0] == m.REPORT_NA


def write_and_read_clusters(report, where) -> list[list]:
    """The sheet as written to the workbook (no cell a formula) and to CSV (a formula-like cell quoted)."""
    import csv

    from bot.spreadsheet import csv_value

    xlsx = write_report(report, where / "out")[0]
    sheet = load_workbook(xlsx)[m.REPORT_SHEETS["clusters"]]
    assert not [c.coordinate for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    csv_file = next(p for p in write_report(report, where / "csv", "csv") if p.name.endswith("-clusters.csv"))
    cells = [v for row in csv.reader(csv_file.open(encoding="utf-8-sig")) for v in row]
    assert not any(v.startswith(("=", "+", "-", "@")) for v in cells)
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert {csv_value(v) for v in cells if v} == {str(v) for row in rows for v in row if v is not None}  # the same text
    return rows
