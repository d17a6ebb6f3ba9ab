"""The Telegram channel end to end: the real python-telegram-bot Application against a fake Bot API
server on 127.0.0.1, the real ConversationService on SQLite and the small engine."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
import pytest
import uvicorn
from sqlalchemy import select
from starlette.applications import Starlette

from bot import messages
from bot.areas import load_areas
from bot.channels.telegram import Channel, split_text
from bot.config import Settings
from bot.conversation.service import ConversationService
from bot.chat.types import Button, OutgoingMessage
from bot.knowledge.models import QuizQuestion
from bot.storage.db import Database
from bot.storage.models import Conversation, Escalation, QuizAnswer, QuizPoll, Subscription, User
from tests.conftest import KNOWLEDGE
from tests.fake_telegram import BOT, FakeTelegram

QUIZ = [
    QuizQuestion("quiz-t-01", "vneid", "easy", "Tài khoản định danh mức 2 đăng ký ở đâu?",
                 ("Ở chợ", "Ở cơ quan Công an", "Ở trường học", "Ở nhà văn hóa"), 1,
                 "Mức 2 đăng ký tại cơ quan Công an khi làm căn cước.", "NĐ 69/2024", "2026-11-23"),
]
SECRET = "s3cret-token_ABC"
MUC_2 = "Kích hoạt tài khoản định danh điện tử mức 2 ở đâu?"
STICKER = {"file_id": "CAAD", "file_unique_id": "AQAD", "type": "regular", "width": 512, "height": 512,
           "is_animated": False, "is_video": False}
PHOTO = [{"file_id": "AgAC", "file_unique_id": "AQAE", "width": 90, "height": 90}]


class BotThread:
    """Runs `channel.run(stop)` (and optionally a Starlette app on uvicorn) in its own event loop."""

    def __init__(self, channel: Channel, app: Starlette | None = None) -> None:
        self.channel, self.app = channel, app
        self.loop = asyncio.new_event_loop()
        self.stop = asyncio.Event()
        self.server: uvicorn.Server | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        try:
            self.loop.run_until_complete(self._serve())
        except BaseException as e:  # reported by stop()
            self.error = e

    async def _serve(self) -> None:
        tasks = [self.channel.run(self.stop)]
        if self.app is not None:
            self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=0, log_level="warning"))
            tasks.append(self.server.serve())
        await asyncio.gather(*tasks)

    def start(self) -> BotThread:
        self.thread.start()
        return self

    @property
    def web_url(self) -> str:
        deadline = time.monotonic() + 15
        while not (self.server and self.server.started):
            assert time.monotonic() < deadline and self.thread.is_alive(), self.error
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.server.servers[0].sockets[0].getsockname()[1]}"

    def call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def close(self) -> None:
        def shut() -> None:
            self.stop.set()
            if self.server:
                self.server.should_exit = True

        self.loop.call_soon_threadsafe(shut)
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "the channel did not stop"
        assert self.error is None, self.error


def scalar(db: Database, statement):
    with db.session() as s:
        return s.scalar(statement)


def eventually(check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


@pytest.fixture
def fake():
    server = FakeTelegram().start()
    yield server
    server.close()


@pytest.fixture
def service(small_engine, db):
    return ConversationService(small_engine, db, QUIZ, load_areas(KNOWLEDGE / "areas.yaml"))


def settings(fake: FakeTelegram, **kw) -> Settings:
    return Settings(telegram_bot_token=fake.token, telegram_api_base_url=fake.url, **kw)


@pytest.fixture
def bot(fake, service):
    runner = BotThread(Channel(service, settings(fake))).start()
    yield runner
    runner.close()


def ask(fake: FakeTelegram, user: int, text: str, count: int = 1, **kw) -> list[dict]:
    """Send `text` as `user` and return the params of the first `count` messages the bot sent to that chat."""
    chat = kw.get("chat", user)
    before = len(fake.calls_of("sendMessage", chat))
    fake.inject(fake.message(user, text, **kw))
    return [c.params for c in fake.wait_calls("sendMessage", before + count, chat)[before:before + count]]


def press(fake: FakeTelegram, user: int, data: str) -> dict:
    before = len(fake.calls_of("sendMessage", user))
    fake.inject(fake.callback(user, data))
    return fake.wait_calls("sendMessage", before + 1, user)[before].params


def button_data(params: dict) -> list[str]:
    return [b.get("callback_data", "") for row in params["reply_markup"]["inline_keyboard"] for b in row]


def test_question_with_and_without_diacritics_gets_cited_answer_with_buttons(fake, bot, db):
    for user, text in ((101, "Kích hoạt tài khoản định danh mức 2 ở đâu?"), (102, "kich hoat vneid muc 2 o dau")):
        (reply,) = ask(fake, user, text)
        assert "Công an" in reply["text"] and "Nguồn: Nghị định 69/2024/NĐ-CP" in reply["text"]
        assert "parse_mode" not in reply  # plain text: nothing a user typed can become markup
        labels = [b["text"] for row in reply["reply_markup"]["inline_keyboard"] for b in row]
        assert {messages.BUTTON_LIKE, messages.BUTTON_DISLIKE, messages.BUTTON_ESCALATE} <= set(labels)
        data = button_data(reply)
        assert any(d.startswith("rq:") for d in data)  # related questions
        assert all(0 < len(d.encode()) <= 64 for d in data)
    (reply,) = ask(fake, 101, "/start")
    assert reply["text"].startswith("Xin chào Lan!")
    with db.session() as s:
        assert s.scalars(select(Conversation.chunk_id)).all() == ["faq:vneid-kich-hoat-muc-2"] * 2


def test_dislike_is_recorded_and_escalation_by_button_and_command(fake, bot, db):
    (answer,) = ask(fake, 201, "quét mã qr trả tiền ntn")
    dislike = next(d for d in button_data(answer) if d.endswith(":-1"))
    sorry = press(fake, 201, dislike)
    assert sorry["text"] == messages.FEEDBACK_SORRY
    fake.wait_calls("answerCallbackQuery", 1)
    escalate = next(d for d in button_data(sorry) if d.startswith("esc:"))
    where = press(fake, 201, escalate)  # the area first, as buttons
    assert where["text"] == messages.ESCALATE_WHICH_AREA and "ea:lai-chau" in button_data(where)
    ack = press(fake, 201, "ea:lai-chau")
    assert "Tổ công nghệ số cộng đồng" in ack["text"] and "#" in ack["text"]
    (direct,) = ask(fake, 201, "/human tôi bị khóa tài khoản ngân hàng")
    assert "#" in direct["text"]
    (alias,) = ask(fake, 201, "/canbo@bdhvs_test_bot")
    assert alias["text"] == messages.ESCALATE_ASK
    assert len(fake.calls_of("answerCallbackQuery")) == 3  # every button press is answered
    with db.session() as s:
        assert s.scalars(select(Conversation.feedback)).one() == -1
        assert sorted(e.question for e in s.scalars(select(Escalation))) == [
            "quét mã qr trả tiền ntn", "tôi bị khóa tài khoản ngân hàng"]


def test_subscribe_all_and_area_then_unsubscribe(fake, bot, db):
    (all_,) = ask(fake, 301, "/subscribe all")
    assert all_["text"] == messages.SUBSCRIBED.format(area="toàn quốc")
    (area,) = ask(fake, 301, "/dangky Lai Châu")
    assert "Lai Châu" in area["text"]
    (unknown,) = ask(fake, 301, "/subscribe Atlantis")
    assert "Atlantis" in unknown["text"] and any(d.startswith("sub:") for d in button_data(unknown))
    with db.session() as s:
        assert sorted(s.scalars(select(Subscription.area))) == ["all", "lai-chau"]
    (done,) = ask(fake, 301, "/unsubscribe")
    assert done["text"] == messages.UNSUBSCRIBED
    with db.session() as s:
        assert s.scalars(select(Subscription)).all() == []


def test_quiz_is_a_native_poll_and_its_answer_counts(fake, bot, db):
    before = len(fake.calls_of("sendPoll"))
    fake.inject(fake.message(401, "/quiz"))
    (call,) = fake.wait_calls("sendPoll", before + 1)[before:]
    poll = call.params
    assert poll["type"] == "quiz" and poll["is_anonymous"] == "false" and poll["correct_option_ids"] == [1]
    assert poll["question"] == QUIZ[0].question
    assert [o["text"] for o in poll["options"]] == list(QUIZ[0].options)
    assert poll["explanation"] == QUIZ[0].explanation
    poll_id = eventually(lambda: scalar(db, select(QuizPoll.poll_id).where(QuizPoll.poll_id.is_not(None))))
    assert poll_id.startswith("poll-")
    fake.inject(fake.poll_answer(401, poll_id, 1))
    answer = eventually(lambda: scalar(db, select(QuizAnswer)))
    assert answer.correct and answer.choice == 1
    (score,) = ask(fake, 401, "/diem")
    assert score["text"] == messages.SCORE.format(right=1, total=1)


def test_group_answers_only_mentions_and_replies_to_the_bot(fake, bot, db):
    group = -100777
    fake.inject(fake.message(501, "kich hoat vneid muc 2 o dau", chat=group, chat_type="supergroup"))
    fake.inject(fake.message(501, "/start@other_bot", chat=group, chat_type="supergroup"))
    (reply,) = ask(fake, 501, "@bdhvs_test_bot thanh toán bằng mã QR như thế nào?", chat=group, chat_type="supergroup")
    assert "mã QR" in reply["text"]
    assert reply["reply_parameters"]["allow_sending_without_reply"] is True  # quotes the asker in a group
    (again,) = ask(fake, 502, "còn công an gọi đòi chuyển tiền thì sao", chat=group, chat_type="supergroup",
                   reply_to_bot=True)
    assert "chuyển tiền" in again["text"]
    assert len(fake.calls_of("sendMessage", group)) == 2
    with db.session() as s:
        questions = s.scalars(select(Conversation.question)).all()
    assert questions == ["thanh toán bằng mã QR như thế nào?", "còn công an gọi đòi chuyển tiền thì sao"]


def test_webhook_needs_a_valid_secret(fake, service):
    for secret in ("", "có dấu", "x" * 257):
        with pytest.raises(ValueError, match="TELEGRAM_SECRET_TOKEN"):
            Channel(service, settings(fake, telegram_webhook_url="https://bot.example.vn/tg",
                                      telegram_secret_token=secret))


def test_webhook_checks_the_secret_and_feeds_updates(fake, service, db):
    channel = Channel(service, settings(fake, telegram_webhook_url="https://bot.example.vn/telegram/webhook",
                                        telegram_secret_token=SECRET))
    runner = BotThread(channel, Starlette(routes=channel.routes())).start()
    try:
        url = runner.web_url + "/telegram/webhook"
        fake.wait_for(lambda: fake.webhook)
        assert fake.webhook == {"url": "https://bot.example.vn/telegram/webhook", "secret_token": SECRET}
        update = {"update_id": fake.new_update_id(), **fake.message(601, "kich hoat vneid muc 2 o dau")}
        wrong = httpx.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "guess"})
        missing = httpx.post(url, json=update)
        assert wrong.status_code == missing.status_code == 403
        for junk in (b"{not json", b"[]", b"null", b'{"update_id": 1, "message": "x"}', b"\xff"):
            assert httpx.post(url, content=junk, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}).status_code == 400
        ok = httpx.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
        assert ok.status_code == 200
        (reply,) = fake.wait_calls("sendMessage", 1, 601)
        assert "Công an" in reply.params["text"]
        with db.session() as s:
            assert len(s.scalars(select(Conversation)).all()) == 1  # the refused posts did nothing
    finally:
        runner.close()


@pytest.mark.parametrize("update, expected", [
    ({"text": ""}, messages.DECLINE_EMPTY),
    ({"text": "😀🙏🇻🇳"}, messages.DECLINE_EMPTY),
    ({"sticker": STICKER}, messages.NOT_TEXT),
    ({"photo": PHOTO, "caption": "ảnh giấy tờ"}, messages.NOT_TEXT),
    ({"text": "/xyz abc"}, messages.UNKNOWN_COMMAND.format(command="xyz")),
    # markup and control characters go; the entry is the one answered («Về câu hỏi») or offered (a button)
    ({"text": "<b>kich hoat</b> vneid <script>alert(1)</script> muc 2 o dau"}, MUC_2),
    ({"text": "kich\x00 hoat\x07 vneid\u200b muc 2\x1b o dau"}, MUC_2),
    ({"text": "Cho tôi hỏi về VNeID. " * 455}, ""),
])
def test_bad_input_gets_a_clear_reply(fake, bot, update, expected):
    user = 700
    body = fake.message(user)
    body["message"].update(update)
    fake.inject(body)
    (reply,) = fake.wait_calls("sendMessage", 1, user)
    assert "parse_mode" not in reply.params
    labels = [b["text"] for row in reply.params.get("reply_markup", {}).get("inline_keyboard", []) for b in row]
    assert expected in reply.params["text"] + "\n".join(labels) and 0 < len(reply.params["text"]) <= 4096


def test_long_text_is_split_cleanly_with_buttons_on_the_last_part(fake, bot):
    paragraph = "Bước {}: mở ứng dụng VNeID, chọn mục cần làm rồi làm theo hướng dẫn trên màn hình. 🙂\n"
    text = "".join(paragraph.format(i) for i in range(130))
    assert len(text) > 10_000
    rows = [[Button("👍", "fb:1:1"), Button("quá dài", "x" * 65)], [Button("Trang", url="https://dichvucong.gov.vn")]]
    assert bot.call(bot.channel.send("801", OutgoingMessage(text, rows)))
    parts = [c.params for c in fake.wait_calls("sendMessage", 3, 801)]
    assert len(parts) == 3
    assert all(len(p["text"].encode("utf-16-le")) // 2 <= 4096 for p in parts)
    assert all(p["text"].endswith("🙂") for p in parts)  # cut at line ends
    assert "\n".join(p["text"] for p in parts) == text.strip()
    assert "reply_markup" not in parts[0] and "reply_markup" not in parts[1]
    assert parts[2]["reply_markup"]["inline_keyboard"] == [
        [{"text": "👍", "callback_data": "fb:1:1"}], [{"text": "Trang", "url": "https://dichvucong.gov.vn"}]]


def test_split_text_without_breaks_and_with_wide_characters():
    assert split_text("ngắn") == ["ngắn"]
    assert [len(p) for p in split_text("a" * 10_000)] == [4096, 4096, 1808]
    emoji = split_text("😀" * 5000)  # 2 UTF-16 units each, as Telegram counts
    assert [len(p) for p in emoji] == [2048, 2048, 904]
    sentences = split_text("Câu một rất dài. " * 500)
    assert all(p.endswith(".") for p in sentences) and all(len(p) <= 4096 for p in sentences)


def test_blocked_user_is_marked_and_the_bot_keeps_running(fake, bot, db):
    fake.fail("sendMessage", 403)
    fake.inject(fake.message(901, "kich hoat vneid muc 2 o dau"))
    fake.wait_calls("sendMessage", 1, 901)
    eventually(lambda: scalar(db, select(User.blocked_bot).where(User.external_id == "901")))
    (reply,) = ask(fake, 902, "kich hoat vneid muc 2 o dau")
    assert "Công an" in reply["text"]
    assert scalar(db, select(User.blocked_bot).where(User.external_id == "902")) is False
    (back,) = ask(fake, 901, "/help")  # writing again means they unblocked the bot
    assert back["text"] == messages.HELP
    assert scalar(db, select(User.blocked_bot).where(User.external_id == "901")) is False


def test_flood_control_and_server_errors_are_retried(fake, bot):
    fake.fail("sendMessage", 429, retry_after=1)
    first, second = ask(fake, 1001, "kich hoat vneid muc 2 o dau", count=2)
    assert first == second and "Công an" in second["text"]
    refused, delivered = fake.calls_of("sendMessage", 1001)
    assert delivered.at - refused.at >= 0.95  # waited the retry_after
    fake.fail("sendMessage", 500)
    again = ask(fake, 1002, "thanh toan qr the nao", count=2)
    assert again[0] == again[1] and "mã QR" in again[1]["text"]


def test_bot_identity_comes_from_get_me(fake, bot):
    fake.wait_calls("deleteWebhook")  # polling starts after getMe has been answered
    assert bot.channel.application.bot.username == BOT["username"]
    assert fake.calls_of("deleteWebhook")  # polling mode clears any webhook first, keeping pending updates
    assert fake.calls_of("deleteWebhook")[0].params.get("drop_pending_updates") in (None, "false")


def test_one_chat_gets_at_most_one_message_a_second_after_a_short_burst(fake, bot):
    async def five():
        await asyncio.gather(*(bot.channel.send("1101", OutgoingMessage(f"tin {i}")) for i in range(5)))

    bot.call(five())
    times = [c.at for c in fake.wait_calls("sendMessage", 5, 1101)]
    assert times[2] - times[0] < 0.5  # a burst of 3 goes at once
    assert times[3] - times[0] >= 0.9 and times[4] - times[3] >= 0.9
