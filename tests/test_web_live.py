"""The web chat as a live channel (issue 18): /api/history and /api/events through a real uvicorn server and
the real service, on SQLite and PostgreSQL. Team answers, campaign messages and messages committed by
another worker reach an open stream; a reconnect with Last-Event-ID loses nothing; idle streams get a
heartbeat; the flood limit does not count the page-load /start."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from sqlalchemy import insert, select

from bot import messages
from bot.areas import load_areas
from bot.channels import web_messages
from bot.conversation.service import ConversationService
from bot.chat.types import IncomingMessage, OutgoingMessage
from bot.relay import roles
from bot.storage.models import Chat, User, utcnow
from tests.conftest import KNOWLEDGE
from tests.pg import database_fixture
from tests.web_events import EventReader
from tests.web_server import QUIZ, serve

db = database_fixture("weblive_test")
QUESTION = "kich hoat vneid muc 2 o dau"


@pytest.fixture
def service(small_engine, db):
    return ConversationService(small_engine, db, QUIZ, load_areas(KNOWLEDGE / "areas.yaml"), flood_limit=3)


@pytest.fixture
def base(service):
    with serve(service, web_client_max_requests=1000, web_events_heartbeat_seconds=0.5) as url:
        yield url


def post(client: httpx.Client, **payload) -> dict:
    response = client.post("/api/chat", json=payload)
    assert response.status_code == 200, response.text
    return response.json()


def chat_id(db, visitor: str) -> int:
    with db.session() as s:
        return s.scalar(select(Chat.id).where(Chat.channel == "web", Chat.external_id == visitor))


def test_history_holds_what_the_visitor_said_and_what_the_bot_answered(base, service, db):
    with httpx.Client(base_url=base, timeout=30) as client:
        first = client.get("/api/history")  # a page load without a cookie: one is set, nothing is stored
        assert first.status_code == 200 and first.json() == {"messages": []}
        visitor = client.cookies["bdhvs_visitor"]
        assert re.fullmatch(r"[0-9a-f]{32}", visitor) and first.headers["cache-control"] == "no-store"
        welcome = post(client, text="/start")["messages"]
        assert "Xin chào" in welcome[0]["text"] and welcome[0]["id"] is None  # only looked: no rows
        assert chat_id(db, visitor) is None
        answer = post(client, text=QUESTION)
        like = next(b for row in answer["messages"][0]["buttons"] for b in row if b["data"].endswith(":1"))
        thanks = post(client, button=like["data"], shown=like["label"])
        history = client.get("/api/history").json()["messages"]
    assert [m["from"] for m in history] == ["user", "bot", "user", "bot"]
    assert history[0]["text"] == QUESTION and history[2]["text"] == like["label"]
    assert history[3]["text"] == messages.FEEDBACK_THANKS
    assert [m["id"] for m in history] == sorted(m["id"] for m in history)
    assert answer["echo"]["id"] == history[0]["id"] and answer["messages"][0]["id"] == history[1]["id"]
    assert thanks["messages"][0]["id"] == history[3]["id"]
    assert set(history[1]) == {"id", "from", "text", "buttons", "quiz", "at"} and history[1]["at"].endswith("Z")
    assert history[1]["buttons"] and "Nghị định 69/2024/NĐ-CP" in history[1]["text"]


def test_history_is_the_last_fifty_oldest_first(base, service, db):
    with httpx.Client(base_url=base, timeout=30) as client:
        post(client, text="/dangky all")
        visitor = client.cookies["bdhvs_visitor"]
        with db.session() as s:
            for i in range(60):
                web_messages.deliver(s, chat_id(db, visitor), OutgoingMessage(f"tin {i}"), "bot")
        history = client.get("/api/history").json()["messages"]
    assert len(history) == 50 and history[-1]["text"] == "tin 59" and history[0]["text"] == "tin 10"


def test_team_answers_and_campaign_messages_arrive_live_and_a_reconnect_loses_nothing(base, service, db):
    with httpx.Client(base_url=base, timeout=30) as client:
        post(client, text="/dangky Điện Biên")
        visitor = client.cookies["bdhvs_visitor"]
        (ack,) = post(client, text="/canbo mất căn cước thì làm lại ở đâu")["messages"]
        esc_id = int(re.search(r"#(\d+)", ack["text"])[1])
        last = client.get("/api/history").json()["messages"][-1]["id"]
    with db.session() as s:
        roles.grant(s, roles.find_user(s, "telegram", "team-1", create=True), "team", "dien-bien", "cli")
    stream = EventReader(base, visitor, after=last)
    try:
        assert stream.status == 200 and stream.headers["content-type"].startswith("text/event-stream")
        service.handle(IncomingMessage(channel="telegram", user_id="team-1", chat_id="team-1", kind="command",
                                       command="traloi", text=f"{esc_id} Bác đến công an xã nhé.", message_id="t-1"))
        answer = stream.next()
        assert answer["from"] == "team" and "Bác đến công an xã nhé." in answer["text"] and f"#{esc_id}" in answer["text"]
        with db.session() as s:  # a campaign message (the outbox's web sender writes it so)
            web_messages.deliver(s, chat_id(db, visitor), OutgoingMessage("Tin của xã: họp dân tối nay."), "bot")
        assert stream.next()["text"] == "Tin của xã: họp dân tối nay."
        seen = stream.last_id
    finally:
        stream.close()
    with db.session() as s:  # the page is closed (a phone asleep): two more messages meanwhile
        for text in ("một", "hai"):
            web_messages.deliver(s, chat_id(db, visitor), OutgoingMessage(text), "bot")
    again = EventReader(base, visitor, last_event_id=seen)  # the browser's reconnect
    try:
        assert [again.next()["text"], again.next()["text"]] == ["một", "hai"]
        with pytest.raises(Exception):
            again.next(timeout=1.0)  # nothing twice
    finally:
        again.close()


def test_a_message_committed_by_another_worker_arrives_and_idle_streams_get_heartbeats(base, service, db):
    with httpx.Client(base_url=base, timeout=30) as client:
        post(client, text="/dangky all")
        visitor = client.cookies["bdhvs_visitor"]
    stream = EventReader(base, visitor)
    try:
        time.sleep(1.5)
        assert len(stream.comments) >= 2  # heartbeat every 0.5 s here (WEB_EVENTS_HEARTBEAT_SECONDS; 10 s by default)
        with db.engine.begin() as c:  # plain SQL, as another process would commit it: found by polling
            c.execute(insert(web_messages.WebMessage).values(chat_id=chat_id(db, visitor), author="bot", text="từ tiến trình khác",
                                                             created_at=utcnow()))
        assert stream.next(timeout=5)["text"] == "từ tiến trình khác"
    finally:
        stream.close()


def test_another_visitors_messages_never_arrive(base, service, db):
    with httpx.Client(base_url=base, timeout=30) as alice, httpx.Client(base_url=base, timeout=30) as bob:
        post(alice, text="/dangky all")
        post(bob, text="/dangky all")
        a, b = alice.cookies["bdhvs_visitor"], bob.cookies["bdhvs_visitor"]
    stream = EventReader(base, a)
    try:
        with db.session() as s:
            web_messages.deliver(s, chat_id(db, b), OutgoingMessage("cho Bob"), "bot")
            web_messages.deliver(s, chat_id(db, a), OutgoingMessage("cho Alice"), "bot")
        assert stream.next()["text"] == "cho Alice"
    finally:
        stream.close()


def test_streams_without_a_cookie_get_one_and_too_many_are_refused(base):
    fresh = httpx.Client(base_url=base, timeout=30)
    with fresh.stream("GET", "/api/events") as response:
        assert response.status_code == 200 and "bdhvs_visitor=" in response.headers["set-cookie"]
    fresh.close()
    streams = [EventReader(base, "ab" * 16) for _ in range(8)]
    try:
        with httpx.Client(base_url=base, timeout=30, cookies={"bdhvs_visitor": "ab" * 16}) as client:
            refused = client.get("/api/events")
        assert refused.status_code == 429 and refused.json()["message"] == messages.FLOOD
    finally:
        for stream in streams:
            stream.close()


def test_page_loads_are_not_counted_by_the_flood_limit(base, service):
    with httpx.Client(base_url=base, timeout=30) as client:
        for _ in range(5):  # five reloads, then three quick taps: the limit is 3 messages in 30 s here
            assert "Xin chào" in post(client, text="/start")["messages"][0]["text"]
        taps = [post(client, text=t)["messages"][0]["text"] for t in ("/chude", "/quiz", "/diem")]
    assert messages.FLOOD not in taps
    with httpx.Client(base_url=base, timeout=30) as client:
        replies = [post(client, text="/diem")["messages"][0]["text"] for _ in range(4)]
    assert replies[-1] == messages.FLOOD  # the limit itself still holds


def test_the_visitor_rows_stay_out_of_users_who_only_looked(base, db):
    with db.session() as s:
        before = s.scalar(select(User.id).order_by(User.id.desc()).limit(1)) or 0
    with httpx.Client(base_url=base, timeout=30) as client:
        client.get("/api/history")
        post(client, text="/start")
        post(client, text="/diem")
    with db.session() as s:
        assert (s.scalar(select(User.id).order_by(User.id.desc()).limit(1)) or 0) == before
