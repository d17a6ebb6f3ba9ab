"""Concurrent first messages and abusive clients (issue 14, D4 and D6), through real servers on
127.0.0.1, on SQLite and PostgreSQL: nothing lost, no 500, limits that a dropped cookie cannot dodge,
no rows for visitors who only look. Each test prints its figures (pytest -s shows them)."""

from __future__ import annotations

import json
import secrets
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette

from bot import messages
from bot.areas import load_areas
from bot.channels.telegram import Channel as TelegramChannel
from bot.config import Settings
from bot.conversation.service import ConversationService
from bot.ratelimit import FloodGuard
from bot.storage.models import Chat, Escalation, User
from tests.conftest import KNOWLEDGE
from tests.fake_telegram import FakeTelegram
from tests.pg import database_fixture
from tests.test_telegram import BotThread
from tests.web_server import QUIZ, serve

AREAS = load_areas(KNOWLEDGE / "areas.yaml")
SECRET = "race-secret_123"

db = database_fixture("races_test")


@pytest.fixture
def service(small_engine, db):
    return ConversationService(small_engine, db, QUIZ, AREAS, flood_limit=1000)


def count(db, model) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def figures(name: str, **values) -> None:
    print(f"\n{name}: {json.dumps(values, ensure_ascii=False)}")


def test_concurrent_first_messages_of_new_web_visitors_all_succeed(service, db):
    visitors, each = 20, 6
    with serve(service, web_client_max_requests=100_000) as base:
        def first_contact(cookie: str) -> list[int]:
            with httpx.Client(base_url=base, timeout=60, cookies={"bdhvs_visitor": cookie}) as client:
                with ThreadPoolExecutor(each) as pool:  # one visitor's requests, all at once
                    # a message that keeps rows (a visitor who only looks keeps none, cookie or not)
                    return list(pool.map(lambda _: client.post("/api/chat", json={"text": "/dangky all"}).status_code,
                                         range(each)))

        with ThreadPoolExecutor(visitors) as pool:
            statuses = Counter(s for got in pool.map(first_contact, [secrets.token_hex(16) for _ in range(visitors)]) for s in got)
    users = count(db, User)
    figures(f"D4 web ({db.engine.dialect.name})", requests=visitors * each, statuses=dict(statuses), users_rows=users)
    assert statuses == {200: visitors * each}
    assert users == visitors and count(db, Chat) == visitors


def test_concurrent_first_updates_of_new_telegram_users_are_all_answered(service, db):
    users, texts = 20, ("/diem", "/start", "/help")
    fake = FakeTelegram().start()
    settings = Settings(_env_file=None, telegram_bot_token=fake.token, telegram_api_base_url=fake.url,
                        telegram_webhook_url="https://bot.example.vn/telegram/webhook", telegram_secret_token=SECRET)
    channel = TelegramChannel(service, settings)
    runner = BotThread(channel, Starlette(routes=channel.routes())).start()
    try:
        url = runner.web_url + "/telegram/webhook"
        fake.wait_for(lambda: fake.webhook)
        updates = [{"update_id": fake.new_update_id(), **fake.message(600_000 + u, text)} for u in range(users) for text in texts]
        with httpx.Client(timeout=30, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as client:
            with ThreadPoolExecutor(len(updates)) as pool:
                posted = Counter(pool.map(lambda u: client.post(url, json=u).status_code, updates))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(fake.calls_of("sendMessage")) < len(updates):
            time.sleep(0.1)
        time.sleep(0.5)  # nothing more may come
        replies = Counter(int(c.params["chat_id"]) for c in fake.calls_of("sendMessage"))
        per_user = Counter(replies[600_000 + u] for u in range(users))
        # the same updates again (a platform redelivering): answered already, so nothing is sent twice
        with httpx.Client(timeout=30, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as client:
            for u in updates[:6]:
                client.post(url, json=u)
        time.sleep(1.0)
        total = len(fake.calls_of("sendMessage"))
    finally:
        runner.close()
        fake.close()
    unanswered = sum(len(texts) - n for n, k in per_user.items() for _ in range(k))
    figures(f"D4 telegram ({db.engine.dialect.name})", updates=len(updates), posted=dict(posted),
            replies_per_user=dict(per_user), unanswered=unanswered, users_rows=count(db, User))
    assert posted == {200: len(updates)}
    assert per_user == {len(texts): users} and unanswered == 0
    assert total == len(updates)  # the redelivered updates got no second reply
    assert count(db, User) == users


def test_cookieless_clients_are_limited_by_address_and_leave_no_rows(service, db):
    limit, sent = 30, 200
    users_before = count(db, User)
    with serve(service, web_client_max_requests=limit, web_client_window_seconds=60) as base:
        def post(i: int) -> int:  # no cookie, and a different forged X-Forwarded-For each time
            return httpx.post(base + "/api/chat", json={"text": "/diem"}, headers={"X-Forwarded-For": f"10.0.{i // 250}.{i % 250}"},
                              timeout=60).status_code

        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            statuses = Counter(pool.map(post, range(sent)))
        seconds = time.monotonic() - started
        limited = httpx.post(base + "/api/ask", json={"question": "vneid"}, timeout=30)  # the same budget
    rows = count(db, User) - users_before
    figures(f"D6 cookie-less ({db.engine.dialect.name})", requests=sent, seconds=round(seconds, 1), statuses=dict(statuses),
            new_users_rows=rows, new_chats_rows=count(db, Chat))
    assert statuses == {200: limit, 429: sent - limit}
    assert limited.status_code == 429 and limited.json()["message"] == messages.FLOOD and limited.json()["error"]
    assert rows == 0 and count(db, Chat) == 0  # looking at a score stores nothing for a visitor without a cookie


def test_a_trusted_proxy_gives_each_client_its_own_budget(service, db):
    with serve(service, web_client_max_requests=3, trusted_proxies="127.0.0.1") as base:
        def ask(client_ip: str) -> int:
            return httpx.post(base + "/api/ask", json={"question": "vneid"}, timeout=30,
                              headers={"X-Forwarded-For": f"203.0.113.9, {client_ip}"}).status_code

        first = [ask("198.51.100.1") for _ in range(4)]
        second = [ask("198.51.100.2") for _ in range(3)]
    assert first == [200, 200, 200, 429] and second == [200, 200, 200]


def test_escalations_are_limited_per_address_and_per_person(service, db):
    visitors = 50
    with serve(service, web_client_max_requests=100_000) as base:
        def spam(i: int) -> str:
            with httpx.Client(base_url=base, timeout=60) as client:  # a fresh visitor each, keeping its cookie
                client.post("/api/chat", json={"text": "/dangky Điện Biên"})
                return client.post("/api/chat", json={"text": f"/canbo SPAM {i} gọi 0999 888 777"}).json()["messages"][0]["text"]

        with ThreadPoolExecutor(8) as pool:
            replies = list(pool.map(spam, range(visitors)))
        with httpx.Client(base_url=base, timeout=60) as one:  # one person, under the address budget
            own = [one.post("/api/chat", json={"text": f"/canbo câu {i}"}).json()["messages"][0]["text"] for i in range(7)]
    stored = count(db, Escalation)
    figures(f"D6 escalations ({db.engine.dialect.name})", visitors=visitors, escalations_stored=stored,
            refused=sum(r == messages.ESCALATE_TOO_MANY for r in replies))
    assert stored == 20  # ESCALATIONS_PER_CLIENT from one address in an hour
    assert replies.count(messages.ESCALATE_TOO_MANY) == visitors - 20
    assert all(r == messages.ESCALATE_TOO_MANY for r in own)  # the address has used its budget
    with db.session() as s:
        assert all("0999" not in q for q in s.scalars(select(Escalation.question)))  # stored masked (D8)


def test_flood_guard_forgets_old_keys_and_stays_bounded(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr("bot.ratelimit.time.monotonic", lambda: now[0])
    guard = FloodGuard(2, 30.0, max_keys=500)
    for i in range(20_000):
        assert guard.allow(f"web:{i}")
    assert len(guard) == 500  # the least recently seen went first
    assert guard.allow("a") and guard.allow("a") and not guard.allow("a")
    now[0] += 31
    guard.allow("b")
    assert len(guard) == 1  # every key unseen for a window is gone
    assert guard.allow("a")  # and "a" starts afresh
