"""A whole contest round on Telegram (the real python-telegram-bot against the fake Bot API: native quiz
polls whose open period is the time left) and on Zalo (the real channel against the fake Zalo API:
numbered options, typed answers)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from bot import messages
from bot.channels.telegram import Channel as TelegramChannel
from bot.contests.models import ContestEntry
from bot.storage.models import QuizPoll
from tests.contest_data import RIGHT, Clock, add_contest, make_service
from tests.fake_telegram import FakeTelegram
from tests.fake_zalo import FakeZalo
from tests.test_telegram import BotThread, eventually, scalar, settings as telegram_settings
from tests.test_zalo import TOKEN as ZALO_TOKEN, Running, make_channel as zalo_channel


@pytest.fixture
def clock():
    return Clock(dt.datetime.now(dt.timezone.utc))


@pytest.fixture
def service(small_engine, db, clock):
    return make_service(small_engine, db, clock)  # the default flood limit: answering is not limited by it


# -- Telegram ------------------------------------------------------------------------------------------


@pytest.fixture
def telegram():
    server = FakeTelegram().start()
    yield server
    server.close()


def test_a_whole_round_on_telegram_with_native_quiz_polls(telegram, service, db, clock):
    fake = telegram
    add_contest(service, questions=3, seconds=60)
    runner = BotThread(TelegramChannel(service, telegram_settings(fake))).start()
    try:
        def said(user: int, text: str) -> dict:
            before = len(fake.calls_of("sendMessage", user))
            fake.inject(fake.message(user, text))
            return fake.wait_calls("sendMessage", before + 1, user)[before].params

        def press(user: int, data: str) -> dict:
            before = len(fake.calls_of("sendMessage", user))
            fake.inject(fake.callback(user, data))
            return fake.wait_calls("sendMessage", before + 1, user)[before].params

        def buttons(params: dict) -> dict[str, str]:
            return {b["text"]: b["callback_data"] for row in params["reply_markup"]["inline_keyboard"] for b in row}

        rules = said(901, "/thi")
        assert rules["text"].count("\n") == 2 and list(buttons(rules)) == ["Bắt đầu"]
        ask_name = press(901, buttons(rules)["Bắt đầu"])
        assert buttons(ask_name) == {"Dùng tên «Lan»": buttons(ask_name)["Dùng tên «Lan»"]}  # the Telegram name, one tap
        ask_area = press(901, buttons(ask_name)["Dùng tên «Lan»"])
        ask_phone = press(901, buttons(ask_area)["tỉnh Lai Châu"])
        ask_prediction = press(901, buttons(ask_phone)["Bỏ qua"])
        assert ask_prediction["text"].startswith("Bước 4/4. Dự đoán có bao nhiêu người trả lời đúng tất cả?")
        go = said(901, "2")
        assert go["text"].startswith("Bắt đầu tính giờ")
        for n in range(3):
            (poll,) = fake.wait_calls("sendPoll", n + 1)[n:]
            params = poll.params
            assert params["type"] == "quiz" and params["is_anonymous"] == "false"
            assert params["question"].startswith(f"Câu {n + 1}/3: ")
            assert 0 < int(params["open_period"]) <= 60 - 20 * n  # the poll closes when the attempt's time is up
            options = [o["text"] for o in params["options"]]
            right = options.index(RIGHT[params["question"].split(": ", 1)[1]])
            assert params["correct_option_ids"] == [right]
            poll_id = eventually(lambda: scalar(db, select(QuizPoll.poll_id).where(
                QuizPoll.quiz_id.like(f"contest:%:{n}"), QuizPoll.poll_id != "")))  # the platform's id, once sent
            clock.tick(20 if n < 2 else 5)
            fake.inject(fake.poll_answer(901, poll_id, right if n != 1 else (right + 1) % 4))
        result = fake.wait_for(lambda: [c for c in fake.calls_of("sendMessage", 901) if "Bác trả lời đúng" in c.params["text"]])
        assert "Bác trả lời đúng 2/3 trong 45 giây" in result[0].params["text"]
        fake.inject(fake.poll_answer(901, poll_id, 0))  # a vote changed or redelivered: nothing more is counted
        again = said(901, "/contest")
        assert again["text"].startswith("Bác đã thi vòng này rồi")
    finally:
        runner.close()
    with db.session() as s:
        entry = s.scalars(select(ContestEntry)).one()
        assert (entry.channel, entry.display_name, entry.area, entry.correct, entry.seconds, entry.phone) == (
            "telegram", "Lan", "lai-chau", 2, 45, None)


# -- Zalo ------------------------------------------------------------------------------------------------


def test_a_whole_round_on_zalo_with_numbered_options(service, db, clock):
    fake = FakeZalo(ZALO_TOKEN, max_wait=0.2)
    running = Running(zalo_channel(service, fake.url))
    add_contest(service, questions=3, seconds=90)
    try:
        def ask(text: str, count: int = 1) -> list[str]:
            before = len(fake.sent("z1"))
            fake.inject(fake.message(text, user="z1"))
            return fake.wait_for(lambda: (got := fake.sent("z1")[before:]) and len(got) >= count and got)[:count]

        (rules,) = ask("/thi")
        assert "\n1. Bắt đầu" in rules and messages.CHOICE_PROMPT in rules
        (ask_name,) = ask("1")
        assert "1. Dùng tên «Bác Ba»" in ask_name
        (ask_area,) = ask("Bác Ba Đắk Bla")
        assert "phường Đắk Bla (Quảng Ngãi)" in ask_area
        (ask_phone,) = ask("dak bla")  # a typed name, without diacritics
        assert "1. Bỏ qua" in ask_phone
        (ask_prediction,) = ask("0905 123 456")
        assert "Dự đoán có bao nhiêu người trả lời đúng tất cả?" in ask_prediction
        go, question = ask("12", count=2)
        for n in range(3):
            assert f"Câu {n + 1}/3: " in question and "⏱ Còn" in question and messages.CHOICE_PROMPT in question
            text = question.split("Câu ", 1)[1].split("\n")[0].split(": ", 1)[1]
            options = dict(re.findall(r"^(\d)\. (.+)$", question, re.M))
            right = next(k for k, v in options.items() if v == RIGHT[text])
            clock.tick(10)
            (question,) = ask(right)
        assert "Bác trả lời đúng 3/3 trong 30 giây" in question and "Xếp hạng hiện tại của bác: 1 trên 1" in question
    finally:
        running.close()
        fake.close()
    with db.session() as s:
        entry = s.scalars(select(ContestEntry)).one()
        assert (entry.channel, entry.area, entry.phone, entry.prediction) == ("zalo", "quang-ngai/dak-bla", "0905123456", 12)
