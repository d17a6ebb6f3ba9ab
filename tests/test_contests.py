"""Online contests on SQLite: a whole round on the web chat (real uvicorn server), the time limit under an
injected clock, ties broken by time then prediction, a second attempt refused (also on another channel
with the same phone number), the CLI (add, list, show, leaderboard --json, close with the results
campaign, export with masked numbers) and the report's contest sheet."""

from __future__ import annotations

import datetime as dt
import json
import re

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot import messages
from bot.campaigns.models import Campaign
from bot.cli import app
from bot.config import get_settings
from bot.contests import announce, service as cs
from bot.contests.models import DONE, ContestAnswer, ContestEntry, ContestRound
from bot.storage.db import Database
from bot.storage.models import QuizPoll
from tests.conftest import KNOWLEDGE
from tests.contest_data import QUIZ, RIGHT, Clock, add_contest, answer_all, data_of, make_service, msg, pick, register
from tests.web_server import serve


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def service(small_engine, db, clock):
    return make_service(small_engine, db, clock, flood_limit=100)


def entries(db) -> list[ContestEntry]:
    with db.session() as s:
        return list(s.scalars(select(ContestEntry).order_by(ContestEntry.id)))


def board(db, clock, area=""):
    with db.session() as s:
        return cs.standings(s, s.scalars(select(ContestRound)).first(), clock(), area)


# -- a whole round on the web ------------------------------------------------------------------------


def test_a_whole_round_on_the_web_chat(small_engine, tmp_path):
    clock = Clock(dt.datetime.now(dt.timezone.utc))
    service = make_service(small_engine, Database(f"sqlite:///{tmp_path / 'web.db'}"), clock, flood_limit=100)
    add_contest(service, questions=3, seconds=120, area="dien-bien")
    with serve(service) as url, httpx.Client(base_url=url, timeout=30) as web:
        def say(**payload) -> list[dict]:
            response = web.post("/api/chat", json=payload)
            assert response.status_code == 200, response.text
            return response.json()["messages"]

        (rules,) = say(text="/cuocthi")
        assert len(rules["text"].splitlines()) == 3 and "«Công dân số thông minh»" in rules["text"]
        assert [b["label"] for row in rules["buttons"] for b in row] == ["Bắt đầu"]
        (ask_name,) = say(button=rules["buttons"][0][0]["data"])
        assert ask_name["text"] == messages.CONTEST_ASK_NAME
        (ask_area,) = say(text="Bác Ba Mường Phăng")
        areas = {b["label"]: b["data"] for row in ask_area["buttons"] for b in row}
        assert "tỉnh Điện Biên" in areas and "tỉnh Lai Châu" not in areas  # the contest's audience only
        (ask_phone,) = say(button=areas["tỉnh Điện Biên"])
        assert "Bỏ qua" in ask_phone["text"]
        (bad_phone,) = say(text="12345")
        assert bad_phone["text"] == messages.CONTEST_PHONE_BAD
        (ask_prediction,) = say(text="0912.345.678")
        assert "Dự đoán có bao nhiêu người trả lời đúng tất cả?" in ask_prediction["text"]
        assert say(text="nhiều lắm")[0]["text"] == messages.CONTEST_PREDICTION_BAD
        go, question = say(text="7")
        assert "Bắt đầu tính giờ" in go["text"]
        seen = []
        for n in range(3):
            quiz = question["quiz"]
            assert 110 <= quiz["seconds"] <= 120 and "correct" not in quiz  # the countdown, never the answer
            labels = [b["label"] for row in question["buttons"] for b in row]
            assert [label[:3] for label in labels] == ["A. ", "B. ", "C. ", "D. "]
            seen.append(quiz["question"])
            right = RIGHT[quiz["question"].split(": ", 1)[1]]
            choice = next(b["data"] for row in question["buttons"] for b in row if b["label"].endswith(right))
            if n == 1:  # a wrong answer on the second question
                choice = next(b["data"] for row in question["buttons"] for b in row if not b["label"].endswith(right))
            clock.tick(4)
            (question,) = say(button=choice)
            if n == 0:
                assert say(button=choice)[0]["text"] == messages.CONTEST_STALE  # a double tap counts once
        assert len(set(seen)) == 3
        result = question["text"]
        assert "Bác trả lời đúng 2/3 trong 12 giây" in result and "Xếp hạng hiện tại của bác: 1 trên 1" in result
        (again,) = say(text="/thi")
        assert again["text"].startswith("Bác đã thi vòng này rồi") and "2/3" in again["text"]
    (entry,) = entries(service.db)
    assert (entry.display_name, entry.area, entry.phone, entry.prediction, entry.correct, entry.seconds) == (
        "Bác Ba Mường Phăng", "dien-bien", "0912345678", 7, 2, 12)
    with service.db.session() as s:
        assert s.scalar(select(func.count()).select_from(ContestAnswer)) == 3


def test_questions_and_options_are_shuffled_per_person(service, db):
    add_contest(service, questions=6, seconds=300)
    firsts = set()
    for i in range(8):
        first = register(service, "web", f"v{i}", f"Người {i}")[-1]
        firsts.add((first.quiz.question, first.quiz.options))
    assert len(firsts) >= 4
    plans = [e.plan for e in entries(db)]
    assert all(sorted(q for q, _ in plan) == sorted(q.id for q in QUIZ) for plan in plans)
    assert len({json.dumps(p) for p in plans}) == 8


# -- the time limit, with an injected clock ------------------------------------------------------------------


def test_answers_after_the_time_limit_do_not_count(service, db, clock):
    add_contest(service, questions=3, seconds=30)
    first = register(service, "web", "late", "Bác Năm")[-1]
    assert first.quiz.seconds == 30
    clock.tick(10)
    (second,) = service.handle(msg("web", "late", "button", data=pick(first)))
    assert second.quiz.seconds == 20  # bounded by the time left
    clock.tick(21)  # 31 s after the start
    (late,) = service.handle(msg("web", "late", "button", data=pick(second)))
    assert messages.CONTEST_LATE in late.text and "Bác trả lời đúng 1/3 trong 30 giây" in late.text
    (e,) = entries(db)
    assert (e.step, e.correct, e.seconds) == (DONE, 1, 30)
    with db.session() as s:
        assert sorted(s.execute(select(ContestAnswer.position, ContestAnswer.correct, ContestAnswer.in_time)).all()) == [
            (0, True, True), (1, True, False)]  # the late answer is kept for the record, not counted


def test_an_attempt_left_unfinished_ends_at_its_deadline(service, db, clock):
    add_contest(service, questions=3, seconds=30)
    first = register(service, "web", "gone", "Bác Sáu")[-1]
    service.handle(msg("web", "gone", "button", data=pick(first)))
    clock.tick(45)
    assert [(b.name, b.correct, b.seconds) for b in board(db, clock)] == [("Bác Sáu", 1, 30)]
    (back,) = service.handle(msg("web", "gone", "command", command="thi"))
    assert back.text.startswith("Bác đã thi vòng này rồi")


def test_a_typed_question_mid_attempt_repeats_the_question(service, clock):
    add_contest(service, questions=2, seconds=60)
    first = register(service, "web", "typer", "Bác Tư")[-1]
    hint, again = service.handle(msg("web", "typer", text="vneid là gì"))
    assert hint.text == messages.CONTEST_ANSWER_HINT and again.quiz.question == first.quiz.question


def test_no_contest_open_and_a_closed_round(service, db, clock):
    (none,) = service.handle(msg("web", "x", "command", command="contest"))
    assert none.text == messages.CONTEST_NONE
    add_contest(service, hours=1)
    (group,) = service.handle(msg("telegram", "-100", "command", command="thi", chat_type="group"))
    assert group.text == messages.CONTEST_PRIVATE_ONLY
    (rules,) = service.handle(msg("web", "x", "command", command="thi"))
    service.handle(msg("web", "x", "button", data=data_of(rules)[0]))
    clock.tick(3601)
    (closed,) = service.handle(msg("web", "x", text="Bác Hai"))
    assert closed.text == messages.CONTEST_CLOSED
    assert entries(db) == []


# -- ranking ----------------------------------------------------------------------------------------


def test_ties_are_broken_by_time_then_by_the_prediction(service, db, clock, cli):
    cid = add_contest(service, questions=3, seconds=120)
    # people who answer everything right: Lan (in 9 s), Hoa and Minh (in 15 s); Hùng 2/3 in 3 s
    plan = [("lan", "Lan", 3, 3, 9), ("hoa", "Hoa", 3, 5, 15), ("minh", "Minh", 3, 2, 15), ("hung", "Hùng", 2, 3, 3),
            ("tu", "Tú", 3, 9, 15)]
    for user, name, right, prediction, seconds in plan:
        first = register(service, "telegram", user, name, prediction=prediction)[-1]
        answer_all(service, "telegram", user, first, right, clock, seconds / 3)
    # 4 people answered all 3 right: Hoa (predicted 5, off by 1) beats Minh (2, off by 2) and Tú (9, off by 5)
    got = json.loads(cli("leaderboard", str(cid), "--json").stdout)
    assert [(r["name"], r["correct"], r["seconds"], r["prediction"]) for r in got] == [
        ("Lan", 3, 9, 3), ("Hoa", 3, 15, 5), ("Minh", 3, 15, 2), ("Tú", 3, 15, 9), ("Hùng", 2, 3, 3)]
    assert [r["rank"] for r in got] == [1, 2, 3, 4, 5]
    assert set(got[0]) == {"rank", "name", "area", "correct", "seconds", "prediction"}
    assert got[0]["area"] == "dien-bien"


def test_the_area_leaderboard_ranks_within_the_area(service, db, clock, cli):
    cid = add_contest(service, questions=2, seconds=60)
    for user, area, right in (("a", "Điện Biên", 1), ("b", "Lai Châu", 2), ("c", "Lai Châu", 1)):
        answer_all(service, "web", user, register(service, "web", user, f"Bác {user}", area=area)[-1], right, clock, 1)
    got = json.loads(cli("leaderboard", str(cid), "--area", "lai-chau", "--json").stdout)
    assert [(r["rank"], r["name"]) for r in got] == [(1, "Bác b"), (2, "Bác c")]


# -- one attempt per person ---------------------------------------------------------------------------


def test_a_second_attempt_is_refused_also_on_another_channel_with_the_same_phone(service, db, clock):
    add_contest(service, questions=2, seconds=60)
    answer_all(service, "telegram", "501", register(service, "telegram", "501", "Bác Lâm", phone="0912 345 678")[-1], 2)
    (again,) = service.handle(msg("telegram", "501", "command", command="thi"))
    assert again.text.startswith("Bác đã thi vòng này rồi")
    # the same person on Zalo, giving the same number in another form
    (rules,) = service.handle(msg("zalo", "z9", "command", command="thi"))
    assert "1. Bắt đầu" in rules.text  # numbered on a channel without buttons
    for text in ("1", "Bác Lâm", "Điện Biên"):
        service.handle(msg("zalo", "z9", text=text))
    (refused,) = service.handle(msg("zalo", "z9", text="+84912345678"))
    assert refused.text == messages.CONTEST_PHONE_USED.format(attempts=1)
    assert [e.channel for e in entries(db)] == ["telegram"]


def test_more_attempts_when_allowed_and_the_best_one_counts(service, db, clock):
    add_contest(service, questions=2, seconds=60, attempts=2)
    answer_all(service, "web", "w", register(service, "web", "w", "Bác Mai")[-1], 1, clock, 2)
    answer_all(service, "web", "w", register(service, "web", "w", "Bác Mai")[-1], 2, clock, 3)
    (third,) = service.handle(msg("web", "w", "command", command="thi"))
    assert third.text.startswith("Bác đã thi vòng này rồi (mỗi người được thi 2 lần)")
    assert [(b.correct, b.seconds, b.attempt) for b in board(db, clock)] == [(2, 6, 2)]


def test_cancel_during_registration(service, db):
    add_contest(service)
    (rules,) = service.handle(msg("web", "c", "command", command="thi"))
    service.handle(msg("web", "c", "button", data=data_of(rules)[0]))
    (left,) = service.handle(msg("web", "c", "command", command="huy"))
    assert left.text == messages.CONTEST_CANCELLED and entries(db) == []


def test_forged_and_foreign_buttons_are_refused(service, db):
    add_contest(service, questions=2)
    first = register(service, "web", "owner", "Bác Chủ")[-1]
    for data in (pick(first), "ct:a:1:0:9", "ct:a:999:0:0", "ct:a:x:y:z", "ct:ar:1:99", "ct:rd:77", "ct:"):
        out = service.handle(msg("web", "intruder", "button", data=data))
        assert out and all("Bác trả lời đúng" not in o.text for o in out), data
    (e,) = entries(db)
    assert e.position == 0 and e.correct == 0


# -- CLI ---------------------------------------------------------------------------------------------


@pytest.fixture
def cli(db, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("KNOWLEDGE_DIR", str(KNOWLEDGE))
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, ["contest", *args])
    get_settings.cache_clear()


def test_cli_add_list_show_close_and_export(cli, db, service, clock, tmp_path):
    added = cli("add", "--name", "Công dân số thông minh", "--opens", "2026-01-01T08:00", "--closes", "2030-01-31T17:00",
                "--questions", "5", "--seconds", "300", "--topics", "vneid,luadao", "--area", "Lai Châu",
                "--prizes", "Giải Nhất:1,Giải Nhì:1")
    assert added.exit_code == 0, added.output
    cid = int(added.stdout.strip().splitlines()[-1])
    with db.session() as s:
        rnd = s.scalars(select(ContestRound).where(ContestRound.contest_id == cid)).one()
        assert (rnd.questions, rnd.seconds, rnd.attempts, rnd.topics) == (5, 300, 1, ["vneid", "luadao"])
        assert cs.utc(rnd.closes_at) == dt.datetime(2030, 1, 31, 10, tzinfo=dt.timezone.utc)  # Vietnam time
        assert cs.utc(rnd.opens_at) > dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc)  # in the past: opens now
        kinds = {c.key.rsplit(":", 1)[1]: (c.area, c.kind) for c in s.scalars(select(Campaign))}
        assert kinds == {"opening": ("lai-chau", "message"), "reminder": ("lai-chau", "message")}
    for bad in (["--questions", "0"], ["--seconds", "5"], ["--closes", "2020-01-01"], ["--opens", "mai"],
                ["--topics", "sao-hoa"], ["--area", "Sao Hỏa"], ["--questions", "500"], ["--prizes", "Nhất"],
                ["--attempts", "0"]):
        args = {"--name": "X", "--opens": "now", "--closes": "2030-01-01T00:00", "--questions": "3", "--seconds": "60"}
        args.update(dict(zip(bad[::2], bad[1::2])))
        result = cli("add", *[x for kv in args.items() for x in kv])
        assert result.exit_code == 2 and "error:" in result.stderr, bad
    assert cli("show", "999").exit_code == 1
    # people take part (in the chat, on the real clock: the CLI reads the real time)
    service.contests.clock = lambda: dt.datetime.now(dt.timezone.utc)
    for user, name, right in (("p1", "=HYPERLINK(\"http://x\")", 5), ("p2", "Bác Hà", 3)):
        first = register(service, "web", user, name, area="Lai Châu", phone="0987654321" if user == "p2" else "")[-1]
        answer_all(service, "web", user, first, right)
    listing = cli("list").stdout
    assert re.search(rf"^\s*{cid}\s+open\s+rounds 1\s+results 2\b", listing, re.M), listing
    shown = cli("show", str(cid)).stdout
    assert "tỉnh Lai Châu: registered 2, started 2, completed 2, all right 1" in shown
    out = tmp_path / "ket-qua.xlsx"
    exported = cli("export", str(cid), "--out", str(out))
    assert exported.exit_code == 0, exported.output
    book = load_workbook(out)
    assert book.sheetnames == ["Xếp hạng", "Bài làm", "Theo khu vực", "Thông tin"]
    ranking = [[c.value for c in row] for row in book["Xếp hạng"].iter_rows(min_row=2)]
    assert [r[:5] for r in ranking] == [[1, '=HYPERLINK("http://x")', "tỉnh Lai Châu", None, 5],
                                        [2, "Bác Hà", "tỉnh Lai Châu", "••••21", 3]]
    assert [r[8] for r in ranking] == ["Giải Nhất", "Giải Nhì"]
    assert book["Xếp hạng"]["B2"].data_type == "s"  # never a formula
    assert "0987654321" not in "".join(str(c.value) for sheet in book for row in sheet.iter_rows() for c in row)
    assert book["Bài làm"].max_row == 11  # header and 10 answers
    assert [c.value for c in book["Theo khu vực"][2]][:4] == ["tỉnh Lai Châu", 2, 2, 2]
    assert cli("export", str(cid), "--out", str(tmp_path / "x.csv")).exit_code == 2
    closed = cli("close", str(cid))
    assert closed.exit_code == 0, closed.output
    assert cli("close", str(cid)).exit_code == 1
    with db.session() as s:
        results = s.scalar(select(Campaign).where(Campaign.key.like("%:results")))
        assert results.area == "lai-chau" and results.run_at is not None
        assert "Giải Nhất: =HYPERLINK" in results.text and "Giải Nhì: Bác Hà (tỉnh Lai Châu), đúng 3/5" in results.text
        assert "0987654321" not in results.text and "••••" not in results.text  # display names only
        cancelled = {c.key.rsplit(":", 1)[1]: c.status for c in s.scalars(select(Campaign))}
        assert cancelled["reminder"] == "cancelled"
    (late,) = service.handle(msg("web", "p3", "command", command="thi"))
    assert late.text == messages.CONTEST_NONE


def test_results_announcement_goes_through_the_outbox(service, db, clock):
    from bot.campaigns import scheduler
    from bot.campaigns.models import OutboxMessage
    from bot.config import Settings
    from bot.contests.models import Contest

    cid = add_contest(service, questions=2)
    service.handle(msg("telegram", "701", "command", command="dangky", text="all"))
    answer_all(service, "telegram", "701", register(service, "telegram", "701", "Bác Bảy")[-1], 2, clock, 1)
    with db.session() as s:
        (campaign_id,) = announce.close(s, s.get(Contest, cid), {}, clock())
    scheduler.fire(service, Settings(_env_file=None, database_url=db.url), campaign_id, clock())
    with db.session() as s:
        (row,) = s.scalars(select(OutboxMessage).where(OutboxMessage.campaign_id == campaign_id))
        assert row.channel == "telegram" and row.status == "pending"


def test_the_report_has_a_contest_sheet(service, db, clock, tmp_path):
    from bot.admin.reports import build_report, parse_period, sheets

    add_contest(service, questions=2)
    answer_all(service, "web", "r1", register(service, "web", "r1", "Bác Một")[-1], 2, clock, 1)
    answer_all(service, "web", "r2", register(service, "web", "r2", "Bác Hai", area="Lai Châu")[-1], 1, clock, 1)
    rows = sheets(build_report(db, parse_period("2026-12")))["contests"]
    assert rows[0][:3] == ["Cuộc thi", "Vòng", "Khu vực"]
    got = {r[2]: r[3:] for r in rows[1:]}
    assert got == {"tỉnh Điện Biên": [1, 1, 1, 100.0, 1, 100.0], "tỉnh Lai Châu": [1, 1, 1, 100.0, 0, 50.0]}
    assert sheets(build_report(db, parse_period("2026-11")))["contests"][1:] == []


def test_a_contest_poll_id_does_not_score_as_a_daily_quiz(service, db):
    add_contest(service, questions=2)
    register(service, "telegram", "55", "Bác Năm")
    with db.session() as s:
        poll = s.scalars(select(QuizPoll)).one()
        assert poll.quiz_id.startswith("contest:")


def test_several_open_contests_are_offered_to_choose(service, db, clock):
    add_contest(service, name="Công dân số thông minh")
    add_contest(service, name="Sáng kiến đổi mới sáng tạo", hours=48)
    (offer,) = service.handle(msg("web", "s", "command", command="thi"))
    assert offer.text == messages.CONTEST_PICK.format(count=2)
    assert [row[0].label for row in offer.buttons] == ["Công dân số thông minh", "Sáng kiến đổi mới sáng tạo"]
    (rules,) = service.handle(msg("web", "s", "button", data=offer.buttons[1][0].data))
    assert "«Sáng kiến đổi mới sáng tạo»" in rules.text


def test_cli_adds_a_weekly_round(cli, db):
    cid = int(cli("add", "--name", "Thi tuần", "--opens", "now", "--closes", "2030-01-01T00:00", "--questions", "3",
                  "--seconds", "60").stdout.split()[-1])
    added = cli("add-round", str(cid), "--opens", "2030-01-02T08:00", "--closes", "2030-01-08T17:00")
    assert added.exit_code == 0, added.output and added.stdout.split()[-1] == "2"
    with db.session() as s:
        second = s.scalars(select(ContestRound).where(ContestRound.number == 2)).one()
        assert (second.questions, second.seconds) == (3, 60)
    assert json.loads(cli("leaderboard", str(cid), "--json").stdout) == []  # round 1: the latest that opened
    assert cli("leaderboard", str(cid), "--round", "5").exit_code == 1
    assert cli("add-round", "999", "--opens", "now", "--closes", "2030-01-01").exit_code == 1
