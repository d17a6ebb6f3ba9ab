"""The conversation service on a real database (SQLite here; PostgreSQL too when reachable)."""

import itertools

import pytest
from sqlalchemy import select

from bot import messages
from bot.areas import load_areas
from bot.conversation.service import ConversationService
from bot.chat.types import IncomingMessage
from bot.knowledge.models import QuizQuestion
from bot.storage.db import Database
from bot.storage.models import Conversation, Escalation, QuizAnswer, Subscription, User
from tests.conftest import KNOWLEDGE
from tests.pg import fresh_database

QUIZ = [
    QuizQuestion("quiz-t-01", "vneid", "easy", "Mức 2 kích hoạt ở đâu?", ("Ở chợ", "Ở công an", "Ở trường", "Ở nhà"), 1, "Mức 2 làm tại công an.", "NĐ 69/2024", "2026-11-23"),
]
_ids = itertools.count(1)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    if request.param == "sqlite":
        yield Database(f"sqlite:///{tmp_path / 'bot.db'}")
        return
    with fresh_database("conversation") as url:  # a database of its own: other runs may share the server
        database = Database(url)
        yield database
        database.engine.dispose()


@pytest.fixture
def service(small_engine, db):
    return ConversationService(small_engine, db, QUIZ, load_areas(KNOWLEDGE / "areas.yaml"))


def msg(kind="text", text="", user="u1", chat=None, **kw):
    return IncomingMessage(channel=kw.pop("channel", "test"), user_id=user, chat_id=chat or user, kind=kind, text=text,
                           message_id=str(next(_ids)), **kw)


def test_question_gets_cited_answer_with_buttons_and_is_logged(service, db):
    (out,) = service.handle(msg(text="kich hoat vneid muc 2 o dau"))
    assert "công an" in out.text.lower() and "Nguồn: Nghị định 69/2024/NĐ-CP" in out.text
    data = [b.data for row in out.buttons for b in row]
    assert any(d.startswith("fb:") and d.endswith(":1") for d in data)
    assert any(d.startswith("esc:") for d in data)
    assert all(len(d.encode()) <= 64 for d in data)
    with db.session() as s:
        log = s.scalars(select(Conversation)).one()
        assert log.answered and log.chunk_id == "faq:vneid-kich-hoat-muc-2"


def test_feedback_and_escalation(service, db):
    (out,) = service.handle(msg(text="thanh toán qr thế nào"))
    dislike = next(b.data for row in out.buttons for b in row if b.data.endswith(":-1"))
    (reply,) = service.handle(msg(kind="button", data=dislike))
    assert "Cảm ơn" in reply.text
    escalate = next(b.data for row in reply.buttons for b in row if b.data.startswith("esc:"))
    (where,) = service.handle(msg(kind="button", data=escalate))  # the area is not known yet: asked once
    assert where.text == messages.ESCALATE_WHICH_AREA and "ea:dien-bien" in [b.data for r in where.buttons for b in r]
    (again,) = service.handle(msg(text="xã nào đó"))
    assert again.text == messages.ESCALATE_AREA_UNKNOWN.format(query="xã nào đó") and again.buttons
    (ack,) = service.handle(msg(text="dien bien"))  # typed without diacritics
    assert "Tổ công nghệ số cộng đồng" in ack.text and "#" in ack.text
    (direct,) = service.handle(msg(kind="command", command="canbo", text="tôi bị khóa tài khoản ngân hàng"))
    assert "#" in direct.text  # the area is remembered: not asked again
    with db.session() as s:
        assert s.scalars(select(Conversation)).one().feedback == -1
        assert [(e.question, e.area) for e in s.scalars(select(Escalation).order_by(Escalation.id))] == [
            ("thanh toán qr thế nào", "dien-bien"), ("tôi bị khóa tài khoản ngân hàng", "dien-bien")]


def test_an_escalation_naming_its_commune_goes_there_and_unknown_is_a_choice(service, db):
    (ack,) = service.handle(msg(kind="command", command="canbo", text="ở phường Dak Bla làm căn cước ở đâu", user="u-a"))
    assert "#" in ack.text
    (where,) = service.handle(msg(kind="command", command="canbo", text="làm căn cước ở đâu", user="u-b"))
    assert where.text == messages.ESCALATE_WHICH_AREA
    (ack,) = service.handle(msg(kind="button", data="ea:-", user="u-b"))
    assert "#" in ack.text
    (where,) = service.handle(msg(kind="command", command="canbo", text="hỏi nữa", user="u-c"))
    (cancelled,) = service.handle(msg(kind="command", command="huy", user="u-c"))
    assert cancelled.text == messages.ADDFAQ_CANCELLED
    with db.session() as s:
        assert [e.area for e in s.scalars(select(Escalation).order_by(Escalation.id))] == ["quang-ngai/dak-bla", ""]


def test_someone_elses_buttons_do_nothing(service, db):
    (out,) = service.handle(msg(text="thanh toán qr thế nào", user="alice"))
    like = next(b.data for row in out.buttons for b in row if b.data.endswith(":1"))
    service.handle(msg(kind="button", data=like, user="mallory"))
    with db.session() as s:
        assert s.scalars(select(Conversation)).one().feedback is None


def test_decline_offers_topics_and_escalation(service):
    (out,) = service.handle(msg(text="kết quả xổ số miền bắc hôm nay"))
    assert out.text.startswith("Xin lỗi")
    data = [b.data for row in out.buttons for b in row]
    assert any(d.startswith("tp:") for d in data) and any(d.startswith("esc:") for d in data)


def test_subscribe_by_name_without_accents_and_unsubscribe(service, db):
    (out,) = service.handle(msg(kind="command", command="dangky", text="dak bla"))
    assert "Đắk Bla" in out.text
    (out,) = service.handle(msg(kind="command", command="subscribe", text="all"))
    (prompt,) = service.handle(msg(kind="command", command="subscribe"))
    assert any(b.data == "sub:dien-bien" for row in prompt.buttons for b in row)
    with db.session() as s:
        assert sorted(x.area for x in s.scalars(select(Subscription))) == ["all", "quang-ngai/dak-bla"]
        assert s.scalars(select(User)).one().area == "quang-ngai/dak-bla"
    (out,) = service.handle(msg(kind="command", command="unsubscribe"))
    assert "dừng nhận tin" in out.text
    with db.session() as s:
        assert s.scalars(select(Subscription)).all() == []


def test_quiz_by_buttons_is_scored_once(service, db):
    (q,) = service.handle(msg(kind="command", command="quiz"))
    assert q.quiz and q.quiz.options[q.quiz.correct] == "Ở công an"
    right = next(b.data for row in q.buttons for b in row if b.data.endswith(":1"))
    (out,) = service.handle(msg(kind="button", data=right))
    assert out.text.startswith("✅")
    (again,) = service.handle(msg(kind="button", data=right))
    assert "đã trả lời" in again.text
    (score,) = service.handle(msg(kind="command", command="diem"))
    assert "1/1" in score.text


def test_text_only_channel_gets_numbered_choices(service):
    (out,) = service.handle(msg(text="thanh toan qr the nao", buttons=False))
    assert out.buttons == [] and "\n1. 👍" in out.text and "Gõ số để chọn" in out.text
    (reply,) = service.handle(msg(text="1", buttons=False))
    assert "Cảm ơn" in reply.text
    (q,) = service.handle(msg(kind="command", command="quiz", buttons=False))
    assert "\nB. Ở công an" in q.text
    (result,) = service.handle(msg(text="b", buttons=False))
    assert result.text.startswith("✅")
    (bad,) = service.handle(msg(text="thanh toan qr the nao", buttons=False))
    (none,) = service.handle(msg(text="9", buttons=False))
    assert "không có trong danh sách" in none.text


def test_native_poll_answers_are_scored(service, db):
    (q,) = service.handle(msg(kind="command", command="quiz", channel="telegram"))
    service.register_poll(q.quiz.poll, "tg-poll-77")
    assert service.handle(msg(kind="poll_answer", poll_id="tg-poll-77", option=0, channel="telegram")) == []
    with db.session() as s:
        answer = s.scalars(select(QuizAnswer)).one()
        assert answer.quiz_id == "quiz-t-01" and answer.correct is False


@pytest.mark.parametrize("bad", ["", " ", "😀" * 50, "<script>alert(1)</script>", "\x00\x07", "x" * 10_000])
def test_bad_input_gets_a_reply_never_an_error(service, bad):
    out = service.handle(msg(text=bad))
    assert len(out) == 1 and out[0].text


def test_unknown_command_and_non_text(service):
    (out,) = service.handle(msg(kind="command", command="xyz"))
    assert "/xyz" in out.text
    (out,) = service.handle(msg(kind="other"))
    assert "chữ" in out.text


def test_protected_account_is_answered_but_not_stored(service, db):
    (out,) = service.handle(msg(kind="unsupported", user="child"))
    assert out.text
    with db.session() as s:
        assert s.scalars(select(User)).all() == []


def test_redelivered_message_is_not_processed_twice(service, db):
    m = msg(text="thanh toán qr thế nào")
    assert service.handle(m) and service.handle(m) == []
    with db.session() as s:
        assert len(s.scalars(select(Conversation)).all()) == 1


def test_flood_limit_replies_politely(small_engine, db):
    service = ConversationService(small_engine, db, QUIZ, [], flood_limit=3, flood_window=60)
    replies = [service.handle(msg(kind="command", command="help"))[0].text for _ in range(5)]
    assert replies[3] == replies[4] and "nhanh quá" in replies[4] and "nhanh quá" not in replies[2]
