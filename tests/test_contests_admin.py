"""The web admin's contest pages over real HTTP: create (bad input refused with a clear message), watch
(counts per area, leaderboard with masked phone numbers), download the workbook, close with results
announced; team members are refused."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from bot.campaigns.models import Campaign
from bot.contests.models import Contest
from tests.contest_data import Clock, answer_all, make_service, register
from tests.test_webadmin import account, csrf_of, login
from tests.web_server import serve


@pytest.fixture
def service(small_engine, db):
    return make_service(small_engine, db, Clock(dt.datetime.now(dt.timezone.utc)), flood_limit=1000)


def test_create_watch_export_and_close_a_contest(service, db, kb):
    account(db, "alice")
    account(db, "tam", role="team", areas=["lai-chau"])
    with serve(service, knowledge_dir=kb) as base:
        client, _ = login(base, "alice")
        page = client.get("/admin/contests")
        assert page.status_code == 200 and "Chưa có cuộc thi nào." in page.text
        closes = (dt.datetime.now() + dt.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
        form = {"csrf": csrf_of(page.text), "name": "Công dân số thông minh", "opens": "", "closes": "2020-01-01T08:00",
                "questions": "2", "seconds": "120", "attempts": "1", "topics": "", "area": "lai-chau",
                "prizes": "Giải Nhất:1", "rules": ""}
        bad = client.post("/admin/contests/new", data=form)
        assert bad.status_code == 422 and "Chưa tạo được cuộc thi" in bad.text and "closing time" in bad.text
        assert client.post("/admin/contests/new", data={**form, "closes": closes, "questions": "abc"}).status_code == 422
        assert client.post("/admin/contests/new", data={**form, "closes": closes, "csrf": "x"}).status_code == 403
        made = client.post("/admin/contests/new", data={**form, "closes": closes})
        assert made.status_code == 303, made.text
        with db.session() as s:
            contest = s.scalars(select(Contest)).one()
            assert (contest.name, contest.area, contest.created_by) == ("Công dân số thông minh", "lai-chau", "webadmin:alice")
        for user, name, phone, right in (("a1", "Bác An", "0912345621", 2), ("a2", "<b>Bác Bình</b>", "", 1)):
            answer_all(service, "web", user, register(service, "web", user, name, area="Lai Châu", phone=phone)[-1], right)
        watch = client.get(made.headers["location"])
        assert watch.status_code == 200 and "Đã tạo cuộc thi số" in watch.text
        assert "Bác An" in watch.text, watch.text[watch.text.find("<main>"):]
        assert "<b>" not in watch.text  # markup is taken out at the door, and every value is escaped
        assert "••••21" in watch.text and "0912345621" not in watch.text
        assert re.search(r"<td>tỉnh Lai Châu</td><td class=num>2</td><td class=num>2</td><td class=num>2</td>", watch.text)
        export = client.get(f"/admin/contests/{contest.id}/export")
        assert export.status_code == 200 and ".xlsx" in export.headers["content-disposition"]
        book = load_workbook(io.BytesIO(export.content))
        assert [c.value for c in book["Xếp hạng"][2]][:4] == [1, "Bác An", "tỉnh Lai Châu", "••••21"]
        closed = client.post(f"/admin/contests/{contest.id}/close", data={"csrf": csrf_of(watch.text)})
        assert closed.status_code == 200 and "Đã đóng cuộc thi" in closed.text
        assert client.get("/admin/contests/999").status_code == 404
        team, _ = login(base, "tam")
        assert team.get("/admin/contests").status_code == 403
    with db.session() as s:
        results = s.scalar(select(Campaign).where(Campaign.key.like("%:results")))
        assert results.area == "lai-chau" and "Giải Nhất: Bác An" in results.text
