"""The Zalo channel end to end: the real channel and ConversationService against a fake Zalo Bot API server."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading

import httpx
import pytest
import uvicorn
from sqlalchemy import select
from starlette.applications import Starlette

from bot import messages
from bot.areas import load_areas
from bot.channels import health
from bot.channels.zalo import MAX_TEXT, Channel, split_text
from bot.chat.types import OutgoingMessage
from bot.config import Settings
from bot.conversation.service import ConversationService
from bot.knowledge.models import QuizQuestion
from bot.storage.models import Chat, Conversation, QuizAnswer, User
from tests.conftest import KNOWLEDGE
from tests.fake_zalo import FakeZalo, wait_for

TOKEN = "1459232241454765289:SeCrEt-ToKeN-zalo"
SECRET = "webhook-secret-123"
QUIZ = [QuizQuestion("quiz-z-01", "vneid", "easy", "Mức 2 kích hoạt ở đâu?",
                     ("Ở chợ", "Ở công an", "Ở trường", "Ở nhà"),
                     1, "Mức 2 làm tại công an.", "NĐ 69/2024", "2026-11-23")]


class Running:
    """A channel's `run` (and, for a webhook, a uvicorn server with its routes) on an event loop in a thread."""

    def __init__(self, channel: Channel, sock: socket.socket | None = None) -> None:
        self.channel = channel
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.stop = asyncio.Event()
        self.server = None
        if sock is not None:
            config = uvicorn.Config(Starlette(routes=channel.routes()), log_level="warning", lifespan="off")
            self.server = uvicorn.Server(config)
            self.served = asyncio.run_coroutine_threadsafe(self.server.serve(sockets=[sock]), self.loop)
        self.task = asyncio.run_coroutine_threadsafe(channel.run(self.stop), self.loop)

    def call(self, coro, timeout: float = 20.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.task.result(timeout=20)  # run() returns promptly on stop, and without an error
        if self.server:
            self.server.should_exit = True
            self.served.result(timeout=20)
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture
def fake():
    server = FakeZalo(TOKEN, max_wait=0.2)
    yield server
    server.close()


@pytest.fixture
def service(small_engine, db):
    return ConversationService(small_engine, db, QUIZ, load_areas(KNOWLEDGE / "areas.yaml"), flood_limit=100)


def make_channel(service, base_url: str, **settings) -> Channel:
    settings = dict(zalo_bot_token=TOKEN, zalo_api_base_url=f"{base_url}/bot", zalo_rate_per_sec=3.0) | settings
    channel = Channel(service, Settings(_env_file=None, **settings))
    channel.poll_timeout = 5  # the fake answers after 0.2 s at most
    channel.backoff_initial, channel.backoff_max = 0.05, 0.4
    return channel


@pytest.fixture
def polling(service, fake, caplog):
    caplog.set_level(logging.DEBUG)
    running = Running(make_channel(service, fake.url))
    yield running
    running.close()
    assert TOKEN not in caplog.text and TOKEN.split(":")[1] not in caplog.text


def ask(fake: FakeZalo, text: str, user: str = "u1") -> str:
    """Send a text as `user` and return the next reply to that chat."""
    before = len(fake.sent(user))
    fake.inject(fake.message(text, user=user))
    return fake.wait_for(lambda: fake.sent(user)[before:])[0]


def test_question_without_diacritics_gets_a_cited_answer_and_numbered_follow_ups(polling, fake, db):
    answer = ask(fake, "kich hoat vneid muc 2 o dau")
    assert "công an" in answer.lower() and "Nguồn: Nghị định 69/2024/NĐ-CP" in answer
    assert "\n1. 👍" in answer and "Gõ số để chọn" in answer
    assert fake.of("sendChatAction")[0].params == {"chat_id": "u1", "action": "typing"}
    assert fake.of("deleteWebhook")  # polling starts by removing any webhook
    assert messages.FEEDBACK_THANKS in ask(fake, "1")
    with db.session() as s:
        log = s.scalars(select(Conversation)).one()
        assert log.chunk_id == "faq:vneid-kich-hoat-muc-2" and log.feedback == 1 and log.channel == "zalo"
        assert s.scalars(select(User)).one().display_name == "Bác Ba"


def test_quiz_by_letter_is_scored_and_commands_take_arguments(polling, fake, db):
    question = ask(fake, "/quiz")
    assert "\nB. Ở công an" in question and "Gõ chữ cái" in question
    assert ask(fake, "b").startswith("✅")
    assert "1/1" in ask(fake, "/diem")
    assert "Đắk Bla" in ask(fake, "/dangky   dak bla")
    with db.session() as s:
        assert s.scalars(select(QuizAnswer)).one().correct is True


def test_redelivered_update_is_answered_once(polling, fake):
    update = fake.message("thanh toan qr the nao", user="u2")
    fake.inject(update)
    fake.inject(update)
    fake.inject(fake.message("/help", user="u2"))
    fake.wait_for(lambda: any("Cách dùng" in t for t in fake.sent("u2")))
    assert len(fake.sent("u2")) == 2


def test_protected_account_gets_the_short_reply_and_nothing_is_stored_or_logged(polling, fake, db, caplog):
    update = fake.message(user="child-4242", name="Bé Na Nguyễn", event="message.unsupported.received")
    fake.inject(update)
    assert fake.wait_for(lambda: fake.sent("child-4242")) == [messages.UNSUPPORTED_ACCOUNT]
    with db.session() as s:  # no user or chat row: no campaign can ever reach the account
        assert s.scalars(select(User)).all() == [] and s.scalars(select(Chat)).all() == []
    assert "child-4242" not in caplog.text and "Bé Na" not in caplog.text


BAD_INPUTS = ["", " ", "😀" * 50, "<script>alert(1)</script>", "\x00\x07", "x" * 10_000, "/xyz", "/"]


@pytest.mark.parametrize("text", BAD_INPUTS, ids=["empty", "space", "emoji", "html", "control", "10k", "unknown", "slash"])
def test_bad_input_gets_a_reply_never_an_error(polling, fake, text, caplog):
    reply = ask(fake, text, user="bad")
    assert reply and all(c.ok for c in fake.calls if c.method.startswith("send"))
    assert "Traceback" not in caplog.text


def test_photos_stickers_and_malformed_updates(polling, fake):
    fake.inject(fake.message(user="u3", event="message.image.received"))
    assert fake.wait_for(lambda: fake.sent("u3")) == [messages.NOT_TEXT]
    fake.inject(fake.message(user="u3", event="message.sticker.received"))
    fake.wait_for(lambda: len(fake.sent("u3")) == 2)
    for junk in ({"event_name": "message.text.received"}, {"event_name": "user.joined", "message": {}},
                 {"event_name": "message.text.received", "message": {"from": {}, "text": "hi"}},
                 "not an update", [1, 2]):
        fake.inject(junk)
    assert "Cách dùng" in ask(fake, "/help", user="u3")  # still polling, still answering


def test_updates_without_event_name_are_read_from_the_message_and_the_rest_counted(polling, fake):
    update = fake.message("/help", user="u4")
    del update["event_name"]
    fake.inject(update)
    assert "Cách dùng" in fake.wait_for(lambda: fake.sent("u4"))[0]
    photo = fake.message(user="u4", event="message.image.received")
    del photo["event_name"]
    photo["message"]["photo_url"] = "https://example.org/a.jpg"
    fake.inject(photo)
    assert fake.wait_for(lambda: fake.sent("u4")[1:]) == [messages.NOT_TEXT]
    bare = fake.message(user="u4", event="message.unsupported.received")  # neither text nor photo: not guessed
    del bare["event_name"]
    fake.inject(bare)
    fake.inject({"event_name": "user.joined", "message": {}})
    wait_for(lambda: sum(polling.channel.ignored.values()) == 2)
    assert polling.channel.ignored == {"no event_name": 1, "user.joined": 1}
    assert health.snapshot()["zalo"]["ignored"] == {"no event_name": 1, "user.joined": 1}
    assert len(fake.sent("u4")) == 2


def test_get_webhook_info_is_checked_at_start_and_shown_in_healthz(polling, fake):
    fake.wait_for(lambda: fake.of("getWebhookInfo"))
    assert fake.of("deleteWebhook")[0].at <= fake.of("getWebhookInfo")[0].at
    wait_for(lambda: health.snapshot().get("zalo", {}).get("webhook_info"))
    report = health.snapshot()["zalo"]
    assert report["mode"] == "long polling" and report["webhook_info"] == {"checked": True, "url": "", "matches": True}
    assert "zalo" not in health.problems()


def test_poll_timeouts_408_and_empty_results_keep_polling(polling, fake, caplog):
    fake.wait_for(lambda: len(fake.of("getUpdates")) >= 9, timeout=30)  # every idle answer style, twice
    assert "failed" not in caplog.text  # none of them counted as an error
    assert "Cách dùng" in ask(fake, "/help")
    assert not polling.task.done()


def test_server_errors_are_retried_with_backoff_without_crashing(polling, fake, caplog):
    fake.wait_for(lambda: fake.of("getUpdates"))
    fake.fail("getUpdates", 4, 500)
    fake.fail("sendMessage", 2, 502)
    fake.wait_for(lambda: sum(c.status == 500 for c in fake.of("getUpdates")) == 4)
    assert "Cách dùng" in ask(fake, "/help")  # sendMessage was retried too
    calls = fake.of("getUpdates")
    first = next(i for i, c in enumerate(calls) if c.status == 500)
    assert [c.status for c in calls[first:first + 4]] == [500] * 4 and calls[first + 4].status != 500
    gaps = [b.at - a.at for a, b in zip(calls[first:], calls[first + 1:first + 5])]
    # bot.backoff: retry n waits between half and all of 0.05 x 2^(n-1) s (jitter), so the waits grow
    assert all(gap >= 0.05 * 2**i * 0.5 * 0.9 for i, gap in enumerate(gaps)) and gaps[-1] > gaps[0], gaps
    assert caplog.text.count("getUpdates failed (getUpdates: error 500") == 4
    assert not polling.task.done()


def test_network_errors_back_off_and_stop_promptly(service, caplog):
    caplog.set_level(logging.DEBUG)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"  # nothing listens there once closed
    running = Running(make_channel(service, dead))
    wait_for(lambda: caplog.text.count("start failed (ConnectError)") >= 3)
    assert not running.task.done()
    running.close()
    assert TOKEN.split(":")[1] not in caplog.text


def test_long_messages_are_split_and_every_send_takes_from_the_channel_gate(polling, fake):
    """A team answer or notice (`push`) is cut at a break like a reply; every send of the channel, replies
    included, is paced by its one rate gate (3 a second here). Campaigns' push rule: tests/test_campaigns.py."""
    channel = polling.channel
    assert channel.gate.rate == pytest.approx(3.0)  # from the settings
    paragraph = "Phong trào Bình dân học vụ số giúp mọi người dân dùng dịch vụ công trực tuyến. " * 12
    long_text = "\n\n".join([paragraph] * 5)
    ask(fake, "/help", user="u5")
    start = len(fake.sent("u5"))
    assert polling.call(channel.push("u5", OutgoingMessage(long_text))) is True
    pieces = fake.sent("u5")[start:]
    assert len(pieces) >= 3 and all(1 <= len(p) <= MAX_TEXT for p in pieces)
    assert all(p.endswith(".") for p in pieces)  # cut at sentence ends, not mid-word
    assert " ".join(pieces).split() == long_text.split()
    assert polling.call(channel.send("u5", "Ảnh tuyên truyền", photo="https://example.org/a.png")) is True
    assert fake.of("sendPhoto")[-1].params["caption"] == "Ảnh tuyên truyền"
    sends = [c for c in fake.calls if c.method in ("sendMessage", "sendPhoto") and c.params["chat_id"] == "u5" and c.ok]
    paced = sends[-(len(pieces) + 1):]
    assert paced[-1].at - paced[0].at >= len(pieces) / 3 * 0.9  # one send per 1/3 s, all chats together


def test_webhook_rejects_a_wrong_secret_and_answers_a_right_one(service, fake):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/zalo/webhook"
    running = Running(make_channel(service, fake.url, zalo_webhook_url=url, zalo_secret_token=SECRET), sock)
    try:
        fake.wait_for(lambda: fake.webhook)
        assert fake.webhook == {"url": url, "secret_token": SECRET}
        update = fake.message("thanh toan qr the nao", user="w1")
        assert fake.deliver(update, secret="wrong-secret-123").status_code == 403
        assert fake.deliver(update, secret="").status_code == 403
        bad = httpx.post(url, content=b"{not json", headers={"X-Bot-Api-Secret-Token": SECRET}, timeout=10)
        assert bad.status_code == 400
        assert fake.deliver(update).status_code == 200
        answer = fake.wait_for(lambda: fake.sent("w1"))[0]
        assert "Nguồn" in answer and "\n1. 👍" in answer
        assert fake.deliver(fake.message("1", user="w1")).status_code == 200
        fake.wait_for(lambda: len(fake.sent("w1")) == 2)
        assert fake.sent("w1")[1] == messages.FEEDBACK_THANKS  # the rejected deliveries were never answered
        assert not fake.of("getUpdates")
        assert health.snapshot()["zalo"]["webhook_info"] == {"checked": True, "url": url, "matches": True}
        fake.webhook = {"url": "https://other.example/hook", "secret_token": SECRET}  # someone else changed it
        polling_check = running.call(running.channel._check_webhook())
        assert polling_check is None and "zalo" in health.problems()
    finally:
        running.close()


def test_webhook_needs_a_proper_secret(service, fake):
    with pytest.raises(ValueError, match="ZALO_SECRET_TOKEN"):
        make_channel(service, fake.url, zalo_webhook_url="https://example.org/zalo/webhook", zalo_secret_token="short")


def test_split_text_prefers_wide_boundaries_and_never_yields_empty_pieces():
    assert split_text("   \n ") == [] and split_text("chào") == ["chào"]
    lines = "\n".join(f"Dòng {i}: " + "chữ " * 30 for i in range(100))
    pieces = split_text(lines)
    assert all(len(p) <= MAX_TEXT for p in pieces) and all(p.startswith("Dòng") for p in pieces)
    assert [len(p) for p in split_text("x" * 4500)] == [2000, 2000, 500]
    assert all(len(p.encode("utf-16-le")) // 2 <= MAX_TEXT for p in split_text("😀" * 3000))
