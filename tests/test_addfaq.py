"""Admins add FAQ entries by chat (/themfaq, /addfaq) and approve or reject the team's drafts (/banthao,
/duyetfaq, /tuchoifaq): through the real ConversationService on SQLite and PostgreSQL, and end to end
through the real python-telegram-bot library against the fake Bot API server."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot import messages
from bot.relay.faq_chat import entry_id_for
from bot.faq.store import FaqStore
from bot.faq.live import LiveFaq
from bot.faq.models import FaqVersion
from bot.areas import load_areas
from bot.channels.telegram import Channel
from bot.conversation.service import ConversationService
from bot.relay.models import FaqDraft
from bot.retrieval.engine import Engine
from bot.retrieval.store import load_index
from bot.storage.db import Database
from tests.conftest import KNOWLEDGE
from tests.chat_helpers import buttons, escalate, give, send
from tests.pg import database_fixture
from tests.test_telegram import BotThread, ask, button_data, press, settings

AREAS = load_areas(KNOWLEDGE / "areas.yaml")
QUESTION = "Cài ứng dụng VssID để dùng thẻ bảo hiểm y tế thế nào?"
ANSWER = "Tải VssID của Bảo hiểm xã hội Việt Nam từ CH Play hoặc App Store, đăng nhập bằng tài khoản VNeID."
SOURCE = "Bảo hiểm xã hội Việt Nam, hướng dẫn VssID https://baohiemxahoi.gov.vn"


db = database_fixture("addfaq_test")


@pytest.fixture
def service(small_engine, db, kb):
    return ConversationService(small_engine, db, [], AREAS, flood_limit=1000, knowledge_dir=kb)


def entries(kb: Path, db: Database) -> dict[str, dict]:
    return {e["id"]: e for e in FaqStore(kb, db).entries()}


def test_the_guided_conversation_checks_each_step_and_saves_a_version(service, db, kb):
    give(db, "admin-1", "admin")
    intro, topics = send(service, "admin-1", "themfaq")
    assert "/huy" in intro.text and "chủ đề" in topics.text
    assert "af:t:dichvucong" in buttons(topics) and "af:no" in buttons(topics)
    (again,) = send(service, "admin-1", text="chủ đề gì đó")  # not a topic: asked again
    assert buttons(again) == buttons(topics)
    (step,) = send(service, "admin-1", kind="button", data="af:t:dichvucong")
    assert step.text == messages.ADDFAQ_ASK["question"]
    (step,) = send(service, "admin-1", text=QUESTION)
    assert step.text == messages.ADDFAQ_ASK["alternatives"]
    (one,) = send(service, "admin-1", text="cai vssid the nao")
    assert "Cần ít nhất 2" in one.text and buttons(one) == []
    (nope,) = send(service, "admin-1", kind="button", data="af:next")  # not yet: still one phrasing
    assert "Cần ít nhất 2" in nope.text
    (two,) = send(service, "admin-1", text="thẻ bhyt trên điện thoại\n• cai vssid the nao")  # the repeat is dropped
    assert "Đã có 2 cách hỏi khác" in two.text and buttons(two) == ["af:next"]
    (step,) = send(service, "admin-1", kind="button", data="af:next")
    assert step.text == messages.ADDFAQ_ASK["answer"]
    (long,) = send(service, "admin-1", text="x" * 701)
    assert "tối đa" not in long.text and "700" in long.text and "701" in long.text
    send(service, "admin-1", text=ANSWER)
    (preview,) = send(service, "admin-1", text=SOURCE)
    assert "Mã: dichvucong-cai-ung-dung-vssid-de-dung-the-bao-hiem-y-te-the" in preview.text
    assert QUESTION in preview.text and "• thẻ bhyt trên điện thoại" in preview.text and ANSWER in preview.text
    assert buttons(preview) == ["af:ok", "af:no"]
    assert not (kb / "faq" / "dichvucong.yaml").exists()  # nothing written before the confirmation

    (saved,) = send(service, "admin-1", kind="button", data="af:ok")
    assert "phiên bản 1" in saved.text
    entry = entries(kb, db)["dichvucong-cai-ung-dung-vssid-de-dung-the-bao-hiem-y-te-the"]
    assert entry["question"] == QUESTION and entry["alternatives"] == ["cai vssid the nao", "thẻ bhyt trên điện thoại"]
    assert entry["source"] == {"title": "Bảo hiểm xã hội Việt Nam, hướng dẫn VssID", "url": "https://baohiemxahoi.gov.vn"}
    with db.session() as s:
        (version,) = s.scalars(select(FaqVersion)).all()
        assert version.actor == "telegram:admin-1"
    # the conversation is over: the next text is an ordinary question, a stale button does nothing
    (answer,) = send(service, "admin-1", text="kich hoat vneid muc 2 o dau")
    assert "Công an" in answer.text
    (stale,) = send(service, "admin-1", kind="button", data="af:ok")
    assert stale.text == messages.ADDFAQ_EXPIRED
    assert entry_id_for("dichvucong", QUESTION, set(entries(kb, db)))[-2:] == "-2"  # never reuses a taken id


def test_cancel_and_who_may_use_it(service, db, kb):
    give(db, "admin-1", "admin")
    give(db, "team-1", "team", "dien-bien")
    before = {p.name: p.read_bytes() for p in (kb / "faq").iterdir()}
    send(service, "admin-1", "addfaq")
    send(service, "admin-1", kind="button", data="af:t:vneid")
    send(service, "admin-1", text="Câu hỏi thử")
    (cancelled,) = send(service, "admin-1", "huy")
    assert cancelled.text == messages.ADDFAQ_CANCELLED
    (nothing,) = send(service, "admin-1", "cancel")
    assert nothing.text == messages.CANCEL_NOTHING
    send(service, "admin-1", "themfaq")
    (cancelled,) = send(service, "admin-1", kind="button", data="af:no")
    assert cancelled.text == messages.ADDFAQ_CANCELLED
    for who in ("team-1", "citizen-1"):
        for command in ("themfaq", "addfaq", "banthao", "duyetfaq", "tuchoifaq"):
            (refused,) = send(service, who, command, "1")
            assert refused.text == messages.RELAY_ADMIN_ONLY, (who, command)
        (refused,) = send(service, who, kind="button", data="af:t:vneid")
        assert refused.text == messages.RELAY_ADMIN_ONLY
    (group,) = send(service, "admin-1", "themfaq", chat="group-1", chat_type="group")
    assert group.text == messages.RELAY_PRIVATE_ONLY
    assert {p.name: p.read_bytes() for p in (kb / "faq").iterdir()} == before


def test_drafts_are_listed_approved_through_the_conversation_or_rejected(service, db, kb):
    give(db, "admin-1", "admin")
    give(db, "team-1", "team", "dien-bien")
    ids = []
    for n, (question, answer) in enumerate([("Gọi 0912345678 hỏi mất điện thoại thì khoá VNeID sao?", "Gọi tổng đài 1900 0368."),
                                            ("hỏi linh tinh", "trả lời linh tinh")]):
        esc_id, _ = escalate(service, f"citizen-{n}", question, area="dien bien")
        send(service, "team-1", "traloi", f"{esc_id} {answer}")
        send(service, "team-1", "luufaq", str(esc_id))
        with db.session() as s:
            ids.append(s.scalars(select(FaqDraft.id).where(FaqDraft.escalation_id == esc_id)).one())
    (listed,) = send(service, "admin-1", "banthao")
    assert f"Bản nháp số {ids[0]}" in listed.text and "Điện Biên" in listed.text and "Gọi tổng đài 1900 0368." in listed.text
    assert "0912345678" not in listed.text
    (rejected,) = send(service, "admin-1", "tuchoifaq", str(ids[1]))
    assert rejected.text == messages.DRAFT_REJECTED.format(id=ids[1])
    (again,) = send(service, "admin-1", "tuchoifaq", str(ids[1]))
    assert "Không có bản nháp" in again.text
    (usage,) = send(service, "admin-1", "duyetfaq")
    assert usage.text == messages.DRAFT_USAGE

    intro, topics = send(service, "admin-1", "duyetfaq", f"#{ids[0]}")
    assert f"bản nháp số {ids[0]}" in intro.text and "af:t:vneid" in buttons(topics)
    (step,) = send(service, "admin-1", kind="button", data="af:t:vneid")
    assert step.text == messages.ADDFAQ_ASK["alternatives"]  # the draft already has its question and answer
    send(service, "admin-1", text="mat dien thoai khoa vneid\nbị mất máy thì làm gì với VNeID")
    (step,) = send(service, "admin-1", kind="button", data="af:next")
    assert step.text == messages.ADDFAQ_ASK["source"]
    (preview,) = send(service, "admin-1", text="Bộ Công an, Trung tâm dữ liệu quốc gia về dân cư")
    assert "Gọi tổng đài 1900 0368." in preview.text
    (saved,) = send(service, "admin-1", text="có")  # a typed yes works like the button
    assert "Đã lưu" in saved.text
    with db.session() as s:
        assert [d.status for d in s.scalars(select(FaqDraft).order_by(FaqDraft.id))] == ["approved", "rejected"]
    new = [e for e in entries(kb, db).values() if e["answer"] == "Gọi tổng đài 1900 0368."]
    assert len(new) == 1 and new[0]["topic"] == "vneid" and "0912345678" not in new[0]["question"]
    (empty,) = send(service, "admin-1", "drafts")
    assert empty.text == messages.DRAFTS_EMPTY


def test_zalo_admins_pick_the_topic_by_number(service, db, kb):
    give(db, "admin-z", "admin", channel="zalo")
    send(service, "admin-z", "themfaq", channel="zalo", buttons=False)
    (step,) = send(service, "admin-z", text="2", channel="zalo", buttons=False)  # 2 = the second topic
    assert step.text == messages.ADDFAQ_ASK["question"]
    send(service, "admin-z", text=QUESTION, channel="zalo", buttons=False)
    send(service, "admin-z", text="cai vssid\nvssid la gi", channel="zalo", buttons=False)
    (step,) = send(service, "admin-z", text="1", channel="zalo", buttons=False)  # 1 = «Tiếp tục»
    assert step.text == messages.ADDFAQ_ASK["answer"]
    send(service, "admin-z", text=ANSWER, channel="zalo", buttons=False)
    (preview,) = send(service, "admin-z", text=SOURCE, channel="zalo", buttons=False)
    assert "1. ✅ Lưu" in preview.text
    (saved,) = send(service, "admin-z", text="1", channel="zalo", buttons=False)
    assert "Đã lưu" in saved.text
    assert any(e["topic"] == list(messages.TOPIC_NAMES)[1] for e in entries(kb, db).values())


# -- end to end: python-telegram-bot against the fake Bot API --------------------------------------


@pytest.fixture
def fake():
    from tests.fake_telegram import FakeTelegram

    server = FakeTelegram().start()
    yield server
    server.close()


def test_addfaq_through_telegram_is_answered_after_the_live_refresh(fake, tmp_path, small_kb, small_index, embedder):
    kb = Path(shutil.copytree(small_kb, tmp_path / "kb"))
    index = Path(shutil.copytree(small_index, tmp_path / "index"))
    db = Database(f"sqlite:///{tmp_path / 'bot.db'}")
    engine = Engine(load_index(index), embedder)
    service = ConversationService(engine, db, [], AREAS, knowledge_dir=kb)
    give(db, "501", "admin")
    runner = BotThread(Channel(service, settings(fake))).start()
    try:
        intro, topics = ask(fake, 501, "/themfaq", count=2)
        assert intro["text"] == messages.ADDFAQ_START
        assert "af:t:dichvucong" in button_data(topics)
        step = press(fake, 501, "af:t:dichvucong")
        assert step["text"] == messages.ADDFAQ_ASK["question"]
        ask(fake, 501, QUESTION)
        (two,) = ask(fake, 501, "cai vssid the nao\nthẻ bhyt trên điện thoại")
        assert button_data(two) == ["af:next"]
        assert press(fake, 501, "af:next")["text"] == messages.ADDFAQ_ASK["answer"]
        ask(fake, 501, ANSWER)
        (preview,) = ask(fake, 501, SOURCE)
        assert button_data(preview) == ["af:ok", "af:no"]
        saved = press(fake, 501, "af:ok")
        assert "phiên bản 1" in saved["text"]
    finally:
        runner.close()
    saved_file = yaml.safe_load((kb / "faq" / "dichvucong.yaml").read_text(encoding="utf-8"))
    assert saved_file[0]["question"] == QUESTION
    assert engine.ask("thẻ bhyt trên điện thoại").chunk_id != f"faq:{saved_file[0]['id']}"  # not before the refresh
    LiveFaq(engine, db, kb, index).poll()  # what `python -m bot run` does every 2 s
    assert engine.ask("thẻ bhyt trên điện thoại").chunk_id == f"faq:{saved_file[0]['id']}"
