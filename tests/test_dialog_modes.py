"""The conversation half of issue 12 on every channel: the three reply modes, «Xem tiếp», follow-ups,
small talk and plain-word commands, emergencies. The real engine on a small knowledge base of its own
(the shared one plus a long entry and a scam entry that mentions «cấp cứu»), the real service on SQLite,
the web channel on uvicorn, Telegram and Zalo against their fake Bot API servers on 127.0.0.1."""

from __future__ import annotations

import itertools
import re
import time

import httpx
import pytest
from sqlalchemy import func, select

from bot import intents, messages, render
from bot.areas import load_areas
from bot.channels.telegram import Channel as TelegramChannel
from bot.conversation.service import CONTEXT_SECONDS, ConversationService
from bot.chat.types import IncomingMessage
from bot.retrieval.engine import Answer, Engine
from bot.retrieval.store import build_index, load_index
from bot.storage.db import Database
from bot.storage.models import Chat, Conversation, Escalation, LabelledChoice, Subscription
from tests.conftest import KNOWLEDGE, SMALL_FAQ, SMALL_GUIDE
from tests.fake_zalo import FakeZalo
from tests.test_telegram import BotThread, button_data, press, settings as telegram_settings
from tests.test_telegram import ask as telegram_ask
from tests.test_zalo import TOKEN as ZALO_TOKEN, Running, make_channel
from tests.test_zalo import ask as zalo_ask
from tests.web_server import serve

STEPS = "\n".join(
    f"{i}. Bước {i}: mở ứng dụng VNeID, chọn mục số {i} rồi đọc kỹ hướng dẫn trên màn hình trước khi bấm tiếp tục."
    for i in range(1, 25)
)
LONG_ENTRY = "\n".join(
    [
        "- id: vneid-dang-ky-muc-1",
        "  topic: vneid",
        "  question: Tự đăng ký tài khoản định danh điện tử mức 1 trên ứng dụng VNeID thế nào?",
        "  alternatives:",
        "    - tu dang ky vneid muc 1 tren dien thoai",
        "    - tự đăng ký tài khoản mức 1 trên app vneid ra sao",
        "  answer: |",
        *(f"    {line}" for line in STEPS.splitlines()),
        "  source:",
        "    title: Nghị định 69/2024/NĐ-CP của Chính phủ, 25/6/2024",
        "  updated: 2026-11-23",
        "  checked: 2026-11-23",
        "  review_by: 2027-05-23",
        "- id: luadao-con-cap-cuu",
        "  topic: luadao",
        "  question: Có người gọi báo con tôi đang cấp cứu ở bệnh viện và đòi chuyển tiền thì làm sao?",
        "  alternatives:",
        "    - nguoi la goi bao con bi tai nan dang cap cuu doi chuyen tien vien phi",
        "    - có người gọi báo con tôi cấp cứu, bảo chuyển tiền gấp có thật không",
        "  answer: |",
        "    Đây là thủ đoạn lừa đảo quen thuộc. Bác đừng chuyển tiền, hãy gọi ngay cho con hoặc nhà trường,",
        "    bệnh viện để kiểm tra, rồi báo cho công an xã, phường.",
        "  source:",
        "    title: Bộ Công an, khuyến cáo phòng chống lừa đảo",
        "  updated: 2026-11-23",
        "  checked: 2026-11-23",
        "  review_by: 2027-05-23",
    ]
)
LONG_QUESTION = "tự đăng ký tài khoản định danh điện tử mức 1 trên ứng dụng VNeID thế nào"
ANSWER_QUESTION = "kich hoat vneid muc 2 o dau"
DECLINE_QUESTION = "kết quả xổ số miền bắc hôm nay"
SCAM_QUESTION = "có người gọi báo con tôi cấp cứu, đòi chuyển tiền"
EMERGENCIES = ["Tôi cần cấp cứu thì phải làm gì?", "bo toi om nang qua", "nhà tôi bị cháy", "con toi bi duoi nuoc",
               "tôi bị đánh", "con tôi bị bắt cóc", "bi tai nan giao thong"]
_ids = itertools.count(1)


@pytest.fixture(scope="module")
def dialog_engine(tmp_path_factory, embedder) -> Engine:
    kb = tmp_path_factory.mktemp("dialog-kb")
    (kb / "faq").mkdir()
    (kb / "guides").mkdir()
    (kb / "faq" / "small.yaml").write_text(SMALL_FAQ + LONG_ENTRY + "\n", encoding="utf-8")
    (kb / "guides" / "matkhau.md").write_text(SMALL_GUIDE, encoding="utf-8")
    out = tmp_path_factory.mktemp("dialog-index")
    build_index(kb, out, embedder)
    return Engine(load_index(out), embedder)


@pytest.fixture
def service(dialog_engine, tmp_path) -> ConversationService:
    db = Database(f"sqlite:///{tmp_path / 'bot.db'}")
    return ConversationService(dialog_engine, db, [], load_areas(KNOWLEDGE / "areas.yaml"), flood_limit=1000)


def msg(text: str = "", kind: str = "text", user: str = "u1", buttons: bool = True, **kw) -> IncomingMessage:
    return IncomingMessage(channel="test", user_id=user, chat_id=user, kind=kind, text=text, buttons=buttons,
                           message_id=str(next(_ids)), **kw)


def data(out) -> list[str]:
    return [b.data for row in out.buttons for b in row]


def logged(service: ConversationService) -> int:
    with service.db.session() as s:
        return s.scalar(select(func.count(Conversation.id)))


# -- pure functions ------------------------------------------------------------------------------


@pytest.mark.parametrize("text, name, rest", [
    ("chào", "greeting", ""), ("Xin chào ạ", "greeting", ""), ("alo", "greeting", ""), ("hi", "greeting", ""),
    ("cảm ơn", "thanks", ""), ("cam on nhe", "thanks", ""), ("Thanks", "thanks", ""), ("dạ vâng", "thanks", ""),
    ("đăng ký nhận tin", "subscribe", ""), ("dang ky nhan tin", "subscribe", ""),
    ("Đăng ký nhận tin xã Đắk Bla", "subscribe", "xa dak bla"),
    ("hủy đăng ký", "unsubscribe", ""), ("huy dang ky", "unsubscribe", ""), ("huỷ đăng ký nhận tin nhé", "unsubscribe", ""),
    ("gặp cán bộ", "human", ""), ("hoi can bo", "human", ""), ("tôi muốn nói chuyện với người thật", "human", ""),
    ("hỏi cán bộ tôi bị khóa tài khoản", "human", "toi bi khoa tai khoan"),
    ("làm lại", "restart", ""), ("bat dau lai", "restart", ""),
    ("xem tiếp", "see_more", ""), ("xem tiep", "see_more", ""),
])
def test_small_talk_and_plain_word_commands_are_recognised(text, name, rest):
    assert intents.intent(text) == intents.Intent(name, rest)


@pytest.mark.parametrize("text", [
    "chào bạn, cho hỏi cách kích hoạt VNeID", "làm lại căn cước ở đâu", "cách hủy đăng ký dịch vụ sms banking",
    "cảm ơn thì nói thế nào bằng tiếng Anh cho lịch sự", "thanh toan qr the nao", "tiếp theo tôi phải làm gì",
])
def test_questions_are_not_small_talk(text):
    assert intents.intent(text) is None


@pytest.mark.parametrize("text", EMERGENCIES + ["cứu với", "có cháy ở chợ", "bố tôi bị đột quỵ", "số điện thoại cấp cứu là gì"])
def test_emergencies_are_recognised_with_and_without_diacritics(text):
    assert intents.is_emergency(text)


@pytest.mark.parametrize("text", [
    SCAM_QUESTION, "co nguoi goi bao con toi cap cuu doi chuyen tien", "bắt cóc trực tuyến là gì",
    "người lạ nhắn tin báo con bị tai nạn, bảo chuyển viện phí", "tài khoản bị đánh cắp thì làm sao",
    "ứng dụng VNeID đang chạy thì bị thoát", "mua bảo hiểm tai nạn online", "bí danh là gì",
    "làm sao kích hoạt VNeID mức 2",
])
def test_scam_and_ordinary_questions_are_not_emergencies(text):
    assert not intents.is_emergency(text)


def test_the_renderer_shows_candidates_to_clarify_and_never_promises_xem_them():
    candidates = [{"chunk_id": "faq:a", "question": "Câu A?"}, {"chunk_id": "faq:b", "question": "Câu B?"}]
    out = render.answer_message(Answer("q", "…", False, 0.3, mode="clarify", candidates=candidates), 7)
    assert out.text == messages.CLARIFY
    assert [[b.label for b in row] for row in out.buttons] == [["Câu A?"], ["Câu B?"], [messages.BUTTON_ESCALATE]]
    assert data(out) == ["cand:7:0", "cand:7:1", "esc:7"]
    texts = [v for k, v in vars(messages).items() if k.isupper() and isinstance(v, str)]
    assert not [t for t in texts if "Xem thêm" in t or "xem thêm" in t]


def test_pages_cover_the_whole_entry_once(dialog_engine):
    answer = dialog_engine.answer_chunk("faq:vneid-dang-ky-muc-1")
    screens = render.pages(answer)
    assert answer.truncated and len(screens) >= 2 and all(len(p) <= 700 for p in screens)
    assert " ".join(screens).split() == answer.full_answer.split()


# -- the service ---------------------------------------------------------------------------------


def test_answer_shows_the_matched_question_and_wrong_match_offers_candidates_and_the_team(service):
    (out,) = service.handle(msg(ANSWER_QUESTION))
    assert out.text.startswith("Về câu hỏi: «Kích hoạt tài khoản định danh điện tử mức 2 ở đâu?»\n\n")
    assert "Nguồn: Nghị định 69/2024/NĐ-CP" in out.text
    wrong = next(d for d in data(out) if d.startswith("wr:"))
    (offer,) = service.handle(msg(kind="button", data=wrong))
    picks = [d for d in data(offer) if d.startswith("cand:")]
    assert offer.text == messages.WRONG_MATCH and picks and data(offer)[-1].startswith("esc:")
    (chosen,) = service.handle(msg(kind="button", data=picks[0]))
    assert chosen.text.startswith("Về câu hỏi: «") and "Kích hoạt tài khoản định danh điện tử mức 2" not in chosen.text
    with service.db.session() as s:
        choice = s.scalars(select(LabelledChoice)).one()
        assert choice.question == ANSWER_QUESTION and choice.shown_chunk_id == "faq:vneid-kich-hoat-muc-2"
        assert choice.chunk_id != choice.shown_chunk_id and choice.created_at is not None
        assert s.scalars(select(Conversation)).one().chunk_id == choice.chunk_id


def test_decline_offers_topics_and_the_team(service):
    (out,) = service.handle(msg(DECLINE_QUESTION))
    assert out.text == messages.DECLINE
    assert any(d.startswith("tp:") for d in data(out)) and data(out)[-1].startswith("esc:")


def test_see_more_pages_by_button_and_by_words_then_says_it_is_over(service):
    (first,) = service.handle(msg(LONG_QUESTION))
    screens = render.pages(service.answer_chunk("faq:vneid-dang-ky-muc-1"))
    assert first.text.startswith("Về câu hỏi: «Tự đăng ký") and screens[0] in first.text
    more = [d for d in data(first) if d.startswith("more:")]
    assert more and not any(d.startswith("fb:") for d in data(first))  # feedback once the whole answer is read
    (second,) = service.handle(msg(kind="button", data=more[0]))
    assert screens[1] in second.text and "(tiếp, phần 2/" in second.text and "Nguồn:" in second.text
    pages = [first, second]
    for words in itertools.cycle(["xem tiếp", "xem tiep"]):
        if len(pages) == len(screens):
            break
        (out,) = service.handle(msg(words))
        assert screens[len(pages)] in out.text
        pages.append(out)
    assert any(d.startswith("fb:") for d in data(pages[-1])) and not any(d.startswith("more:") for d in data(pages[-1]))
    (over,) = service.handle(msg("xem tiếp"))
    assert over.text == messages.NOTHING_MORE
    assert logged(service) == 1  # «xem tiếp» is not a question


def test_small_talk_and_plain_word_commands_reply_without_asking_the_knowledge_base(service):
    (hello,) = service.handle(msg("Xin chào"))
    assert hello.text == messages.GREETING and any(d.startswith("tp:") for d in data(hello))
    assert service.handle(msg("cam on nhe"))[0].text == messages.THANKS
    (prompt,) = service.handle(msg("đăng ký nhận tin"))
    assert prompt.text == messages.SUBSCRIBE_PROMPT and "sub:dien-bien" in data(prompt)
    (done,) = service.handle(msg("dang ky nhan tin dak bla"))
    assert "Đắk Bla" in done.text
    with service.db.session() as s:
        assert s.scalars(select(Subscription.area)).all() == ["quang-ngai/dak-bla"]
    assert service.handle(msg("huy dang ky"))[0].text == messages.UNSUBSCRIBED
    (start,) = service.handle(msg("làm lại"))
    assert start.text.startswith("Xin chào bác!")
    (ask,) = service.handle(msg("gặp cán bộ"))
    assert ask.text == messages.HUMAN_ASK
    (ack,) = service.handle(msg("tôi không đăng nhập được VNeID"))
    assert "Tổ công nghệ số cộng đồng" in ack.text and "#" in ack.text
    with service.db.session() as s:
        assert s.scalars(select(Escalation.question)).all() == ["tôi không đăng nhập được VNeID"]
        assert s.scalars(select(Subscription)).all() == []
    assert logged(service) == 0


def test_emergencies_get_the_numbers_at_once_and_a_scam_question_reaches_the_scam_entry(service):
    for text in EMERGENCIES:
        (out,) = service.handle(msg(text))
        assert out.text == messages.EMERGENCY and out.buttons == []
    assert all(n in messages.EMERGENCY for n in ("113", "114", "115"))
    assert logged(service) == 0
    (scam,) = service.handle(msg(SCAM_QUESTION))
    assert scam.text != messages.EMERGENCY and "lừa đảo" in scam.text
    with service.db.session() as s:
        assert s.scalars(select(Conversation.chunk_id)).one() == "faq:luadao-con-cap-cuu"


def test_the_previous_question_is_kept_for_a_follow_up(service):
    service.handle(msg(ANSWER_QUESTION))
    (out,) = service.handle(msg("còn cái kia thì sao"))
    # Read alone, "còn cái kia thì sao" means nothing; with the chat's context the engine offers the
    # previous entry and its neighbours.
    assert out.text == messages.CLARIFY
    picks = [d for d in data(out) if d.startswith("cand:")]
    assert len(picks) >= 2 and out.buttons[0][0].label == "Kích hoạt tài khoản định danh điện tử mức 2 ở đâu?"
    assert service.ask("còn cái kia thì sao").mode != "answer"
    (chosen,) = service.handle(msg(kind="button", data=picks[1]))
    assert chosen.text.startswith("Về câu hỏi: «")
    with service.db.session() as s:
        choice = s.scalars(select(LabelledChoice)).one()
        assert choice.question == "còn cái kia thì sao" and choice.shown_chunk_id == ""
    with service.db.session() as s:  # half an hour later the previous question no longer counts
        chat = s.scalars(select(Chat)).one()
        chat.state = {**chat.state, "context": {**chat.state["context"], "at": time.time() - CONTEXT_SECONDS - 1}}
    (late,) = service.handle(msg("còn cái kia thì sao"))
    assert late.text != messages.CLARIFY


def test_text_only_channels_get_every_choice_numbered(service):
    (first,) = service.handle(msg(LONG_QUESTION, buttons=False))
    assert first.buttons == [] and "\n1. " + messages.BUTTON_SEE_MORE in first.text
    assert messages.BUTTON_WRONG_MATCH in first.text
    (second,) = service.handle(msg("1", buttons=False))
    assert "(tiếp, phần 2/" in second.text
    (words,) = service.handle(msg("xem tiep", buttons=False))
    assert "(tiếp, phần 3/" in words.text


# -- every channel -------------------------------------------------------------------------------


def test_web_chat_shows_each_mode_see_more_small_talk_and_emergencies(service):
    with serve(service) as base, httpx.Client(base_url=base, timeout=30) as client:
        def chat(**payload) -> dict:
            response = client.post("/api/chat", json=payload)
            assert response.status_code == 200, response.text
            (reply,) = response.json()["messages"]
            return reply

        def kinds(reply: dict, prefix: str) -> list[str]:
            return [b["data"] for row in reply["buttons"] for b in row if b["data"].startswith(prefix)]

        answer = chat(text=ANSWER_QUESTION)
        assert answer["text"].startswith("Về câu hỏi: «Kích hoạt tài khoản") and kinds(answer, "wr:")
        offer = chat(button=kinds(answer, "wr:")[0])
        assert kinds(offer, "cand:") and kinds(offer, "esc:")
        clarify = chat(text="còn cái kia thì sao")
        assert clarify["text"] == messages.CLARIFY and len(kinds(clarify, "cand:")) >= 2 and kinds(clarify, "esc:")
        chosen = chat(button=kinds(clarify, "cand:")[0])
        assert chosen["text"].startswith("Về câu hỏi: «")
        decline = chat(text=DECLINE_QUESTION)
        assert decline["text"] == messages.DECLINE and kinds(decline, "esc:")
        long = chat(text=LONG_QUESTION)
        second = chat(button=kinds(long, "more:")[0])
        assert "(tiếp, phần 2/" in second["text"]
        assert "(tiếp, phần 3/" in chat(text="xem tiếp")["text"]
        assert chat(text="cảm ơn")["text"] == messages.THANKS
        assert chat(text="nha toi bi chay")["text"] == messages.EMERGENCY
        assert chat(text=SCAM_QUESTION)["text"] != messages.EMERGENCY


def test_telegram_shows_each_mode_see_more_small_talk_and_emergencies(fake_telegram, service):
    fake_tg = fake_telegram
    bot = BotThread(TelegramChannel(service, telegram_settings(fake_tg))).start()
    try:
        (answer,) = telegram_ask(fake_tg, 601, ANSWER_QUESTION)
        assert answer["text"].startswith("Về câu hỏi: «Kích hoạt tài khoản")
        labels = [b["text"] for row in answer["reply_markup"]["inline_keyboard"] for b in row]
        assert messages.BUTTON_WRONG_MATCH in labels
        offer = press(fake_tg, 601, next(d for d in button_data(answer) if d.startswith("wr:")))
        assert offer["text"] == messages.WRONG_MATCH and any(d.startswith("cand:") for d in button_data(offer))
        (clarify,) = telegram_ask(fake_tg, 601, "còn cái kia thì sao")
        assert clarify["text"] == messages.CLARIFY
        picks = [d for d in button_data(clarify) if d.startswith("cand:")]
        assert len(picks) >= 2 and any(d.startswith("esc:") for d in button_data(clarify))
        assert press(fake_tg, 601, picks[0])["text"].startswith("Về câu hỏi: «")
        (decline,) = telegram_ask(fake_tg, 601, DECLINE_QUESTION)
        assert decline["text"] == messages.DECLINE
        (long,) = telegram_ask(fake_tg, 601, LONG_QUESTION)
        second = press(fake_tg, 601, next(d for d in button_data(long) if d.startswith("more:")))
        assert "(tiếp, phần 2/" in second["text"]
        (third,) = telegram_ask(fake_tg, 601, "xem tiep")
        assert "(tiếp, phần 3/" in third["text"]
        assert telegram_ask(fake_tg, 601, "alo")[0]["text"] == messages.GREETING
        assert telegram_ask(fake_tg, 601, "cứu với")[0]["text"] == messages.EMERGENCY
    finally:
        bot.close()
    with service.db.session() as s:
        assert s.scalars(select(LabelledChoice)).one().question == "còn cái kia thì sao"


@pytest.fixture
def fake_zl():
    server = FakeZalo(ZALO_TOKEN, max_wait=0.2)
    yield server
    server.close()


def numbered(text: str, label: str) -> str:
    """The number Zalo shows in front of a choice."""
    return re.search(rf"^(\d+)\. {re.escape(label)}", text, re.MULTILINE)[1]


def test_zalo_numbers_each_mode_see_more_and_answers_small_talk_and_emergencies(fake_zl, service):
    running = Running(make_channel(service, fake_zl.url))
    try:
        answer = zalo_ask(fake_zl, ANSWER_QUESTION)
        assert answer.startswith("Về câu hỏi: «Kích hoạt tài khoản") and "Gõ số để chọn" in answer
        offer = zalo_ask(fake_zl, numbered(answer, messages.BUTTON_WRONG_MATCH))
        assert offer.startswith(messages.WRONG_MATCH) and numbered(offer, messages.BUTTON_ESCALATE)
        clarify = zalo_ask(fake_zl, "còn cái kia thì sao")
        assert clarify.startswith(messages.CLARIFY + "\n\n1. ") and "\n2. " in clarify
        assert numbered(clarify, messages.BUTTON_ESCALATE)
        assert zalo_ask(fake_zl, "1").startswith("Về câu hỏi: «")
        assert zalo_ask(fake_zl, DECLINE_QUESTION).startswith(messages.DECLINE)
        long = zalo_ask(fake_zl, LONG_QUESTION)
        assert "(tiếp, phần 2/" in zalo_ask(fake_zl, numbered(long, messages.BUTTON_SEE_MORE))
        assert "(tiếp, phần 3/" in zalo_ask(fake_zl, "xem tiếp")
        assert zalo_ask(fake_zl, "cam on") == messages.THANKS
        assert zalo_ask(fake_zl, "bo toi om nang") == messages.EMERGENCY
        assert zalo_ask(fake_zl, SCAM_QUESTION) != messages.EMERGENCY
    finally:
        running.close()
