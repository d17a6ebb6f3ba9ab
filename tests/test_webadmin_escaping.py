"""Stored content on the web admin pages comes out as text, never as markup, and times are Vietnam time.

Markup reaches the database through the normal doors: `clean` strips tags but decodes entities, so a citizen
or an admin who types `&lt;script&gt;` stores `<script>`; a team answer is kept as typed. Each page that shows
an FAQ entry, a citizen's question, a team answer or a contest name is read with an HTML parser: no script
element, no event-handler attribute, and the text shown escaped."""

from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from bot.faq.store import FaqStore
from bot.faq.live import LiveFaq
from bot.faq.models import FaqVersion
from bot.campaigns.models import Campaign
from bot.contests.models import Contest
from bot.relay.models import FaqDraft, RelayMessage
from bot.retrieval.engine import Engine
from bot.retrieval.store import load_index
from bot.storage.models import Conversation, Escalation
from bot.webadmin.base import vn_time
from tests.contest_data import Clock, make_service
from tests.test_relay import escalate, send
from tests.test_webadmin import QR, account, csrf_of, faq_form, login
from tests.web_server import serve

TYPED = '&lt;script&gt;alert(1)&lt;/script&gt; "onload="alert(2)'  # what a person types (entities)
STORED = '<script>alert(1)</script> "onload="alert(2)'  # what `clean` keeps of it
SHOWN = "&lt;script&gt;alert(1)&lt;/script&gt; &#34;onload=&#34;alert(2)"  # the same, escaped by the templates
NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.timezone.utc)  # 09:00 in Vietnam


class Markup(HTMLParser):
    """The elements and attributes a browser would build from a page."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str]] = []
        self.texts: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += [(name, value or "") for name, value in attrs]

    def handle_data(self, data):
        self.texts.append(data)


def assert_inert(page: str, where: str) -> None:
    """No script and no event handler anywhere on the page."""
    found = Markup(page)
    assert "script" not in found.tags, where
    assert not [a for a, _ in found.attributes if a.startswith("on")], where
    assert "<script" not in page and '"onload=' not in page, where


def assert_shown_escaped(page: str, where: str, times: int = 1) -> None:
    """The stored markup is on the page as text (escaped), at least `times` times."""
    assert_inert(page, where)
    assert page.count(SHOWN) >= times, (where, page.count(SHOWN))
    found = Markup(page)
    assert sum(STORED in x for x in found.texts + [v for _, v in found.attributes]) >= times, where


@pytest.fixture
def service(tmp_path, kb, index, embedder, db):
    """A service on its own engine (a copy of the small index), so that an FAQ edit can be served (LiveFaq)."""
    return make_service(Engine(load_index(index), embedder), db, Clock(NOW), flood_limit=10_000)


def test_stored_markup_is_escaped_on_every_admin_page(service, db, kb, index):
    account(db, "alice")
    account(db, "binh", "team", ["dien-bien"])
    with serve(service, knowledge_dir=kb) as base:
        admin, _ = login(base, "alice")
        csrf = csrf_of(admin.get("/admin/faq").text)

        # An FAQ entry: question, answer and source typed with markup (the old phrasings kept, so it is still found).
        entry = faq_form(question=f"Thanh toán bằng mã QR như thế nào? {TYPED}", answer=f"Mở ứng dụng ngân hàng. {TYPED}",
                         source=f"Ngân hàng Nhà nước Việt Nam {TYPED}")
        assert admin.post("/admin/faq/save", data={**entry, "csrf": csrf}).status_code == 303
        stored = next(x for x in FaqStore(kb, db).entries() if x["id"] == QR)
        assert STORED in stored["question"] and STORED in stored["answer"] and STORED in stored["source"]["title"]
        LiveFaq(service.engine, db, kb, index).poll()  # the running bot answers with the edited entry

        # A citizen's question: answered with that entry, then 👎; another asks the team.
        answered = send(service, "citizen-1", text=f"thanh toan qr the nao {TYPED}")
        log_id = next(b.data for m in answered for row in m.buttons for b in row if b.data.startswith("fb:")).split(":")[1]
        send(service, "citizen-1", kind="button", data=f"fb:{log_id}:-1")
        esc_id, _ = escalate(service, "citizen-2", f"Cho hỏi cài VNeID thế nào {TYPED}", area="dien bien")
        with db.session() as s:
            assert STORED in s.get(Conversation, int(log_id)).question and STORED in s.get(Escalation, esc_id).question
            assert s.get(Conversation, int(log_id)).feedback == -1 and s.get(Conversation, int(log_id)).chunk_id == f"faq:{QR}"

        # A team answer typed on the web inbox (kept as typed), then saved as a draft.
        team, _ = login(base, "binh")
        waiting = team.get("/admin/inbox").text
        assert_shown_escaped(waiting, "/admin/inbox (waiting)")  # the question's preview
        team_csrf = csrf_of(waiting)
        assert team.post(f"/admin/inbox/{esc_id}/claim", data={"csrf": team_csrf}).status_code == 200
        replied = team.post(f"/admin/inbox/{esc_id}/reply", data={"csrf": team_csrf, "text": f"Bác tải ứng dụng nhé {STORED}"})
        assert replied.status_code == 200
        assert team.post(f"/admin/inbox/{esc_id}/savefaq", data={"csrf": team_csrf, "turn": "1"}).status_code == 200
        with db.session() as s:
            assert STORED in s.scalars(select(RelayMessage)).one().text
            draft = s.scalars(select(FaqDraft)).one()
            assert STORED in draft.question and STORED in draft.answer

        # A contest named with markup, from the contest form.
        closes = "2026-12-12T17:00"
        made = admin.post("/admin/contests/new", data={
            "csrf": csrf, "name": f"Công dân số {TYPED}", "opens": "2026-12-05T08:00", "closes": closes, "questions": "2",
            "seconds": "120", "attempts": "1", "topics": "", "area": "all", "prizes": "", "rules": ""})
        assert made.status_code == 303, made.text
        with db.session() as s:
            contest = s.scalars(select(Contest)).one()
            assert STORED in contest.name

        pages = {  # each page, the client that may read it, and how many times the markup must be shown there
            "/admin/faq": (admin, 1),  # the entry's question
            "/admin/faq?q=qr": (admin, 1),
            f"/admin/faq/edit/{QR}": (admin, 3),  # question, answer, source in the form
            f"/admin/history?entry={QR}": (admin, 3),  # the diff: question, answer, source
            "/admin/disliked": (admin, 2),  # the citizen's question, the entry's text (its title's tags the index drops)
            "/admin/gaps": (admin, 1),  # the escalated question
            "/admin/drafts": (admin, 2),  # the citizen's question, the team's answer
            f"/admin/faq/new?draft={draft.id}": (admin, 2),
            f"/admin/inbox/{esc_id}": (team, 2),  # the question, the team's answer in the thread
            "/admin/contests": (admin, 1),  # the contest's name
            f"/admin/contests/{contest.id}": (admin, 2),  # its title: <title> and <h1>
        }
        for path, (client, times) in pages.items():
            page = client.get(path)
            assert page.status_code == 200, path
            assert_shown_escaped(page.text, path, times)
        assert_shown_escaped(replied.text, "the page after the reply", 2)
        for path in ("/admin/report", "/admin/history", "/admin/history/rollback/1"):
            assert_inert(admin.get(path).text, path)


def test_admin_pages_show_times_in_vietnam_time(service, db, kb):
    """Contest times typed are read as Vietnam time (the form says so), and the contest's times and its
    announcement campaigns are shown in Vietnam time, as the FAQ history's."""
    account(db, "alice")
    with serve(service, knowledge_dir=kb) as base:
        client, _ = login(base, "alice")
        page = client.get("/admin/contests")
        assert "giờ Việt Nam" in page.text.split('name="opens"')[0].rsplit("<label", 1)[1]  # said next to the field
        assert "giờ Việt Nam" in page.text.split('name="closes"')[0].rsplit("<label", 1)[1]
        made = client.post("/admin/contests/new", data={
            "csrf": csrf_of(page.text), "name": "Công dân số thông minh", "opens": "2026-12-05T08:00", "closes": "2026-12-12T17:00",
            "questions": "2", "seconds": "120", "attempts": "1", "topics": "", "area": "all", "prizes": "", "rules": ""})
        assert made.status_code == 303, made.text
        with db.session() as s:
            opening = s.scalar(select(Campaign).where(Campaign.key.like("contest:%:opening")))
            reminder = s.scalar(select(Campaign).where(Campaign.key.like("contest:%:reminder")))
            stored = [opening.run_at.replace(tzinfo=dt.timezone.utc) if opening.run_at.tzinfo is None else opening.run_at,
                      reminder.run_at.replace(tzinfo=dt.timezone.utc) if reminder.run_at.tzinfo is None else reminder.run_at]
        assert stored == [dt.datetime(2026, 12, 5, 1, 0, tzinfo=dt.timezone.utc), dt.datetime(2026, 12, 11, 10, 0, tzinfo=dt.timezone.utc)]

        watch = client.get(made.headers["location"]).text
        table = watch[watch.index(">Thông báo gửi người đăng ký nhận tin<"):]
        assert re.search(r"<td>Mở cuộc thi</td><td>05/12/2026 08:00</td><td>chờ đến giờ gửi</td>", table)
        assert re.search(r"<td>Nhắc sắp hết hạn</td><td>11/12/2026 17:00</td>", table)
        assert "05/12/2026 01:00" not in watch and "11/12/2026 10:00" not in watch  # not UTC
        assert "Vòng 1: 05/12/2026 08:00 đến 12/12/2026 17:00" in watch
        listing = client.get("/admin/contests").text
        assert "<td>05/12/2026 08:00</td><td>12/12/2026 17:00</td>" in listing

        closed = client.post(made.headers["location"].split("?")[0] + "/close", data={"csrf": csrf_of(watch)})
        assert "<td>Mở cuộc thi</td><td>05/12/2026 08:00</td><td>đã huỷ</td>" in closed.text  # closed before it opened

        csrf = csrf_of(listing)
        assert client.post("/admin/faq/save", data={**faq_form(answer="Mở ứng dụng ngân hàng, chọn Quét QR."), "csrf": csrf}).status_code == 303
        with db.session() as s:
            at = s.scalars(select(FaqVersion)).one().created_at
        history = client.get("/admin/history").text
        assert f"<td>{vn_time(at)}</td>" in history
        local = (at if at.tzinfo else at.replace(tzinfo=dt.timezone.utc)).astimezone(dt.timezone(dt.timedelta(hours=7)))
        assert vn_time(at) == local.strftime("%d/%m/%Y %H:%M")


def test_nothing_on_the_admin_pages_is_marked_safe():
    """Autoescape is on for every template and no template or page module turns it off or marks a value safe."""
    from pathlib import Path

    import bot.webadmin
    from bot.webadmin.base import templates

    root = Path(bot.webadmin.__file__).parent
    files = [*root.glob("templates/*.html"), *root.glob("*.py")]
    assert len([f for f in files if f.suffix == ".html"]) >= 10
    for path in files:
        assert not re.search(r"\|\s*safe\b|Markup\(|markupsafe|autoescape\s+false|html\.escape", path.read_text(encoding="utf-8")), path
    assert templates.env.autoescape is True
