"""The web admin and web inbox over real HTTP (uvicorn), on SQLite and PostgreSQL: passwords, sessions,
expiry, CSRF, lockout, roles and areas, FAQ edits through the versioned store, drafts, reports, and
inbox answers relayed through the chat relay's own code."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
import sys
import time

import httpx
import pytest
import yaml
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import func, inspect, select, text, update

from bot import messages
from bot.faq.store import FaqStore
from bot.faq.models import FaqVersion
from bot.admin.reports import TZ as REPORT_TZ, build_report, parse_period
from bot.areas import load_areas
from bot.conversation.service import ConversationService
from bot.relay.models import AuditEntry, FaqDraft, RelayMessage
from bot.storage.db import MIGRATIONS, Database
from bot.storage.models import Escalation
from bot.webadmin import auth
from bot.webadmin import texts as t
from bot.webadmin.models import WebAccount, WebSession
from bot.webadmin.pages import COOKIE, LOGIN_COOKIE
from tests.conftest import KNOWLEDGE
from tests.chat_helpers import escalate, give, send
from tests.pg import database_fixture
from tests.test_reports import fill
from tests.test_run import bot_env, bot_process
from tests.web_server import free_port, serve

AREAS = load_areas(KNOWLEDGE / "areas.yaml")
PASSWORD = "mat-khau-dai-123"
QR = "thanhtoan-ma-qr"


db = database_fixture("webadmin_test")


@pytest.fixture
def service(small_engine, db):
    return ConversationService(small_engine, db, [], AREAS, flood_limit=1000)


@pytest.fixture
def site(service, kb):
    with serve(service, knowledge_dir=kb) as base:
        yield base


def account(db, name, role="admin", areas=(), password=PASSWORD):
    with db.session() as s:
        auth.create_account(s, name, password, role, list(areas), "cli:test")


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html)[1]


def login(base, name, password=PASSWORD) -> tuple[httpx.Client, httpx.Response]:
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
    page = client.get("/admin/login")
    response = client.post("/admin/login", data={"csrf": csrf_of(page.text), "name": name, "password": password, "next": ""})
    return client, response


def session_csrf(client) -> str:
    return csrf_of(client.get("/admin/inbox").text)


def faq_form(entry_id=QR, **over) -> dict:
    data = {
        "mode": "edit", "id": entry_id, "topic": "thanhtoan", "question": "Thanh toán bằng mã QR như thế nào?",
        "alternatives": "thanh toan qr the nao\nquét mã qr trả tiền ntn", "answer": "Mở ứng dụng ngân hàng, chọn Quét QR, kiểm tra tên người nhận.",
        "source": "Ngân hàng Nhà nước Việt Nam", "source_url": "", "tags": "",
    }
    return {**data, **over}


# -- passwords -------------------------------------------------------------------------------------


def test_passwords_are_salted_scrypt_and_checked():
    first, second = auth.hash_password(PASSWORD), auth.hash_password(PASSWORD)
    assert first != second and first.startswith("scrypt$16384$8$1$") and PASSWORD not in first
    assert auth.verify_password(PASSWORD, first) and auth.verify_password(PASSWORD, second)
    assert not auth.verify_password(PASSWORD + "x", first) and not auth.verify_password("", first)
    tampered = first[:-1] + ("0" if first[-1] != "0" else "1")
    assert not auth.verify_password(PASSWORD, tampered)
    assert not auth.verify_password(PASSWORD, "plain") and not auth.verify_password(PASSWORD, "md5$x$y$z$aa$bb")
    with pytest.raises(auth.AccountError):
        auth.check_password("ngan")
    with pytest.raises(auth.AccountError):
        auth.check_name("tên có dấu")


# -- sessions, expiry, CSRF, lockout ---------------------------------------------------------------


def test_login_sets_a_strict_httponly_session_stored_only_as_a_hash(site, db):
    account(db, "alice")
    anonymous = httpx.get(site + "/admin/faq", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/admin/login")
    client, response = login(site, "Alice")
    assert response.status_code == 303 and response.headers["location"] == "/admin/"
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith(COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/admin" in cookie and "Secure" not in cookie
    token = client.cookies[COOKIE]
    with db.session() as s:
        (row,) = s.scalars(select(WebSession)).all()
        assert row.id == auth.token_hash(token) != token
        assert dt.timedelta(minutes=29) < auth.aware(row.expires_at) - auth.utcnow() <= auth.SESSION_IDLE
    page = client.get("/admin/", follow_redirects=True)
    assert page.status_code == 200 and "Câu hỏi thường gặp" in page.text and "Đang đăng nhập: alice (quản trị viên)" in page.text
    assert "'unsafe-inline'" not in page.headers["content-security-policy"] and "<script" not in page.text

    csrf = csrf_of(page.text)
    assert client.post("/admin/logout", data={"csrf": csrf}).status_code == 303
    assert client.get("/admin/faq").status_code == 303  # the session row is gone
    with db.session() as s:
        assert s.scalar(select(func.count(WebSession.id))) == 0


def test_secure_cookie_when_configured_for_https(service, kb, db):
    account(db, "alice")
    with serve(service, knowledge_dir=kb, admin_cookie_secure="true") as base:
        form = httpx.get(base + "/admin/login")
        assert "Secure" in form.headers["set-cookie"]  # (a browser keeps it for https only)
        token = csrf_of(form.text)
        response = httpx.post(base + "/admin/login", data={"csrf": token, "name": "alice", "password": PASSWORD},
                              headers={"Cookie": f"{LOGIN_COOKIE}={token}"})
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith(COOKIE + "="))
    assert response.status_code == 303 and "Secure" in cookie and "HttpOnly" in cookie


def test_sessions_expire_when_idle_and_at_the_fixed_limit(site, db):
    account(db, "alice")
    client, _ = login(site, "alice")
    assert client.get("/admin/faq").status_code == 200
    with db.session() as s:
        s.execute(update(WebSession).values(expires_at=auth.utcnow() - dt.timedelta(seconds=1)))
    expired = client.get("/admin/faq")
    assert expired.status_code == 303 and "/admin/login" in expired.headers["location"]
    with db.session() as s:
        assert s.scalar(select(func.count(WebSession.id))) == 0  # removed on sight

    client, _ = login(site, "alice")
    with db.session() as s:  # logged in nearly SESSION_MAX ago: using it no longer extends it past the limit
        s.execute(update(WebSession).values(created_at=auth.utcnow() - auth.SESSION_MAX + dt.timedelta(seconds=2)))
    assert client.get("/admin/faq").status_code == 200
    with db.session() as s:
        row = s.scalars(select(WebSession)).one()
        assert auth.aware(row.expires_at) - auth.utcnow() < dt.timedelta(seconds=3)


def test_every_post_needs_the_sessions_csrf_token(site, db, kb):
    account(db, "alice")
    account(db, "mallory")
    before = (kb / "faq" / "small.yaml").read_bytes()
    client, _ = login(site, "alice")
    assert client.post("/admin/faq/save", data=faq_form()).status_code == 403
    assert client.post("/admin/faq/save", data={**faq_form(), "csrf": "x" * 43}).status_code == 403
    other, _ = login(site, "mallory")
    assert client.post("/admin/faq/save", data={**faq_form(), "csrf": session_csrf(other)}).status_code == 403  # not this session's
    assert client.post(f"/admin/faq/retire/{QR}", data={}).status_code == 403
    assert client.post("/admin/logout", data={}).status_code == 403
    assert (kb / "faq" / "small.yaml").read_bytes() == before
    with db.session() as s:
        assert s.scalar(select(func.count(FaqVersion.id))) == 0
    ok = client.post("/admin/faq/save", data={**faq_form(), "csrf": session_csrf(client)})
    assert ok.status_code == 303 and (kb / "faq" / "small.yaml").read_bytes() != before
    # the login form too: without its token nothing is checked, not even the password
    bare = httpx.post(site + "/admin/login", data={"name": "alice", "password": PASSWORD})
    assert bare.status_code == 403 and COOKIE not in bare.cookies


def _notice(page: str) -> str:
    """The error notice of a page, unescaped."""
    import html

    match = re.search(r'<p class="error" role="status">(.*?)</p>', page)
    return html.unescape(match[1]) if match else ""


def test_wrong_passwords_lock_the_account(site, db):
    account(db, "alice")
    for _ in range(auth.MAX_FAILURES - 1):
        _, r = login(site, "alice", "sai-mat-khau-000")
        assert r.status_code == 401 and "không đúng" in r.text
    _, locked = login(site, "alice", "sai-mat-khau-000")
    assert locked.status_code == 401 and "15 phút" in locked.text
    _, r = login(site, "alice")  # the right password is refused while locked
    assert r.status_code == 401 and t.LOGIN_FAILED in r.text
    for _ in range(auth.MAX_FAILURES + 1):  # an unknown name: the very same page, so names cannot be probed
        _, r = login(site, "nobody", PASSWORD)
        assert r.status_code == 401 and _notice(r.text) == _notice(locked.text) == t.LOGIN_FAILED
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "web_login_locked")) == 1
        s.execute(update(WebAccount).values(locked_until=auth.utcnow() - dt.timedelta(seconds=1)))
    _, r = login(site, "alice")
    assert r.status_code == 303
    with db.session() as s:
        acc = s.scalars(select(WebAccount)).one()
        assert acc.failed_logins == 0 and acc.locked_until is None and acc.last_login_at is not None


def test_login_attempts_from_one_address_are_rate_limited(service, kb, db, monkeypatch):
    monkeypatch.setattr("bot.webadmin.pages.LOGIN_ATTEMPTS", 3)
    account(db, "alice")
    with serve(service, knowledge_dir=kb) as base:
        for name in ("bob", "carol", "dan"):  # unknown names: no account to lock, the address is counted
            assert login(base, name)[1].status_code == 401
        _, r = login(base, "alice")
        assert r.status_code == 429 and "quá nhiều lần đăng nhập" in r.text and COOKIE not in r.cookies


def test_a_disabled_account_is_logged_out_and_refused(site, db):
    account(db, "alice")
    client, _ = login(site, "alice")
    with db.session() as s:
        auth.set_disabled(s, auth.find_account(s, "alice"), True, "cli:test")
    assert client.get("/admin/faq").status_code == 303
    _, r = login(site, "alice")
    assert r.status_code == 401


# -- roles and areas -------------------------------------------------------------------------------


def test_team_members_reach_only_the_inbox_of_their_areas(site, service, db):
    account(db, "binh", "team", ["dien-bien"])
    id_db, _ = escalate(service, "citizen-1", "gọi 0912345678 giúp tôi cài VNeID", area="dien bien", display_name="Trần Bí Mật")
    id_qn, _ = escalate(service, "citizen-2", "hỏi chuyện thanh toán QR ở chợ", area="dak bla")
    client, r = login(site, "binh")
    assert client.get("/admin/", follow_redirects=False).headers["location"] == "/admin/inbox"
    for path in ("/admin/faq", "/admin/faq/new", f"/admin/faq/edit/{QR}", "/admin/history", "/admin/drafts", "/admin/report",
                 "/admin/report/file?period=2026-10&kind=xlsx"):
        page = client.get(path)
        assert page.status_code == 403 and "chỉ dành cho quản trị viên" in page.text, path
    csrf = session_csrf(client)
    assert client.post("/admin/faq/save", data={**faq_form(), "csrf": csrf}).status_code == 403
    assert client.post("/admin/history/rollback/1", data={"csrf": csrf}).status_code == 403

    box = client.get("/admin/inbox")
    assert box.status_code == 200 and f"#{id_db}" in box.text and "Điện Biên" in box.text and "giúp tôi cài VNeID" in box.text
    assert f"#{id_qn}" not in box.text and "thanh toán QR" not in box.text
    for personal in ("0912345678", "Bí Mật", "citizen-1"):
        assert personal not in box.text
    assert "Câu hỏi thường gặp" not in box.text  # no admin links in the menu
    assert client.get(f"/admin/inbox/{id_qn}").status_code == 404
    assert client.post(f"/admin/inbox/{id_qn}/claim", data={"csrf": csrf}).status_code == 404
    with db.session() as s:
        assert s.get(Escalation, id_qn).status == "open"  # refused: not their area


def test_web_inbox_claim_reply_and_draft_use_the_relay(site, service, db):
    account(db, "binh", "team", ["dien-bien"])
    account(db, "chi", "team", ["dien-bien"])
    esc_id, _ = escalate(service, "citizen-1", "VNeID có mất phí không? Gọi lại cho tôi số 0912 345 678 nhé", area="dien bien")
    client, _ = login(site, "binh")
    other, _ = login(site, "chi")
    csrf = session_csrf(client)
    page = client.get(f"/admin/inbox/{esc_id}").text
    assert "bot chưa trả lời" in page and "0912 345 678" not in page and "hạn trả lời" in page
    claimed = client.post(f"/admin/inbox/{esc_id}/claim", data={"csrf": csrf})
    assert t.CLAIM_DONE in claimed.text
    assert "0912 345 678" in claimed.text  # the member who took it sees the callback number, nobody else
    assert "0912 345 678" not in other.get(f"/admin/inbox/{esc_id}").text
    assert client.post(f"/admin/inbox/{esc_id}/reply", data={"csrf": csrf, "text": "  "}).status_code == 200
    replied = client.post(f"/admin/inbox/{esc_id}/reply", data={"csrf": csrf, "text": "Tài khoản VNeID miễn phí <b>bác</b> nhé."})
    assert t.REPLY_KEPT in replied.text and "&lt;b&gt;bác&lt;/b&gt;" in replied.text and "<b>bác" not in replied.text
    for page in (claimed.text, replied.text):
        assert not re.search(r"/(traloi|nhan|luufaq|hopthu)\b", page)  # no chat commands on a web page
    assert t.CLOSED_NOTE in replied.text and f"/inbox/{esc_id}/reply" not in replied.text  # closed: no controls
    assert f"/inbox/{esc_id}/claim" not in replied.text
    with db.session() as s:
        esc = s.get(Escalation, esc_id)
        assert esc.status == "answered" and esc.claimed_by is not None
        (row,) = s.scalars(select(RelayMessage)).all()
        assert row.author == "team" and row.delivered is False  # no channel to push through: waits for the citizen
    out = send(service, "citizen-1", text="cảm ơn")  # the citizen's next message brings the answer
    assert any("miễn phí" in m.text and f"#{esc_id}" in m.text for m in out)
    send(service, "citizen-1", "canbo", f"#{esc_id} thế còn mức 2?")
    reopened = client.get(f"/admin/inbox/{esc_id}").text
    assert "hỏi thêm, chờ trả lời" in reopened and "chưa ai nhận" not in reopened
    client.post(f"/admin/inbox/{esc_id}/reply", data={"csrf": csrf, "text": "Mức 2 cũng miễn phí."})
    saved = client.post(f"/admin/inbox/{esc_id}/savefaq", data={"csrf": csrf, "turn": "2"})
    assert "bản nháp" in saved.text
    with db.session() as s:
        draft = s.scalars(select(FaqDraft)).one()
        assert draft.question == "thế còn mức 2?" and draft.answer == "Mức 2 cũng miễn phí." and draft.status == "draft"


def test_web_inbox_answers_reach_the_citizen_now_through_a_running_channel(service, kb, db):
    account(db, "binh", "team", ["dien-bien"])
    esc_id, _ = escalate(service, "citizen-7", "cài VssID thế nào?", area="dien bien")
    sent, ok = [], {"value": True}

    async def telegram(chat_id, message):  # stands in for the Telegram platform behind Channel.send
        sent.append((chat_id, message))
        return ok["value"]

    with serve(service, pushers={"telegram": telegram}, knowledge_dir=kb) as base:
        client, _ = login(base, "binh")
        csrf = session_csrf(client)
        client.post(f"/admin/inbox/{esc_id}/reply", data={"csrf": csrf, "text": "Tải VssID từ CH Play."})
        ((chat_id, message),) = sent
        assert chat_id == "citizen-7" and "Tải VssID" in message.text and message.buttons[-1][0].data == f"ro:{esc_id}"
        with db.session() as s:
            assert s.scalars(select(RelayMessage)).one().delivered is True
        esc2, _ = escalate(service, "citizen-8", "quên mật khẩu VNeID", area="dien bien")
        ok["value"] = False  # the platform refuses: the answer waits for the citizen's next message
        client.post(f"/admin/inbox/{esc2}/reply", data={"csrf": csrf, "text": "Bác đặt lại mật khẩu trong ứng dụng."})
        with db.session() as s:
            row = s.scalars(select(RelayMessage).where(RelayMessage.escalation_id == esc2)).one()
            assert row.delivered is False
        assert any("đặt lại mật khẩu" in m.text for m in send(service, "citizen-8", text="alo"))


# -- FAQ entries, drafts, history ------------------------------------------------------------------


def test_editing_adding_retiring_and_rolling_back_entries(site, db, kb):
    account(db, "alice")
    client, _ = login(site, "alice")
    listing = client.get("/admin/faq", params={"q": "qr"})
    assert QR in listing.text and "vneid-kich-hoat-muc-2" not in listing.text and "1 câu hỏi" in listing.text
    form = client.get(f"/admin/faq/edit/{QR}")
    assert "quét mã qr trả tiền ntn" in form.text and "readonly" in form.text
    csrf = csrf_of(form.text)

    bad = client.post("/admin/faq/save", data={**faq_form(alternatives="chỉ một cách"), "answer": "", "csrf": csrf})
    assert bad.status_code == 422 and "ít nhất 2 cách hỏi khác" in bad.text and "Hãy nhập câu trả lời" in bad.text
    taken = client.post("/admin/faq/save", data={**faq_form(), "mode": "new", "csrf": csrf})
    assert taken.status_code == 422 and "đã có" in taken.text
    with db.session() as s:
        assert s.scalar(select(func.count(FaqVersion.id))) == 0

    saved = client.post("/admin/faq/save", data={**faq_form(), "csrf": csrf})
    assert saved.status_code == 303
    page = client.get(saved.headers["location"])
    assert "Đã lưu (phiên bản 1)" in page.text
    entry = next(e for e in FaqStore(kb, db).entries() if e["id"] == QR)
    assert entry["answer"] == faq_form()["answer"] and entry["updated"] == dt.datetime.now(REPORT_TZ).date().isoformat()
    same = client.post("/admin/faq/save", data={**faq_form(), "csrf": csrf})
    assert "Không có gì thay đổi" in client.get(same.headers["location"]).text

    new = faq_form("dichvucong-vssid", mode="new", topic="dichvucong", question="Cài VssID thế nào?",
                   alternatives="cai vssid\ntải app bảo hiểm xã hội", answer="Tải VssID từ CH Play hoặc App Store.",
                   source="Bảo hiểm xã hội Việt Nam", source_url="https://baohiemxahoi.gov.vn", tags="vssid, bhyt")
    assert client.post("/admin/faq/save", data={**new, "csrf": csrf}).status_code == 303
    added = yaml.safe_load((kb / "faq" / "dichvucong.yaml").read_text(encoding="utf-8"))
    assert added[0]["source"] == {"title": "Bảo hiểm xã hội Việt Nam", "url": "https://baohiemxahoi.gov.vn"} and added[0]["tags"] == ["vssid", "bhyt"]

    retired = client.post(f"/admin/faq/retire/{QR}", data={"csrf": csrf})
    assert "Đã gỡ" in retired.text and QR not in {e["id"] for e in FaqStore(kb, db).entries()}
    history = client.get("/admin/history")
    assert all(w in history.text for w in ("sửa trên trang quản trị: thanhtoan-ma-qr", "thêm trên trang quản trị: dichvucong-vssid"))
    assert "webadmin:alice" in history.text
    confirm = client.get("/admin/history/rollback/1")
    assert t.ROLLBACK_CONFIRM in confirm.text and 'name="confirm"' in confirm.text
    unconfirmed = client.post("/admin/history/rollback/1", data={"csrf": csrf})  # one click does not roll back
    assert t.ROLLBACK_CONFIRM in unconfirmed.text
    history = client.get("/admin/history").text
    assert "sửa trên trang quản trị" in history and "web edit" not in history and "<del>" in history
    back = client.post("/admin/history/rollback/1", data={"csrf": csrf, "confirm": "1"})
    assert "Đã khôi phục về trước phiên bản 1" in back.text
    restored = next(e for e in FaqStore(kb, db).entries() if e["id"] == QR)
    assert restored["answer"].startswith("1. Mở ứng dụng ngân hàng")  # the original text
    assert "dichvucong-vssid" not in {e["id"] for e in FaqStore(kb, db).entries()}  # added after 1: rolled back too
    with db.session() as s:
        assert {v.actor for v in s.scalars(select(FaqVersion))} == {"webadmin:alice"}


def test_drafts_from_the_team_are_approved_or_rejected(site, service, db, kb):
    account(db, "alice")
    give(db, "team-db", "team", "dien-bien")
    drafts = []
    for question, answer in (("Mất điện thoại thì khoá VNeID sao?", "Gọi 1900 0368 hoặc đến công an xã."), ("hỏi linh tinh", "trả lời linh tinh")):
        esc_id, _ = escalate(service, f"citizen-{len(drafts)}", question, area="dien bien")
        send(service, "team-db", "traloi", f"{esc_id} {answer}")
        send(service, "team-db", "luufaq", str(esc_id))
        with db.session() as s:
            drafts.append(s.scalars(select(FaqDraft).where(FaqDraft.escalation_id == esc_id)).one().id)
    client, _ = login(site, "alice")
    listing = client.get("/admin/drafts")
    assert "Mất điện thoại thì khoá VNeID sao?" in listing.text and "Điện Biên" in listing.text
    csrf = csrf_of(listing.text)
    rejected = client.post(f"/admin/drafts/reject/{drafts[1]}", data={"csrf": csrf})
    assert f"Đã từ chối bản nháp #{drafts[1]}" in rejected.text and "hỏi linh tinh" not in rejected.text
    prefilled = client.get("/admin/faq/new", params={"draft": drafts[0]})
    assert "Mất điện thoại thì khoá VNeID sao?" in prefilled.text and f'name="draft" value="{drafts[0]}"' in prefilled.text
    form = faq_form("vneid-mat-dien-thoai", mode="new", topic="vneid", question="Mất điện thoại thì khoá VNeID sao?",
                    alternatives="mat dien thoai khoa vneid\nbị mất máy thì làm gì với vneid", answer="Gọi 1900 0368 hoặc đến công an xã.",
                    source="Bộ Công an", draft=str(drafts[0]))
    assert client.post("/admin/faq/save", data={**form, "csrf": csrf}).status_code == 303
    with db.session() as s:
        assert [d.status for d in s.scalars(select(FaqDraft).order_by(FaqDraft.id))] == ["approved", "rejected"]
    assert "vneid-mat-dien-thoai" in {e["id"] for e in FaqStore(kb, db).entries()}
    assert client.get("/admin/faq/new", params={"draft": drafts[0]}).status_code == 404  # no longer waiting


# -- reports ---------------------------------------------------------------------------------------


def test_the_report_page_shows_the_report_commands_figures(site, db):
    fill(db)
    account(db, "alice")
    client, _ = login(site, "alice")
    page = client.get("/admin/report", params={"period": "2026-10"})
    assert page.status_code == 200 and parse_period("2026-10").title in page.text
    summary = build_report(db, parse_period("2026-10")).summary
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", page.text)
    for value in (summary["asked"], summary["answered"], summary["declined"], summary["escalated"]):
        assert f"{value:,}" in cells
    assert "bảo hiểm xe máy mua online ở đâu" in page.text and "0912345678" not in page.text
    for sheet in messages.REPORT_SHEETS.values():  # every sheet of the workbook, as a captioned table
        assert f"<caption>{sheet}</caption>" in page.text
    assert "<td>q1</td><td class=num>4</td><td class=num>75.0</td>" in page.text  # quiz: answers and % correct
    assert "<td>2026-10-01</td><td class=num>2</td><td class=num>0</td>" in page.text  # the timeline's first day
    xlsx = client.get("/admin/report/file", params={"period": "2026-10", "kind": "xlsx"})
    assert xlsx.status_code == 200 and "report-2026-10.xlsx" in xlsx.headers["content-disposition"]
    book = load_workbook(io.BytesIO(xlsx.content))
    first = book[book.sheetnames[0]]
    assert [r[1] for r in first.iter_rows(min_row=2, max_row=2, values_only=True)] == [summary["asked"]]
    png = client.get("/admin/report/file", params={"period": "2026-10", "kind": "png"})
    assert png.headers["content-type"] == "image/png" and Image.open(io.BytesIO(png.content)).size[0] > 300
    assert client.get("/admin/report", params={"period": "2026-13"}).status_code == 422
    assert client.get("/admin/report/file", params={"period": "2026-10", "kind": "exe"}).status_code == 404


# -- CLI and migrations ----------------------------------------------------------------------------


def test_admin_user_cli(tmp_path):
    env = bot_env(tmp_path)

    def run(*args, stdin=""):
        return subprocess.run([sys.executable, "-m", "bot", "admin-user", *args], input=stdin, env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)

    assert run("add", "Chi", "--role", "team", "--area", "dien-bien", "--area", "Đắk Bla", stdin=PASSWORD + "\n").returncode == 0
    assert run("add", "an", "--role", "admin", stdin=PASSWORD + "\n").returncode == 0
    short = run("add", "bao", "--role", "admin", stdin="ngan\n")
    assert short.returncode == 2 and "at least 10" in short.stderr
    assert run("add", "chi", "--role", "admin", stdin=PASSWORD + "\n").returncode == 2  # taken
    assert run("add", "d", "--role", "team", "--area", "atlantis", stdin=PASSWORD + "\n").returncode == 2
    listed = run("list").stdout.splitlines()
    assert listed[0].startswith("an\tadmin\tall\tactive") and listed[1].startswith("chi\tteam\tdien-bien,quang-ngai/dak-bla\tactive")
    assert run("disable", "chi").returncode == 0 and "disabled" in run("list").stdout.splitlines()[1]
    assert run("disable", "nobody").returncode == 1
    assert run("password", "an", stdin="mot-mat-khau-moi\n").returncode == 0
    db = Database(env["DATABASE_URL"])
    with db.session() as s:
        assert auth.verify_password("mot-mat-khau-moi", auth.find_account(s, "an").password_hash)
        actions = list(s.scalars(select(AuditEntry.action)))
        assert actions.count("web_account_add") == 2 and "web_account_disable" in actions and "web_account_password" in actions


def test_migrations_have_one_head_and_a_fresh_database_reaches_it(db):
    from alembic.script import ScriptDirectory
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    heads = set(ScriptDirectory.from_config(config).get_heads())
    assert len(heads) == 1, f"migrations must form one line; heads: {sorted(heads)}"
    with db.engine.connect() as conn:
        assert {r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))} == heads
    assert {"web_accounts", "web_sessions"} <= set(inspect(db.engine).get_table_names())


def test_python_m_bot_run_serves_the_web_admin(tmp_path, kb, index):
    """The whole wiring: an account made by the CLI logs in to `python -m bot run`, whose edit is answered live."""
    env = bot_env(tmp_path, WEB_PORT=str(free_port()), KNOWLEDGE_DIR=str(kb), INDEX_DIR=str(index))
    with bot_process(tmp_path, env) as base:
        made = subprocess.run([sys.executable, "-m", "bot", "admin-user", "add", "alice", "--role", "admin"], input=PASSWORD + "\n",
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert made.returncode == 0, made.stderr
        client, response = login(base, "alice")
        assert response.status_code == 303
        form = client.get(f"/admin/faq/edit/{QR}")
        started = time.monotonic()
        saved = client.post("/admin/faq/save", data={**faq_form(), "csrf": csrf_of(form.text)})
        assert saved.status_code == 303
        while httpx.post(f"{base}/api/ask", json={"question": "thanh toan qr the nao"}, timeout=30).json()["answer"] != faq_form()["answer"]:
            assert time.monotonic() - started < 30
            time.sleep(0.2)
