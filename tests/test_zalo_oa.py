"""The Zalo OA channel end to end: the real channel, webhook and ConversationService against a fake OA server
(tests/fake_zalo_oa.py): signatures, redeliveries, every event, buttons, long texts, token refresh and
rotation across a restart, a failed refresh, one refresh at a time across workers."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
import uvicorn
from sqlalchemy import select
from starlette.applications import Starlette

from bot import messages
from bot.areas import load_areas
from bot.channels import health
from bot.channels.zalo_oa import WEBHOOK_PATH, Channel, parse_event
from bot.channels.zalo_oa_api import BUTTON_PREFIX, MAX_TEXT
from bot.channels.zalo_oa_tokens import TokenStore
from bot.config import Settings
from bot.conversation.service import ConversationService
from bot.knowledge.models import QuizQuestion
from bot.storage.db import Database
from bot.storage.models import ChannelToken, Conversation, User
from tests.conftest import KNOWLEDGE
from tests.fake_zalo import wait_for
from tests.fake_zalo_oa import FakeOa


QUIZ = [QuizQuestion("quiz-oa-01", "vneid", "easy", "Mức 2 kích hoạt ở đâu?", ("Ở chợ", "Ở công an", "Ở trường", "Ở nhà"),
                     1, "Mức 2 làm tại công an.", "NĐ 69/2024", "2026-11-23")]


class Running:
    """The channel's `run` and a uvicorn server with its webhook route, on an event loop in a thread."""

    def __init__(self, channel: Channel) -> None:
        self.channel = channel
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.stop = asyncio.Event()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}{WEBHOOK_PATH}"
        config = uvicorn.Config(Starlette(routes=channel.routes()), log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.served = asyncio.run_coroutine_threadsafe(self.server.serve(sockets=[sock]), self.loop)
        self.task = asyncio.run_coroutine_threadsafe(channel.run(self.stop), self.loop)
        wait_for(lambda: self.server.started, what="for the web server")

    def call(self, coro, timeout: float = 20.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.task.result(timeout=20)
        self.server.should_exit = True
        self.served.result(timeout=20)
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture
def fake():
    server = FakeOa()
    yield server
    server.close()


@pytest.fixture
def service(small_engine, db):
    return ConversationService(small_engine, db, QUIZ, load_areas(KNOWLEDGE / "areas.yaml"), flood_limit=100)


def make_channel(service, fake: FakeOa, **settings) -> Channel:
    channel = Channel(service, Settings(_env_file=None, database_url=service.db.url, **fake.settings(**settings)))
    channel.backoff_initial, channel.backoff_max = 0.05, 0.2
    return channel


@pytest.fixture
def running(service, fake, caplog):
    caplog.set_level(logging.DEBUG)
    running = Running(make_channel(service, fake))
    yield running
    running.close()
    for secret in (fake.app_secret, fake.oa_secret_key, fake.first_refresh, *fake.access, *fake.refresh_tokens):
        assert secret not in caplog.text


def ask(fake: FakeOa, running: Running, text: str, user: str = "u1") -> dict:
    """Send a text as `user`; the body of the next message the OA accepted for that user."""
    before = len(fake.sends(user))
    assert fake.deliver(running.url, fake.text(user, text)).status_code == 200
    return wait_for(lambda: fake.sends(user)[before:], what="for a reply")[0].body


def buttons(body: dict) -> list[dict]:
    return ((body["message"].get("attachment") or {}).get("payload") or {}).get("buttons", [])


# -- inbound -------------------------------------------------------------------------------------------


def test_a_question_gets_a_cited_reply_and_a_quiz_the_button_template(running, fake, db):
    event = fake.text("u1", "kich hoat vneid muc 2 o dau")
    assert fake.deliver(running.url, event).status_code == 200
    body = wait_for(lambda: fake.sends("u1"), what="for the answer")[0].body
    assert body["recipient"] == {"user_id": "u1", "message_id": event["message"]["msg_id"]}  # a reply, not proactive
    assert fake.sends("u1")[0].answer["data"]["quota"]["quota_type"] == "reply"
    text = body["message"]["text"]
    assert "công an" in text.lower() and "Nguồn: Nghị định 69/2024/NĐ-CP" in text
    assert "\n1. 👍" in text and "\n6. " in text and not buttons(body)  # 7 choices: more than a template holds
    assert ask(fake, running, "1")["message"]["text"] == messages.FEEDBACK_THANKS
    quiz = ask(fake, running, "/quiz")
    assert quiz["message"]["text"] == "❓ Mức 2 kích hoạt ở đâu?"
    choices = buttons(quiz)
    assert [b["title"] for b in choices] == ["A. Ở chợ", "B. Ở công an", "C. Ở trường", "D. Ở nhà"]
    assert all(b["type"] == "oa.query.hide" and b["payload"].startswith(BUTTON_PREFIX) for b in choices)
    assert ask(fake, running, choices[1]["payload"])["message"]["text"].startswith("✅")  # the tap comes back as text
    with db.session() as s:
        log = s.scalars(select(Conversation)).one()
        assert log.feedback == 1 and log.channel == "zalo_oa"


def test_follow_is_welcomed_once_with_topic_buttons(running, fake, db):
    follow = fake.follow("f1")
    assert fake.deliver(running.url, follow).status_code == 200
    welcome = wait_for(lambda: fake.sends("f1"), what="for the welcome")[0].body
    assert welcome["recipient"] == {"user_id": "f1"}  # a follow has no msg_id to answer
    assert welcome["message"]["text"].startswith("Xin chào bác!")
    topics = buttons(welcome)
    assert 1 <= len(topics) <= 5 and all(b["payload"].startswith(BUTTON_PREFIX + "tp:") for b in topics)
    fake.deliver(running.url, follow)  # Zalo delivers it again
    picked = ask(fake, running, topics[0]["payload"], user="f1")
    assert picked["message"]["text"] != welcome["message"]["text"] and len(fake.sends("f1")) == 2  # no second welcome


def test_unfollow_stops_campaigns_and_attachments_get_the_text_only_reply(running, fake, db):
    ask(fake, running, "xin chào", user="u2")
    for kind in ("image", "sticker", "file", "gif"):
        before = len(fake.sends("u2"))
        assert fake.deliver(running.url, fake.attachment("u2", kind)).status_code == 200
        assert wait_for(lambda: fake.sends("u2")[before:])[0].body["message"]["text"] == messages.NOT_TEXT
    assert fake.deliver(running.url, fake.follow("u2", name="unfollow")).status_code == 200
    wait_for(lambda: db.session().__enter__().scalar(select(User.blocked_bot).where(User.external_id == "u2")))
    for ignored in ({"event_name": "user_seen_message", "timestamp": "1"}, {"event_name": "oa_send_text", "timestamp": "2"},
                    {"event_name": "user_send_text", "timestamp": "3", "message": {"text": "x"}}):
        assert fake.deliver(running.url, ignored).status_code == 200  # counted, not answered
    wait_for(lambda: sum(running.channel.ignored.values()) == 3)
    assert running.channel.ignored["user_seen_message"] == 1 and running.channel.ignored["user_send_text without sender.id"] == 1
    assert len(fake.sends("u2")) == 5


def test_signature_is_checked_over_the_raw_bytes_and_a_bad_one_processes_nothing(running, fake, db):
    event = fake.text("s1", "thanh toan qr the nao")
    body = b'{"app_id": "%s", "event_name": "user_send_text", "sender": {"id": "s1"}, "message": ' \
           b'{"msg_id": "m-raw", "text": "thanh toan qr the nao"},   "timestamp": "%s"}' % (
               fake.app_id.encode(), event["timestamp"].encode())
    good = fake.sign(body, event["timestamp"])
    assert fake.deliver(running.url, event, mac="0" * 64).status_code == 403  # wrong
    assert fake.deliver(running.url, event, mac="").status_code == 401  # missing
    assert fake.deliver(running.url, {}, raw=body.replace(b"qr", b"QR"), mac=good).status_code == 403  # tampered
    no_time = body.replace(b'"timestamp"', b'"time"')
    assert fake.deliver(running.url, {}, raw=no_time, mac=fake.sign(no_time, "")).status_code == 401
    assert httpx.post(running.url, content=b"{not json", headers={"X-ZEvent-Signature": f"mac={good}"}).status_code == 400
    wrong_key = fake.sign(body, event["timestamp"]).replace(fake.sign(body, event["timestamp"])[:4], "ffff")
    assert fake.deliver(running.url, {}, raw=body, mac=wrong_key).status_code == 403
    time.sleep(0.3)
    assert fake.sends("s1") == [] and db.session().__enter__().scalars(select(User)).all() == []  # nothing processed
    assert running.channel.refused["wrong signature"] == 3
    bare = httpx.post(running.url, content=body.replace(b"m-raw", b"m-bare"), headers={"X-ZEvent-Signature": "f" * 64})
    assert bare.status_code == 403  # the bare hex form is read too, and checked the same
    assert fake.deliver(running.url, {}, raw=body, mac=good.upper()).status_code == 200  # as received: extra spaces kept
    reply = wait_for(lambda: fake.sends("s1"))[0].body
    assert reply["recipient"]["message_id"] == "m-raw"


def test_redelivered_messages_are_answered_once_and_big_ids_stay_exact(running, fake):
    user = "8432198765432198765"  # beyond 2^53
    raw = ('{"app_id": "%s", "event_name": "user_send_text", "sender": {"id": %s}, '
           '"message": {"msg_id": "dup-1", "text": "/help"}, "timestamp": 1733000000123}' % (fake.app_id, user)).encode()
    mac = fake.sign(raw, "1733000000123")
    fake.followers.add(user)
    fake.interacted[user] = time.time()
    for _ in range(3):
        assert fake.deliver(running.url, {}, raw=raw, mac=mac).status_code == 200
    wait_for(lambda: fake.sends(user))
    time.sleep(0.3)
    assert len(fake.sends(user)) == 1 and "Cách dùng" in fake.texts(user)[0]


def test_the_webhook_answers_at_once_while_the_reply_is_slow(running, fake):
    fake.delay = 1.5
    started = time.monotonic()
    assert fake.deliver(running.url, fake.text("slow", "/help")).status_code == 200
    assert time.monotonic() - started < 0.5
    wait_for(lambda: fake.sends("slow"), timeout=10)


def test_long_texts_are_split_cleanly_and_a_rate_limit_is_retried(running, fake):
    ask(fake, running, "xin chào", user="u5")
    paragraph = "Phong trào Bình dân học vụ số giúp mọi người dân dùng dịch vụ công trực tuyến. " * 12
    long_text = "\n\n".join([paragraph] * 5)
    fake.fail(-32)
    start = len(fake.sends("u5"))
    assert running.call(running.channel.send("u5", long_text)) is True
    pieces = fake.texts("u5")[start:]
    assert len(pieces) >= 3 and all(1 <= len(p) <= MAX_TEXT for p in pieces) and all(p.endswith(".") for p in pieces)
    assert " ".join(pieces).split() == long_text.split()
    assert [c.answer["error"] for c in fake.calls if c.path.endswith("/cs")][-len(pieces) - 1] == -32


def test_parse_event_reads_every_kind():
    what, msg, user = parse_event({"event_name": "user_send_text", "sender": {"id": "1"},
                                   "message": {"msg_id": "m", "text": "/dangky dak bla"}})
    assert (what, msg.kind, msg.command, msg.text, msg.message_id) == ("message", "command", "dangky", "dak bla", "m")
    assert parse_event({"event_name": "user_send_text", "sender": {"id": "1"},
                        "message": {"msg_id": "m", "text": BUTTON_PREFIX + "fb:1:2"}})[1].data == "fb:1:2"
    assert parse_event({"event_name": "unfollow", "follower": {"id": "9"}}) == ("unfollow", None, "9")
    assert parse_event({"event_name": "user_send_sticker", "sender": {"id": "1"}, "message": {}})[1].kind == "other"
    assert parse_event([1, 2])[0] == "not an object" and parse_event({})[0] == "no event_name"


# -- tokens -------------------------------------------------------------------------------------------


def stored(db: Database, fake: FakeOa) -> ChannelToken:
    with db.session() as s:
        return s.get(ChannelToken, ("zalo_oa", fake.app_id))


def test_tokens_refresh_on_216_rotate_and_survive_a_restart(service, fake, db, caplog):
    running = Running(make_channel(service, fake))
    try:
        ask(fake, running, "/help", user="t1")
        # the first pair from the settings has no known expiry: refreshed at first use, stored before use
        assert len(fake.refreshes()) == 1 and fake.refresh_tokens[fake.first_refresh] is True
        first = stored(db, fake)
        assert first.refresh_token in fake.refresh_tokens and fake.refresh_tokens[first.refresh_token] is False
        assert fake.sends("t1")[0].headers["access_token"] == first.access_token
        form = fake.refreshes()[0]
        assert form.body == {"app_id": fake.app_id, "grant_type": "refresh_token", "refresh_token": fake.first_refresh}
        assert form.headers["secret_key"] == fake.app_secret
        fake.revoke(first.access_token)  # the OA now refuses it: -216
        assert "Cách dùng" in ask(fake, running, "/help", user="t1")["message"]["text"]
        second = stored(db, fake)
        assert second.refresh_token != first.refresh_token and fake.refresh_tokens[first.refresh_token] is True
        assert [c.answer["error"] for c in fake.calls if c.path.endswith("/cs")][-2:] == [-216, 0]
    finally:
        running.close()
    # a restart with the same settings (the first, used-up pair) reads the stored pair and refreshes nothing
    running = Running(make_channel(service, fake))
    try:
        ask(fake, running, "/help", user="t1")
        assert len(fake.refreshes()) == 2 and fake.sends("t1")[-1].headers["access_token"] == second.access_token
        fake.revoke(second.access_token)
        ask(fake, running, "/help", user="t1")  # rotates again, from the stored refresh token
        assert len(fake.refreshes()) == 3 and fake.refreshes()[-1].body["refresh_token"] == second.refresh_token
        assert all(c.answer.get("access_token") for c in fake.refreshes())  # never the used-up one again
    finally:
        running.close()


def test_a_failed_refresh_is_logged_and_the_stored_pair_kept(service, fake, db, caplog):
    caplog.set_level(logging.INFO)
    running = Running(make_channel(service, fake))
    try:
        ask(fake, running, "/help", user="t2")
        before = stored(db, fake)
        fake.refresh_answer = {"error": -14014, "error_name": "Invalid refresh token",
                               "error_description": "Refresh token is invalid"}
        fake.revoke(before.access_token)
        fake.deliver(running.url, fake.text("t2", "/help"))
        wait_for(lambda: len(fake.refreshes()) == 2)
        time.sleep(0.3)
        after = stored(db, fake)
        assert (after.access_token, after.refresh_token) == (before.access_token, before.refresh_token)
        assert after.last_error.startswith("Invalid refresh token") and after.failed_at is not None
        assert "refreshing the access token failed (Invalid refresh token: Refresh token is invalid)" in caplog.text
        fake.deliver(running.url, fake.text("t2", "/help"))  # within a minute: not tried again
        time.sleep(0.5)
        assert len(fake.refreshes()) == 2
        running.channel._report()
        assert health.snapshot()["zalo_oa"]["last_refresh_error"].startswith("Invalid refresh token")
    finally:
        running.close()


def test_the_token_is_refreshed_before_it_expires(service, fake, db):
    fake.expires_in = 4  # seconds: refreshed at half its life, without any refused call
    channel = make_channel(service, fake)
    channel.check_every = 0.2
    running = Running(channel)
    try:
        wait_for(lambda: len(fake.refreshes()) >= 3, timeout=15)
        assert all(c.answer["error"] == 0 for c in fake.calls if c.path.endswith("/cs"))
        assert stored(db, fake).access_token == fake.refreshes()[-1].answer["access_token"]
    finally:
        running.close()


def refresh_together(fake: FakeOa, url: str) -> None:
    """Three workers (each its own Database) refresh the same stale token at once: one refresh at the OA."""
    workers = [Database(url) for _ in range(3)]
    stores = [TokenStore(w, fake.app_id, fake.app_secret, fake.oauth_url, fake.first_access, fake.first_refresh,
                         httpx.Client(timeout=10)) for w in workers]
    start = stores[0].access()  # seeds and refreshes once
    assert len(fake.refreshes()) == 1
    got: list[str] = []
    threads = [threading.Thread(target=lambda st=st: got.append(st.refresh(stale=start))) for st in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert len(fake.refreshes()) == 2  # one refreshed, the others waited and found the new pair
    assert len(set(got)) == 1 and got[0] != start and got[0] in fake.access
    for w in workers:
        w.engine.dispose()


def test_one_refresh_at_a_time_across_workers_on_sqlite(fake, tmp_path):
    refresh_together(fake, f"sqlite:///{tmp_path / 'shared.db'}")


def test_one_refresh_at_a_time_across_workers_on_postgresql(fake):
    from tests.pg import fresh_database

    with fresh_database("zalooa_tokens") as url:
        refresh_together(fake, url)


def test_missing_settings_are_named(service, fake):
    with pytest.raises(ValueError, match="ZALO_OA_SECRET_KEY"):
        Channel(service, Settings(_env_file=None, **fake.settings(zalo_oa_secret_key="")))


def test_python_m_bot_run_channel_zalo_oa_serves_the_webhook_and_reports_in_healthz(tmp_path, fake, small_kb, small_index):
    from tests.test_run import bot_env
    from tests.web_server import free_port

    port = free_port()
    env = bot_env(tmp_path, WEB_PORT=str(port), KNOWLEDGE_DIR=str(small_kb), INDEX_DIR=str(small_index),
                  SCHEDULER_ENABLED="false", **{k.upper(): v for k, v in fake.settings().items()})
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "--channel", "zalo_oa"], cwd=tmp_path, env=env,
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    lines: list[str] = []
    threading.Thread(target=lambda: [lines.append(line) for line in proc.stderr], daemon=True).start()
    try:
        wait_for(lambda: any("web chat: http://127.0.0.1" in line for line in lines), timeout=120, what="for the web server")
        assert any("running channels: web, zalo_oa" in line for line in lines)  # the webhook brought the web server
        url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
        assert fake.deliver(url, fake.text("p1", "/help")).status_code == 200
        assert "Cách dùng" in wait_for(lambda: fake.texts("p1"), timeout=30)[0]
        report = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10).json()
        assert report["status"] == "ok" and report["channels"]["zalo_oa"]["token"] == "valid"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        proc.wait()
    assert not any("Traceback" in line for line in lines)
    assert not any(token in line for line in lines for token in (*fake.access, *fake.refresh_tokens))
